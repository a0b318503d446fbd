"""Command line of the trainer (see trainer/__main__.py for how to run it).

Exit status: 0 completed (or the command succeeded), 1 the run failed, 2 bad input (one line on
stderr naming the field or file), 3 the run was cancelled. torch is imported only by the
commands that train or predict. `train` and `launch` first run `trainer.preflight` (runs folder,
base model files, data, label count, memory and time against `--max-hours`): each problem is one
line before any model loads.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from trainer.config import TrainConfig, add_config_arguments, config_from_args

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_CANCELLED = 0, 1, 2, 3


class InputProblem(Exception):
    """Bad input found by the CLI: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage block
        print(f"trainer: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(EXIT_INPUT)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m trainer", description="LoRA fine-tuning as one CLI.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, help_ in (("train", "train in the foreground"), ("launch", "queue a background job")):
        t = sub.add_parser(name, help=help_)
        t.add_argument("--config", help="JSON or YAML config file; flags override it")
        t.add_argument("--json", action="store_true", help="print one JSON object at the end")
        add_config_arguments(t)
        t.add_argument(
            "--max-hours",
            type=float,
            default=None,
            help="refuse a run whose estimate on this machine is longer (default 6; 0 = no limit)",
        )
        if name == "launch":
            _add_cluster_arguments(t)
    r = sub.add_parser("resume", help="continue a run from its last checkpoint (foreground)")
    r.add_argument("run")
    r.add_argument("--runs-dir", default="runs")
    r.add_argument("--json", action="store_true")
    r.add_argument("--background", action="store_true", help="queue it as a background job")
    for name in ("status", "cancel"):
        c = sub.add_parser(name, help=f"{name} a run")
        c.add_argument("run")
        c.add_argument("--runs-dir", default="runs")
        c.add_argument("--json", action="store_true")
        if name == "cancel":
            c.add_argument("--grace", type=float, default=30.0, help="seconds before SIGKILL")
    ls = sub.add_parser("list", help="list runs")
    ls.add_argument("--runs-dir", default="runs")
    ls.add_argument("--json", action="store_true")
    pr = sub.add_parser("predict", help="batch predictions with a trained run's adapter")
    pr.add_argument("--run", required=True, help="run id (in --runs-dir) or run folder")
    pr.add_argument("--runs-dir", default="runs")
    pr.add_argument("--input", required=True, help="CSV, TSV, JSONL or Parquet file")
    pr.add_argument("--text-col", default=None)
    pr.add_argument("--out", default=None, help="output CSV (default: stdout)")
    pr.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ex = sub.add_parser("export", help="the adapter (or merged model) + tokenizer + model card")
    ex.add_argument("--run", required=True, help="run id (in --runs-dir) or run folder")
    ex.add_argument("--runs-dir", default="runs")
    ex.add_argument("--out", required=True, help="new (or empty) folder to write")
    ex.add_argument("--merged", action="store_true", help="merge the adapter into the base model")
    return p


def _add_cluster_arguments(p: argparse.ArgumentParser) -> None:
    from trainer.remote.spec import ClusterSpec

    help_ = {f: ClusterSpec.__dataclass_fields__[f].metadata["help"] for f in ("gpus", "gpu_type")}
    p.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="submit to the Ray cluster whose dashboard is at ADDRESS (http://HOST:8265 or "
        "ray://HOST:10001) instead of running on this machine",
    )
    p.add_argument("--gpus", type=int, default=0, help=help_["gpus"])
    p.add_argument("--gpu-type", default="", help=help_["gpu_type"])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {
        "train": _train,
        "launch": _launch,
        "resume": _resume,
        "status": _status,
        "cancel": _cancel,
        "list": _list,
        "predict": _predict,
        "export": _export,
    }[args.command]
    try:
        return handler(args)
    except InputProblem as exc:
        return _input_error(str(exc), getattr(args, "json", False))
    except ValueError as exc:  # TrainConfig validation, DataError, ModelNotFoundError, ...
        return _input_error(str(exc), getattr(args, "json", False))
    except (OSError, sqlite3.Error) as exc:  # a read-only or full runs folder: one line
        return _storage_error(exc, args)


def _storage_error(exc: OSError | sqlite3.Error, args: argparse.Namespace) -> int:
    from trainer.runfolder import storage_errno, storage_reason

    code = storage_errno(exc)
    if code is None and isinstance(exc, sqlite3.OperationalError):
        text = str(exc)
        if "full" in text:
            code = errno.ENOSPC
        elif "readonly" in text or "unable to open" in text:
            code = errno.EROFS
    if code is None:
        raise exc
    runs_dir = getattr(args, "runs_dir", None) or "runs"
    return _input_error(f"runs_dir: {storage_reason(code, Path(runs_dir))}", args.json)


def _input_error(message: str, as_json: bool) -> int:
    line = " ".join(message.split())
    print(f"trainer: error: {line}", file=sys.stderr)
    if as_json:
        print(json.dumps({"status": "error", "error": line}))
    return EXIT_INPUT


def _emit(obj: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(obj, default=str))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(v, dict | list):
                print(f"{k}: {v}")
    else:
        print(obj)


def _run_foreground(cfg: TrainConfig, resume: bool, as_json: bool) -> int:
    from trainer.procs import StopFlag

    stop = StopFlag()
    stop.install()  # before the slow torch import, so an early cancel is not lost
    from trainer.run import RunFailed, train

    try:
        result = train(cfg, resume=resume, stop=stop)
    except RunFailed as exc:
        run_dir = str(Path(cfg.runs_dir) / (cfg.run_id or ""))
        _emit(
            {"run_id": cfg.run_id, "run_dir": run_dir, "status": "failed", "reason": str(exc)},
            as_json,
        )
        print(f"trainer: run failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        _start_next_if_managed(cfg)
    if "rank" not in result:  # under DDP only rank 0 reports
        _emit(result, as_json)
    return {"completed": EXIT_OK, "cancelled": EXIT_CANCELLED}.get(result["status"], EXIT_FAILED)


def _start_next_if_managed(cfg: TrainConfig) -> None:
    """A background job, on its way out, starts the next queued job on its device."""
    if os.environ.get("TRAINER_MANAGED") == "1" and int(os.environ.get("RANK", "0")) == 0:
        from trainer.jobs import JobManager

        try:
            JobManager(cfg.runs_dir).start_next(finished=cfg.run_id)
        except Exception as exc:  # never turn a finished run into a failure
            print(f"trainer: could not start the next queued job: {exc}", file=sys.stderr)


def _preflight(cfg: TrainConfig, args: argparse.Namespace, local: bool = True) -> None:
    """One-line refusals before any model loads (trainer.preflight); a background job's own
    process and the other ranks of a DDP run skip them (the launcher / rank 0 checked)."""
    if os.environ.get("TRAINER_MANAGED") == "1" or int(os.environ.get("RANK", "0")) != 0:
        return
    from trainer.preflight import DEFAULT_MAX_HOURS, preflight

    hours = DEFAULT_MAX_HOURS if args.max_hours is None else args.max_hours
    if hours < 0:
        raise InputProblem(f"max_hours: must be 0 (no limit) or more, got {hours:g}")
    preflight(cfg, local=local, max_hours=hours)


def _train(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    _preflight(cfg, args)
    if cfg.run_id is None and int(os.environ.get("WORLD_SIZE", "1")) == 1:
        from trainer.runfolder import new_run_id

        cfg = TrainConfig.from_dict({**cfg.to_dict(), "run_id": new_run_id()})
    return _run_foreground(cfg, resume=False, as_json=args.json)


def _launch(args: argparse.Namespace) -> int:
    from trainer.jobs import JobManager

    cfg = config_from_args(args)
    if not args.cluster and (args.gpus or args.gpu_type):
        raise InputProblem("gpus: --gpus and --gpu-type go with --cluster ADDRESS")
    _preflight(cfg, args, local=not args.cluster)  # a cluster's memory and speed are its own
    jm = JobManager(cfg.runs_dir)
    cluster = None
    if args.cluster:
        from trainer.remote.spec import ClusterSpec

        cluster = ClusterSpec(address=args.cluster, gpus=args.gpus, gpu_type=args.gpu_type)
    run_id = jm.launch(cfg, cluster=cluster)
    st = jm.status(run_id)
    _emit({"run_id": run_id, "run_dir": st["run_dir"], "state": st["state"]}, args.json)
    return EXIT_OK


def _run_folder(runs_dir: str, run: str):
    from trainer.runfolder import RunFolder

    path = Path(run)
    if not path.is_dir():
        path = Path(runs_dir) / run
    if not (path / "config.json").exists():
        raise InputProblem(f"run: no run '{run}' (looked for {path}/config.json)")
    return RunFolder(path)


def _resume(args: argparse.Namespace) -> int:
    folder = _run_folder(args.runs_dir, args.run)
    if args.background or _is_remote_run(folder):
        from trainer.jobs import JobManager

        run_id = JobManager(folder.path.parent).resume(folder.run_id)
        _emit({"run_id": run_id, "state": "queued"}, args.json)
        return EXIT_OK
    cfg = TrainConfig.from_json(folder.config_path.read_text())
    cfg = TrainConfig.from_dict(
        {**cfg.to_dict(), "runs_dir": str(folder.path.parent), "run_id": folder.run_id}
    )
    return _run_foreground(cfg, resume=True, as_json=args.json)


def _is_remote_run(folder: Any) -> bool:
    """A run registered on a Ray cluster resumes there, as a new job, not in this process."""
    if not (folder.path.parent / "registry.sqlite").exists():
        return False
    from trainer.jobs import JobManager

    return JobManager(folder.path.parent).remote.row(folder.run_id) is not None


def _existing_runs_dir(runs_dir: str) -> None:
    """Read commands never create the runs folder."""
    if not Path(runs_dir).is_dir():
        raise InputProblem(f"runs_dir: no folder {runs_dir}; pass the --runs-dir that holds runs")


def _status(args: argparse.Namespace) -> int:
    from trainer.jobs import JobManager

    _existing_runs_dir(args.runs_dir)
    _emit(JobManager(args.runs_dir).status(args.run), args.json)
    return EXIT_OK


def _cancel(args: argparse.Namespace) -> int:
    from trainer.jobs import JobManager

    _existing_runs_dir(args.runs_dir)
    st = JobManager(args.runs_dir).cancel(args.run, grace_s=args.grace)
    _emit({k: st.get(k) for k in ("run_id", "state", "reason")}, args.json)
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from trainer.jobs import JobManager

    _existing_runs_dir(args.runs_dir)
    runs = JobManager(args.runs_dir).list_runs()
    if args.json:
        print(json.dumps(runs, default=str))
        return EXIT_OK
    for r in runs:
        print(f"{r['run_id']}\t{r.get('state')}\t{r.get('phase', '')}\t{r.get('reason', '')}")
    return EXIT_OK


def _predict(args: argparse.Namespace) -> int:
    from trainer.predict import predict_file

    folder = _run_folder(args.runs_dir, args.run)
    n = predict_file(folder.path, args.input, args.text_col, args.out, args.device)
    if args.out:
        print(f"wrote {n} predictions to {args.out}", file=sys.stderr)
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from trainer.export import export_run

    folder = _run_folder(args.runs_dir, args.run)
    out = export_run(folder.path, Path(args.out), merged=args.merged)
    print(f"wrote the {'merged model' if args.merged else 'adapter'} and its model card to {out}")
    return EXIT_OK
