"""Guards on a run folder that keep a run honest: one writer at a time (a flock held for the
life of the training process), no second life for a completed run, the data it trains on is the
data it started with (a resume refuses a changed file or split), and a failed write leaves no
temporaries behind. No torch; used by trainer.run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from core.data import DataError
from core.split import file_hash
from trainer.config import InputError, TrainConfig
from trainer.runfolder import (
    RunFolder,
    read_json,
    storage_errno,
    storage_reason,
    write_json_atomic,
)


def claim_run(run: RunFolder, resume: bool) -> int | None:
    """Create the run folder and take its lock (one writer per run); refuse a completed run.
    A folder that cannot be written is bad input: one line naming it. Returns the lock's
    descriptor, held until the process ends."""
    try:
        run.create()
        lock_fd = run.acquire()
    except OSError as exc:
        code = storage_errno(exc)
        if code is None:
            raise
        raise InputError(f"runs_dir: {storage_reason(code, run.path.parent)}") from None
    if (run.status() or {}).get("state") == "completed" and run.final_metrics_path.exists():
        what = "resume" if resume else "train again into"
        raise InputError(
            f"run: '{run.run_id}' is completed (results in {run.final_metrics_path}); cannot "
            f"{what} it. Start a new run instead."
        )
    return lock_fd


def _sides(cfg: TrainConfig) -> list[tuple[str, str]]:
    return [(role, path) for role, path in (("train", cfg.train), ("test", cfg.test)) if path]


def check_data_unchanged(run: RunFolder, cfg: TrainConfig, resume: bool) -> None:
    """On resume: each data file still exists and has the bytes recorded when the run started.
    Raises DataError naming the file otherwise (runs older than the record are not checked)."""
    record = read_json(run.data_record_path) if resume else None
    if not isinstance(record, dict):
        return
    for role, path in _sides(cfg):
        want = record.get(f"{role}_sha256")
        if not want:
            continue
        if not Path(path).is_file():
            raise DataError(
                f"{role}: {path} is gone since run '{run.run_id}' started; restore it to "
                "resume, or start a new run."
            )
        got = file_hash(path)
        if got != want:
            raise DataError(
                f"{role}: {Path(path).name} changed since run '{run.run_id}' started (sha256 "
                f"{want[:12]} -> {got[:12]}); resuming would train on other data and score "
                "another split. Restore the original file or start a new run."
            )


def record_data(run: RunFolder, cfg: TrainConfig, split_id: str, resume: bool) -> None:
    """First start: write data_record.json (split id + sha256 of each file). On resume: refuse
    when the split differs from the recorded one."""
    record = read_json(run.data_record_path)
    if isinstance(record, dict) and record.get("split_id"):
        if resume and record["split_id"] != split_id:
            raise DataError(
                f"the held-out split changed since run '{run.run_id}' started (split "
                f"{record['split_id']} -> {split_id}); resuming would mix two splits. Start a "
                "new run."
            )
        return
    if not run.writer:
        return
    data = {"split_id": split_id}
    for role, path in _sides(cfg):
        data[role] = str(Path(path).resolve())
        data[f"{role}_sha256"] = file_hash(path)
    write_json_atomic(run.data_record_path, data)


def remove_temporaries(run: RunFolder) -> None:
    """Half-written checkpoints and temporary files (a failed write, a full disk)."""
    if not run.writer:
        return
    if run.checkpoints.is_dir():
        for tmp in run.checkpoints.glob(".tmp-step-*"):
            shutil.rmtree(tmp, ignore_errors=True)
    if run.path.is_dir():
        for tmp in run.path.glob("*.tmp"):
            if tmp.is_file():
                tmp.unlink(missing_ok=True)
        for tmp in run.path.glob(".*.tmp"):
            if tmp.is_file():
                tmp.unlink(missing_ok=True)
