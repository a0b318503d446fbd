"""Command line for the RAG baseline: `evaluate` (score it) and `validate` (check data, no model).

Run: `python -m rag_baseline evaluate --train train.csv [--test test.csv] [--json] [--quick]`.
On data at least `QUICK_FIRST_FACTOR` times the quick sample, `evaluate` first prints the quick
estimate (seconds at any size; with `--json` as one line on stderr), then runs the full
evaluation with progress; `--no-quick-first` skips it, `--quick` stops there. Before any model
loads, the data is planned against the app's memory limit (`core.budget`,
$ADVISOR_BASELINE_MEMORY_GB): too big for the full run, it runs on a stratified sample and says
so on stderr; too big even for that, or a label count that cannot fit, is refused in one line.
An inferred task is said on stderr with the `--task` value that overrides it.

Flags mirror `EvalConfig` fields one to one (`--text-col` for `text_col`, `--out` for `out_dir`),
with the help text kept beside each field. Bad input exits with status 2 and one line on stderr;
with `--json` stdout carries exactly one JSON object and everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from dataclasses import MISSING, fields, replace
from typing import Literal, get_args, get_origin, get_type_hints

from core.budget import (
    BaselinePlan,
    baseline_plan,
    check_dataset_labels,
    mean_words,
    run_sampled,
)
from core.data import DataError
from core.models import ModelNotFoundError
from rag_baseline.config import EvalConfig

FLAG_NAMES = {"out_dir": "--out"}
QUICK_FIRST_FACTOR = 4  # training rows over the quick sample's from which first numbers pay
VALIDATE_FIELDS = (
    "train",
    "test",
    "text_col",
    "label_col",
    "task",
    "split_dir",
    "drop_leakage",
    "test_size",
    "seed",
    "max_chars",
    "max_file_mb",
)


class UsageError(Exception):
    """Bad command-line arguments."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + message
        raise UsageError(f"{message} (run `python -m rag_baseline {self.prog.split()[-1]} --help`)")


def _flag(name: str) -> str:
    return FLAG_NAMES.get(name, "--" + name.replace("_", "-"))


def _add_config_flags(parser: argparse.ArgumentParser, only: tuple[str, ...] | None) -> None:
    hints = get_type_hints(EvalConfig)
    help_text = EvalConfig.help()
    for f in fields(EvalConfig):
        if only is not None and f.name not in only:
            continue
        hint = hints[f.name]
        kwargs: dict = {"dest": f.name, "help": help_text[f.name]}
        if hint is bool:
            kwargs["action"] = "store_true"
        else:
            if get_origin(hint) is not Literal:  # X | None → X
                hint = next(a for a in get_args(hint) or (hint,) if a is not type(None))
            if get_origin(hint) is Literal:
                kwargs["choices"] = get_args(hint)
            else:
                kwargs["type"] = hint
                kwargs["metavar"] = f.name.upper()
        kwargs["required"] = f.default is MISSING
        parser.add_argument(_flag(f.name), **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rag_baseline", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    ev = sub.add_parser("evaluate", help="score the RAG baseline on a held-out split")
    _add_config_flags(ev, None)
    va = sub.add_parser("validate", help="check the data and make the split; loads no model")
    _add_config_flags(va, VALIDATE_FIELDS)
    ev.add_argument(
        "--no-quick-first",
        action="store_true",
        help=f"on data of {QUICK_FIRST_FACTOR}x the quick sample or more, do not print the quick "
        "estimate before the full run",
    )
    ev.add_argument(
        "--save-model",
        metavar="DIR",
        help="save the chosen small classifier here (safetensors + JSON; rag_baseline.deploy)",
    )
    for p in (ev, va):
        p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def _config(ns: argparse.Namespace) -> EvalConfig:
    names = {f.name for f in fields(EvalConfig)}
    values = {k: v for k, v in vars(ns).items() if k in names and v is not None}
    for name in ("no_cache", "drop_leakage", "quick"):
        values[name] = bool(values.get(name, False))
    return EvalConfig(**values)


def _progress_printer():
    """Progress to stderr: one line per new stage or 10% step, not one per batch.

    Nothing is printed before validation has passed, so a data error stays a single line.
    """
    last = {"pct": -10, "stage": None}

    def report(fraction: float, message: str) -> None:
        if fraction <= 0.0:
            return
        pct = int(100 * fraction)
        stage = message.split(" ", 1)[0]
        if stage != last["stage"] or pct >= last["pct"] + 10 or fraction >= 1.0:
            print(f"[{pct:3d}%] {message}", file=sys.stderr, flush=True)
            last.update(pct=pct, stage=stage)

    return report


def _quiet_libraries() -> None:
    """Our progress lines replace the libraries' own bars and load-time chatter."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def run_evaluate(ns: argparse.Namespace) -> int:
    from rag_baseline.evaluate import evaluate
    from rag_baseline.report import format_result

    config = _config(ns)
    _quiet_libraries()
    progress = None if ns.quiet else _progress_printer()
    plan, n_train = _memory_plan(config)  # before any model loads; may refuse in one line
    sample = plan.sample and not config.quick
    embedder = None
    if not config.quick and not ns.no_quick_first and not sample:
        embedder = _first_numbers(config, progress, ns.json, n_train)
    with contextlib.redirect_stdout(sys.stderr):  # stray prints from libraries stay off stdout
        if ns.save_model and embedder is None:  # kept for the refit (its vectors are cached)
            from rag_baseline.evaluate import load_embedder

            embedder = load_embedder(config)
        if sample:  # the app's memory plan: a stratified sample, said on stderr and in warnings
            result = run_sampled(evaluate, config, plan, progress or _silent, embedder=embedder)
        else:
            result = evaluate(config, progress=progress, embedder=embedder)
        if ns.save_model and result["task"] != "classification":
            print("note: --save-model saves classifiers only; nothing saved", file=sys.stderr)
        elif ns.save_model:
            from rag_baseline.deploy_fit import save_from_result

            save_from_result(result, ns.save_model, embedder)
    print(json.dumps(result, ensure_ascii=False) if ns.json else format_result(result))
    return 0


def _silent(fraction: float, message: str) -> None:
    pass


def _memory_plan(config: EvalConfig) -> tuple[BaselinePlan, int]:
    """Validate the data once (no model), say on stderr how the task was read and whether the
    run is sampled, and plan its memory as the app does (core.budget: the full run, a stratified
    sample, or a one-line refusal). Returns (plan, training rows)."""
    from rag_baseline.evaluate import load_dataset

    ds = load_dataset(config)
    if ds.task_note:
        print(f"note: {ds.task_note}", file=sys.stderr, flush=True)
    check_dataset_labels(ds)  # a label count that cannot fit: one line, no model loaded
    plan = baseline_plan(len(ds.train_texts), len(ds.test_texts), mean_words(ds.train_texts))
    if plan.sample and not config.quick:
        print(f"note: {plan.message}", file=sys.stderr, flush=True)
    return plan, len(ds.train_texts)


def _first_numbers(config: EvalConfig, progress, as_json: bool, n_train: int):
    """On large data, the quick estimate before the full run; returns the loaded embedder for
    the full run (whose cache then already holds the sample's vectors), or None on small data.
    """
    from rag_baseline.evaluate import evaluate, load_embedder
    from rag_baseline.report import format_first_numbers, format_result

    if n_train < QUICK_FIRST_FACTOR * config.quick_train:
        return None  # the full run is about as fast as a quick one would be
    with contextlib.redirect_stdout(sys.stderr):
        embedder = load_embedder(config)
        quick = evaluate(replace(config, quick=True), progress=progress, embedder=embedder)
    if as_json:
        print(format_first_numbers(quick), file=sys.stderr, flush=True)
    else:
        print(format_result(quick) + "\n\nThe full run follows.\n", flush=True)
    return embedder


def run_validate(ns: argparse.Namespace) -> int:
    from rag_baseline.evaluate import load_dataset
    from rag_baseline.report import format_validation

    ds = load_dataset(_config(ns))
    if ds.task_note:
        print(f"note: {ds.task_note}", file=sys.stderr, flush=True)
    summary = ds.summary()
    print(json.dumps(summary, ensure_ascii=False) if ns.json else format_validation(summary))
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        ns = build_parser().parse_args(argv)
        return run_evaluate(ns) if ns.command == "evaluate" else run_validate(ns)
    except (UsageError, DataError, ModelNotFoundError, ValueError) as exc:
        print("error: " + " ".join(str(exc).split()), file=sys.stderr)  # always one line
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - an internal fault still gets one line, not a trace
        if os.environ.get("RAG_BASELINE_DEBUG"):
            raise
        print(
            f"internal error: {type(exc).__name__}: {exc} (set RAG_BASELINE_DEBUG=1 for the "
            "traceback and report it)",
            file=sys.stderr,
        )
        return 1
