"""Compare the baselines and the trial fine-tune of an app project, and write the memo.

    python -m comparison workspace/default                       # conclusion + verdict
    python -m comparison workspace/default --run RUN_ID --json   # the whole comparison
    python -m comparison workspace/default --memo memo.html      # or memo.md

Without a completed baseline and run, the memo is the advisor's (answers only). Bad input exits
with status 2 and one line naming the file or key.
"""

from __future__ import annotations

import sys

from comparison.cli import main

if __name__ == "__main__":
    sys.exit(main())
