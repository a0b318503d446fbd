"""The advisor from a terminal (one machine, no GPU needed, pure Python).

    python -m advisor answers-template > answers.json     # default answers; edit them
    python -m advisor estimate answers.json               # short readable summary
    python -m advisor estimate answers.json --json        # one JSON object (the CLI contract)
    python -m advisor estimate answers.json --assumptions mine.toml \\
        --measured rag=0.91 --measured fine_tune=0.94 --sensitivity --json
    python -m advisor assumptions [--json]                # every figure with source and date

Bad input (unknown key, wrong type, negative number, unknown choice, unreadable or malformed
file) exits with status 2 and one line on stderr naming the key and what is allowed.
"""

from __future__ import annotations

import sys

from advisor.cli import main

if __name__ == "__main__":
    sys.exit(main())
