"""Command line of the comparison; see comparison/__main__.py for usage."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from advisor import estimate
from advisor.memo import render, sections
from comparison.build import build
from comparison.project import load_project


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m comparison", description=__doc__)
    p.add_argument("project", help="project folder (workspace/<name>)")
    p.add_argument("--run", help="run id (default: the newest completed run on the split)")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.add_argument("--memo", help="write the decision memo here (.md or .html)")
    args = p.parse_args(argv)
    try:
        files = load_project(args.project, args.run)
        comp = None
        if files.baseline and files.baseline_csv and files.final and files.run_csv:
            comp = build(files.baseline, files.baseline_csv, files.final, files.run_csv,
                         files.config, files.answers, files.assumptions).to_dict()  # fmt: skip
        report = comp["report"] if comp else estimate(files.answers, files.assumptions).to_dict()
        if args.memo:
            fmt = "html" if args.memo.lower().endswith((".html", ".htm")) else "md"
            text = render(sections(report, comp, files.name), fmt)
            Path(args.memo).write_text(text, encoding="utf-8")
        if args.json:
            print(json.dumps(comp or {"report": report}, indent=2, default=str))
        else:
            print(comp["conclusion"] if comp else "No completed baseline and run to compare yet.")
            print(f"Recommendation: {report['recommendation']}")
    except (ValueError, OSError) as e:
        print(f"comparison: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    return 0
