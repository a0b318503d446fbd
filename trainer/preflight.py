"""Checks before a run starts, each a one-line refusal (ValueError) before any model loads: the
CLI's `train` and `launch` call `preflight(cfg, ...)` (issue 17 items 4-6).

- the runs folder can hold runs: not under a regular file, writable, not full;
- the base model folder holds no pickle or code (`core.models.check_model_folder`);
- the data, validated once: how the task was inferred is said on stderr with the flag that
  overrides it; the label count fits (`core.budget.check_labels`); on this machine, the data fits
  the memory limit the app uses (`core.budget.check_trainer_data`) and the estimated time (from
  `trainer.estimate`, the warm start's probe included) stays under `--max-hours`.

    python -m trainer train --train data.csv --max-hours 2     # refuses a longer run
"""

from __future__ import annotations

import errno
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

from core.budget import check_labels, check_trainer_data, mean_words
from core.split import Dataset, prepare_dataset
from trainer.config import SHIPPED_ENCODER, SHIPPED_GENERATOR, TrainConfig

DEFAULT_MAX_HOURS = 6.0  # a trial fine-tune that would run longer here is refused by default
MIN_FREE_BYTES = 1024 * 1024  # less free space than this: the disk is full for any run
TOKENS_PER_WORD = 4 / 3


def usable_runs_dir(runs_dir: str | Path) -> None:
    """Raise ValueError (one line) unless `runs_dir` exists or can be made, and takes a file."""
    path = Path(runs_dir)
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(
            f"runs_dir: {path} is under {probe}, which is a file, not a folder; point --runs-dir "
            "at a folder"
        )
    from trainer.runfolder import storage_errno, storage_reason

    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-") as fh:
            fh.write(b"\0" * 4096)
            fh.flush()
            os.fsync(fh.fileno())
        free = shutil.disk_usage(path).free
    except OSError as exc:
        code = storage_errno(exc) or exc.errno or errno.EACCES
        raise ValueError(f"runs_dir: {storage_reason(code, path)}") from None
    if free < MIN_FREE_BYTES:
        raise ValueError(f"runs_dir: {storage_reason(errno.ENOSPC, path, MIN_FREE_BYTES)}")


def check_base_model(cfg: TrainConfig) -> None:
    """A local base model folder (or a cached hub snapshot) with a pickle or code is refused."""
    name = cfg.base_model
    if name in ("auto", SHIPPED_ENCODER, SHIPPED_GENERATOR):
        return
    from core.models import check_model_folder, resolve_local_or_hub

    if name.endswith(".gguf") and Path(name).is_file():
        check_model_folder(Path(name), "base_model")
        return
    resolve_local_or_hub(name)  # checks a local folder or a cached snapshot; raises one line


def preflight(cfg: TrainConfig, local: bool, max_hours: float) -> None:
    """Every check above; `local`: the run uses this machine (not a Ray cluster)."""
    usable_runs_dir(cfg.runs_dir)
    check_base_model(cfg)
    ds = prepare_dataset(cfg.data_spec())
    if ds.task_note:
        print(f"note: {ds.task_note}", file=sys.stderr, flush=True)
    words = mean_words(ds.train_texts)
    task = cfg.resolved_task(ds.task)
    if task == "classification":
        n_classes = len(set(ds.train_labels))
        check_labels(n_classes, len(ds.train_texts), len(ds.test_texts), words, tfidf=False)
    if local:
        check_trainer_data(len(ds.train_texts) + len(ds.test_texts), words)
        check_time(cfg, ds, task, words, max_hours)


def check_time(cfg: TrainConfig, ds: Dataset, task: str, words: float, max_hours: float) -> None:
    """Refuse a run whose estimate (steps, warm start and final evaluation) is over max_hours."""
    from trainer import estimate as est

    size = est.known_model_size(cfg.resolved_base_model(task))
    if size is None or max_hours <= 0:
        return  # an unknown model's size needs it loaded: the run's own estimate follows
    parts, steps = _estimate_parts(cfg, ds, task, words, size)
    total = sum(parts.values())
    if total <= max_hours * 3600:
        return
    big = max(parts, key=lambda k: parts[k])
    what = {
        "train": "the training steps",
        "warm_start": f"the warm start's linear probe over {len(set(ds.train_labels)):,} classes",
        "evaluate": f"the final evaluation of {len(ds.test_texts):,} held-out rows",
    }[big]
    fix = "--no-warm-start, " if big == "warm_start" else ""
    raise ValueError(
        f"estimate: about {total:,.0f} s ({total / 3600:.1f} h) for {steps:,} steps on this "
        f"machine, {parts[big]:,.0f} s of it {what}; over --max-hours {max_hours:g}. Use "
        f"{fix}fewer rows or classes, or --max-hours {math.ceil(total / 3600)} to run it anyway."
    )


def _estimate_parts(
    cfg: TrainConfig, ds: Dataset, task: str, words: float, size
) -> tuple[dict[str, float], int]:
    """(seconds by part, optimizer steps), from trainer.estimate's FLOP model and this
    machine's FLOP/s (the calibration file of an earlier run here, else the defaults)."""
    from core.schedule import auto_epochs
    from trainer import estimate as est
    from trainer.distributed import resolve_device, resolve_precision

    device = resolve_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    threads = cfg.threads or len(os.sched_getaffinity(0))
    key = est.calibration_key(device, precision, cfg.resolved_base_model(task), threads)
    calibration = est.load_calibration(cfg.runs_dir, key)
    flops_s = est.effective_flops(device, precision, threads, calibration=calibration)
    out_words = mean_words(ds.train_labels) if task == "generation" else 0.0
    seq = min(cfg.max_length, round((words + out_words) * TOKENS_PER_WORD) + 2)
    n = len(ds.train_texts)
    per_epoch = math.ceil(n / cfg.batch_size)
    if cfg.epochs is None and cfg.max_steps is not None:
        steps = cfg.max_steps
    else:
        steps = math.ceil((cfg.epochs or auto_epochs(per_epoch)) * per_epoch)
        steps = min(steps, cfg.max_steps or steps)
    tokens = steps * min(cfg.batch_size, n) * seq
    train = est.predict_time(size, tokens, steps, seq, cfg.method, flops_s, device).seconds
    forward = est.flops_per_token(size, seq, "forward")
    warm = 0.0
    if task == "classification" and cfg.warm_start:
        from trainer.probe import probe_flops

        n_classes = len(set(ds.train_labels))
        warm = (forward * n * seq + probe_flops(n, size.hidden, n_classes)) / flops_s
    evaluate = forward * len(ds.test_texts) * seq / flops_s
    if task == "generation":  # each answer token is one more forward pass
        evaluate *= 1 + cfg.max_new_tokens
    return {"train": train, "warm_start": warm, "evaluate": evaluate}, steps
