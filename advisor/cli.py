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
from advisor.evidence import Evidence, Interval
from advisor.jsonio import loads
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
    e.add_argument("--measured", action="append", default=[], metavar=MEASURED_FORM,
                   help=MEASURED_HELP)  # fmt: skip
    e.add_argument("--evidence", metavar="FILE", help=EVIDENCE_HELP)
    e.add_argument(
        "--gain-per-doubling",
        type=float,
        help="accuracy gained per doubling of the labels (the baseline's learning curve)",
    )
    e.add_argument("--sensitivity", action="store_true", help="add the sensitivity rows")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    m = sub.add_parser(
        "memo",
        help="the decision memo (Markdown or HTML) from answers, or from an app project folder",
    )
    m.add_argument("answers", nargs="?", help="answers JSON file ('-' for stdin)")
    m.add_argument(
        "--project",
        help="app project folder: reads answers.json, assumptions.json and comparison.json "
        "(written by the Compare page or `python -m comparison`)",
    )
    m.add_argument("--comparison", help="comparison JSON (`python -m comparison DIR --json`)")
    m.add_argument("--assumptions", help="TOML or JSON file overriding some packaged figures")
    m.add_argument("--measured", action="append", default=[], metavar=MEASURED_FORM,
                   help=MEASURED_HELP)  # fmt: skip
    m.add_argument("--evidence", metavar="FILE", help=EVIDENCE_HELP)
    m.add_argument("--html", action="store_true", help="self-contained HTML instead of Markdown")
    m.add_argument("--out", help="write to this file instead of stdout")
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
        elif args.command == "memo":
            _memo(args)
        else:
            _estimate(args)
    except ValueError as e:
        msg = " ".join(str(e).split())  # one line, whatever the message held
        print(f"advisor: error: {msg}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `... | head`: the reader has what it wanted
        sys.stderr.close()
    return 0


def _estimate(args: argparse.Namespace) -> None:
    answers = read_answers(args.answers)
    assumptions = load_assumptions(args.assumptions)
    measured, intervals = _parse_measured(args.measured)
    ev = _evidence(args.evidence, intervals)
    report = estimate(answers, assumptions, measured, gain_per_doubling=args.gain_per_doubling,
                      measured_evidence=ev)  # fmt: skip
    if args.json:
        out = report.to_dict()
        if args.sensitivity:
            out["sensitivity"] = sensitivity(answers, assumptions, measured)
        print(json.dumps(out, indent=2))
        _note_defaulted(args.answers)
        return
    print(report.summary())
    _note_defaulted(args.answers)
    if args.sensitivity:
        print("What moves fine-tuning's break-even most (months at the low / high value):")
        for row in sensitivity(answers, assumptions, measured)[:5]:
            lo, hi = (_months(row[k]) for k in ("break_even_low", "break_even_high"))
            print(f"  {row['label']}: {lo} / {hi}")


def _memo(args: argparse.Namespace) -> None:
    from advisor.memo import render, sections

    root = Path(args.project) if args.project else None
    if root is not None and not root.is_dir():
        raise InputError(f"{root}: no such project folder")
    if args.answers:
        answers = read_answers(args.answers)
    elif root is not None and (root / "answers.json").exists():
        answers = read_answers(str(root / "answers.json"))
    elif root is not None:
        answers = Answers()
    else:
        raise InputError("answers: give an answers file or --project DIR")
    overrides = {}
    if root is not None and (root / "assumptions.json").exists() and not args.assumptions:
        overrides = read_json(str(root / "assumptions.json"), "assumption overrides")
    assumptions = load_assumptions(args.assumptions, overrides or None)
    comp_path = args.comparison or (
        str(root / "comparison.json") if root and (root / "comparison.json").exists() else None
    )
    comp = read_json(comp_path, "comparison file") if comp_path else None
    measured, intervals = _parse_measured(args.measured)
    by: dict = {}
    ev = _evidence(args.evidence, intervals)
    if comp is not None:
        measured, by, ev = _from_comparison(comp, comp_path, measured, intervals, args.evidence, ev)
    report = estimate(answers, assumptions, measured, by, measured_evidence=ev).to_dict()
    if comp is not None and comp["report"].get("recommendation") != report["recommendation"]:
        raise InputError(
            f"{comp_path}: made from other answers or figures (its verdict is "
            f"{comp['report'].get('recommendation')}); rebuild it with `python -m comparison`"
        )
    if comp is not None:
        comp = {**comp, "report": report}
    name = (
        root.name
        if root
        else ("answers" if args.answers in (None, "-") else Path(args.answers).stem)
    )
    text = render(sections(report, comp, name), "html" if args.html else "md")
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        print(text)
    if args.answers:
        _note_defaulted(args.answers)


def _from_comparison(
    comp: Any,
    path: str,
    measured: dict[str, float],
    intervals: dict[str, Interval],
    evidence_file: str | None,
    ev: Evidence,
) -> tuple[dict[str, float], dict[str, str], Evidence]:
    """The comparison's figures, what measured them and their evidence, except where the
    command line gives a figure (its evidence then goes too) or an --evidence file."""
    if not isinstance(comp, dict) or not isinstance(comp.get("report"), dict):
        raise InputError(f"{path}: not a comparison (`python -m comparison DIR --json`)")
    saved = comp.get("measured_accuracy", {})
    if not isinstance(saved, dict):
        raise InputError(f"{path}: measured_accuracy must be an object")
    evidence = comp["report"].get("evidence")
    named = evidence.get("measured_by") if isinstance(evidence, dict) else None
    by = {}
    if isinstance(named, dict):  # what measured each figure, unless given on the line
        by = {k: str(v) for k, v in named.items() if k in saved and k not in measured}
    if evidence_file is None:
        kept = Evidence.from_dict(comp.get("evidence"), f"{path}: evidence")
        ev = _merge(kept.only(set(saved) - set(measured)), intervals)
    return {**saved, **measured}, by, ev


def read_answers(path: str) -> Answers:
    """Answers from a JSON file ('-' = stdin). Raises ValueError naming the file or key."""
    name = "stdin" if path == "-" else path
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"{name}: answers file not found; write one with `{PROG} answers-template`"
        ) from None
    except OSError as e:
        raise InputError(f"{name}: cannot read answers file ({e.strerror})") from None
    try:
        data = loads(raw, name)
        answers = Answers.from_dict(data)
    except ValueError as e:
        msg = str(e)
        raise InputError(msg if msg.startswith(name) else f"{msg} (in {name})") from None
    _DEFAULTED[path] = [f"{k}={getattr(answers, k)!r}" for k in Answers.defaulted(data)]
    return answers


_DEFAULTED: dict[str, list[str]] = {}  # answers file -> the answers it left out


def _note_defaulted(path: str) -> None:
    """Name the defaulted answers on stderr (after a successful run: errors stay one line), so
    a script's `{}` is no silent $50k, 5,000-a-month project."""
    shown = _DEFAULTED.get(path)
    if shown:
        name = "stdin" if path == "-" else path
        print(f"advisor: note: {name} leaves out {len(shown)} answer(s), defaulted: "
              f"{', '.join(shown)}", file=sys.stderr)  # fmt: skip


MEASURED_FORM = "OPTION=ACCURACY[,LOW-HIGH]"
MEASURED_HELP = (
    "measured accuracy, optionally with its 95%% interval, e.g. --measured classifier=0.87 "
    "--measured fine_tune=0.89,0.87-0.91; or @FILE with a JSON object of OPTION: ACCURACY"
)
EVIDENCE_HELP = (
    "JSON with the intervals and paired tests behind the measured figures: "
    '{"intervals": {"fine_tune": {"low": 0.87, "high": 0.91, "n": 400}}, "paired": [{"a": '
    '"fine_tune", "b": "classifier", "a_only": 12, "b_only": 7, "n": 400, "p_value": 0.36}]}, '
    "or a comparison.json (its 'evidence'); a lead within noise keeps the cheaper set-up"
)


def _parse_measured(items: list[str]) -> tuple[dict[str, float], dict[str, Interval]]:
    """OPTION=ACCURACY[,LOW-HIGH] items (or @FILE with a JSON object of OPTION: ACCURACY):
    the figures, and the intervals given with them."""
    out: dict[str, float] = {}
    intervals: dict[str, Interval] = {}
    for item in items:
        if item.startswith("@"):
            data = read_json(item[1:], "measured accuracy file")
            if not isinstance(data, dict):
                raise InputError(f'{item[1:]}: expected a JSON object like {{"rag": 0.91}}')
            pairs = list(data.items())
        else:
            key, value, interval = _measured_item(item)
            pairs = [(key, value)]
            if interval is not None:
                intervals[key] = interval
        for key, value in pairs:
            if key in out:
                raise InputError(f"measured_accuracy.{key}: given twice; give each option once")
            out[key] = value
    return out, intervals


def _measured_item(item: str) -> tuple[str, float, Interval | None]:
    """'fine_tune=0.89' or 'fine_tune=0.89,0.87-0.91' -> (option, accuracy, interval)."""
    key, sep, value = item.partition("=")
    point, comma, span = value.partition(",")
    low, dash, high = span.partition("-")
    try:
        if not sep or len(value) > 60 or (comma and not dash):
            raise ValueError
        acc = float(point)
        interval = Interval(float(low), float(high)) if comma else None
    except ValueError:
        raise InputError(
            f"--measured {item[:60]!r}: expected OPTION=ACCURACY or OPTION=ACCURACY,LOW-HIGH, "
            "e.g. rag=0.91 or fine_tune=0.89,0.87-0.91"
        ) from None
    if interval is not None and not 0 <= interval.low <= acc <= interval.high <= 1:
        raise InputError(
            f"--measured {item[:60]!r}: the interval must hold the accuracy, within 0-1 "
            "(LOW <= ACCURACY <= HIGH), e.g. fine_tune=0.89,0.87-0.91"
        )
    return key.strip(), acc, interval


def _evidence(path: str | None, intervals: dict[str, Interval]) -> Evidence:
    """--evidence FILE (an evidence object, or a comparison.json holding one), then the
    intervals given with --measured on top."""
    if path is None:
        return _merge(Evidence(), intervals)
    data = read_json(path, "evidence file")
    if isinstance(data, dict) and "evidence" in data:  # a whole comparison.json
        data = data["evidence"]
    try:
        return _merge(Evidence.from_dict(data, path), intervals)
    except ValueError as e:
        raise InputError(str(e)) from None


def _merge(ev: Evidence, intervals: dict[str, Interval]) -> Evidence:
    return Evidence({**ev.intervals, **intervals}, ev.paired)


def read_json(path: str, what: str) -> Any:
    from advisor.jsonio import read

    return read(path, what)


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
