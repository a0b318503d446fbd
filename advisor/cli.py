"""Command line of the advisor; see advisor/__main__.py for usage."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

from advisor.answers import Answers
from advisor.assumptions import Assumptions, load_assumptions
from advisor.breakeven import sensitivity
from advisor.report import estimate

PROG = "python -m advisor"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, no usage dump: other tools read stderr.
        self.exit(2, f"advisor: error: {message} (see `{PROG} --help`)\n")


class InputError(ValueError):
    """Bad input from the user: exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Fine-tune, RAG or prompting? Costs and break-even.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    e = sub.add_parser("estimate", help="verdict, costs and break-even for an answers file")
    e.add_argument("answers", help="answers JSON file ('-' for stdin); missing keys take defaults")
    e.add_argument("--assumptions", help="TOML file overriding some of the packaged figures")
    e.add_argument(
        "--measured",
        action="append",
        default=[],
        metavar="OPTION=ACCURACY",
        help="measured accuracy, e.g. --measured rag=0.91 --measured fine_tune=0.94",
    )
    e.add_argument("--sensitivity", action="store_true", help="add the sensitivity rows")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    sub.add_parser("answers-template", help="print the default answers as JSON")
    a = sub.add_parser("assumptions", help="print every figure with its source")
    a.add_argument("--assumptions", help="TOML file overriding some of the packaged figures")
    a.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "answers-template":
            print(Answers().to_json())
        elif args.command == "assumptions":
            _print_assumptions(load_assumptions(args.assumptions), args.json)
        else:
            _estimate(args)
    except ValueError as e:
        msg = " ".join(str(e).split())  # one line, whatever the message held
        print(f"advisor: error: {msg}", file=sys.stderr)
        return 2
    return 0


def _estimate(args: argparse.Namespace) -> None:
    answers = read_answers(args.answers)
    assumptions = load_assumptions(args.assumptions)
    measured = _parse_measured(args.measured)
    report = estimate(answers, assumptions, measured)
    if args.json:
        out = report.to_dict()
        if args.sensitivity:
            out["sensitivity"] = sensitivity(answers, assumptions, measured)
        print(json.dumps(out, indent=2))
        return
    print(report.summary())
    if args.sensitivity:
        print("What moves break-even most (months at the low / high value):")
        for row in sensitivity(answers, assumptions, measured)[:5]:
            lo, hi = (_months(row[k]) for k in ("break_even_low", "break_even_high"))
            print(f"  {row['key']}: {lo} / {hi}")


def read_answers(path: str) -> Answers:
    """Answers from a JSON file ('-' = stdin). Raises ValueError naming the file or key."""
    name = "stdin" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text("utf-8")
    except FileNotFoundError:
        raise InputError(
            f"{name}: answers file not found; write one with `{PROG} answers-template`"
        ) from None
    except UnicodeDecodeError:
        raise InputError(f"{name}: answers file is not UTF-8 text") from None
    except OSError as e:
        raise InputError(f"{name}: cannot read answers file ({e.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(
            f"{name}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"
        ) from None
    try:
        return Answers.from_dict(data)
    except ValueError as e:
        raise InputError(f"{e} (in {name})") from None


def _parse_measured(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[key.strip()] = float(value)
        except ValueError:
            raise InputError(
                f"--measured {item!r}: expected OPTION=ACCURACY, e.g. rag=0.91"
            ) from None
    return out


def _print_assumptions(a: Assumptions, as_json: bool) -> None:
    if as_json:
        print(a.to_json())
        return
    for key in a.keys():
        fig = a[key]
        print(f"{key} = {_figure_value(fig.to_dict())} {fig.unit}")
        print(f"    {fig.label}. Source: {fig.source} (as of {fig.as_of})")


def _figure_value(d: dict[str, Any]) -> str:
    if "items" in d:
        return ", ".join(d["items"])
    if d["low"] == d["high"]:
        return f"{d['expected']:g}"
    return f"{d['low']:g} / {d['expected']:g} / {d['high']:g} (low / expected / high)"


def _months(v: float | None) -> str:
    return "never" if v is None else f"{v:.1f}"
