"""The advisor from a terminal (one machine, no GPU needed, pure Python).

    python -m advisor answers-template > answers.json     # default answers; edit them
    python -m advisor estimate answers.json               # short readable summary
    python -m advisor estimate answers.json --json        # one JSON object (the CLI contract)
    python -m advisor estimate answers.json --assumptions mine.toml \\
        --measured classifier=0.87 --measured fine_tune=0.89 --gain-per-doubling 0.03 --json
    python -m advisor assumptions [--json]                # every figure with source and date
    python -m advisor memo answers.json [--html] [--measured rag=0.9]   # the decision memo
    python -m advisor memo --project workspace/default --html --out memo.html

Bad input (unknown key, wrong type, negative or absurd number, duplicate key, deep nesting,
unreadable or malformed file) exits with status 2 and one line on stderr naming the key and what
is allowed. A UTF-8 byte-order mark is accepted. `--measured @file.json` reads a JSON object.
Answers a file leaves out take defaults and are named on stderr (after a successful run).
"""

from __future__ import annotations

import sys

from advisor.cli import main

if __name__ == "__main__":
    sys.exit(main())
