"""The run folder `runs/<id>/` and its files; no torch, shared by the worker and the app.

Layout: config.json, status.json (atomic), metrics.jsonl (one JSON object a line), stdout.log,
checkpoints/step-<n>/, metrics.json (final, held-out), predictions.csv, adapter/, merged/,
data_record.json (split id + sha256 of each data file, checked on resume) and .lock (flock'ed by
the one process training the run). Every file here is untrusted input (docs/security.md).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any, Literal

State = Literal["queued", "running", "completed", "failed", "cancelled", "interrupted", "lost"]
STATES: tuple[str, ...] = (
    "queued", "running", "completed", "failed", "cancelled", "interrupted", "lost"
)  # fmt: skip
# `lost`: a run on a cluster that stopped answering (trainer.remote.outcome); resumable.
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled", "interrupted", "lost"})
RESUMABLE: tuple[str, ...] = ("interrupted", "cancelled", "failed", "lost")
META_FILE = "trainer_meta.json"  # adapter/: task, base model, labels (trainer.finalize.meta)


def new_run_id() -> str:
    """Sortable and unique: UTC time stamp plus a random suffix."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


class RunBusyError(ValueError):
    """Another process holds the run's lock (it is training that folder now)."""


def write_json_atomic(path: Path, data: Any) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file.
    On a failed write (a full disk) the temporary file is removed and the old file kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w") as fh:
            json.dump(data, fh, indent=2, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def _write_in_place(path: Path, data: Any) -> None:
    """Last resort on a full disk: overwrite the existing file's blocks (a small status fits in
    the block it already has). Not atomic, so used only when the atomic write failed."""
    text = json.dumps(data, separators=(",", ":"), default=str)
    with open(path, "r+") as fh:
        fh.write(text)
        fh.truncate()
        fh.flush()
        os.fsync(fh.fileno())


def storage_errno(exc: BaseException) -> int | None:
    """The errno of a write that failed for lack of space or permission, else None. Writers
    such as torch.save and safetensors wrap the OSError in their own error; read the text."""
    seen: BaseException | None = exc
    for _ in range(5):  # the error and the ones it was raised from
        if seen is None:
            break
        if isinstance(seen, OSError) and seen.errno in STORAGE_ERRNOS:
            return seen.errno
        text = str(seen)
        for code in STORAGE_ERRNOS:
            if os.strerror(code) in text or f"os error {code})" in text:
                return code
        seen = seen.__cause__ or seen.__context__
    return None


def storage_reason(code: int, folder: Path, needed_bytes: int | None = None) -> str:
    """One line for a write that failed for lack of space or permission, naming the folder."""
    if code in (errno.ENOSPC, errno.EDQUOT):
        try:
            free = shutil.disk_usage(folder).free
        except OSError:
            free = 0
        need = f"about {_mb(needed_bytes)} is needed, " if needed_bytes else ""
        return (
            f"no space left on the disk holding {folder} ({need}{_mb(free)} free): free some "
            "space or point --runs-dir at a bigger disk, then resume"
        )
    return (
        f"cannot write to {folder} ({os.strerror(code).lower()}): make the folder writable or "
        "point --runs-dir at a writable folder"
    )


def _mb(n: int | None) -> str:
    return f"{(n or 0) / 1e6:.1f} MB"


def read_json(path: Path) -> Any | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


class RunFolder:
    """Paths and small file operations of one run; `writer=False` makes every write a no-op
    (ranks other than 0 under DDP)."""

    def __init__(self, path: str | Path, writer: bool = True) -> None:
        self.path = Path(path)
        self.writer = writer

    @property
    def run_id(self) -> str:
        return self.path.name

    config_path = property(lambda self: self.path / "config.json")
    status_path = property(lambda self: self.path / "status.json")
    metrics_log = property(lambda self: self.path / "metrics.jsonl")
    final_metrics_path = property(lambda self: self.path / "metrics.json")
    predictions_path = property(lambda self: self.path / "predictions.csv")
    stdout_path = property(lambda self: self.path / "stdout.log")
    checkpoints = property(lambda self: self.path / "checkpoints")
    adapter_dir = property(lambda self: self.path / "adapter")
    merged_dir = property(lambda self: self.path / "merged")

    def create(self) -> None:
        if self.writer:
            self.path.mkdir(parents=True, exist_ok=True)

    def status(self) -> dict[str, Any] | None:
        """status.json, or None when missing or not a JSON object. The run's id is its
        folder's name, whatever the file says (a copied folder may claim another run's)."""
        data = read_json(self.status_path)
        if not isinstance(data, dict):
            return None
        data["run_id"] = self.run_id
        return data

    def write_status(self, state: State, reason: str = "", **extra: Any) -> dict[str, Any]:
        """Merge into the existing status so fields such as predicted_train_s persist."""
        if state not in STATES:
            raise ValueError(f"state: {state!r} is not one of {', '.join(STATES)}")
        data = self.status() or {"run_id": self.run_id}
        now = time.time()
        data.update(extra)
        data.update(state=state, reason=reason, updated_at=now)
        if state == "running" and not data.get("started_at"):
            data["started_at"] = now
        if state in TERMINAL:
            data["ended_at"] = now
        if self.writer:
            try:
                write_json_atomic(self.status_path, data)
            except OSError as exc:
                if state not in TERMINAL or exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                    raise
                _write_in_place(self.status_path, data)  # the run's end must be recorded
        return data

    def update_status(self, **extra: Any) -> None:
        """Progress fields (step, eta_s, ...) without changing the state."""
        data = self.status()
        if data is None or not self.writer:
            return
        data.update(extra, updated_at=time.time())
        write_json_atomic(self.status_path, data)

    def append_metrics(self, row: dict[str, Any]) -> None:
        if not self.writer:
            return
        with open(self.metrics_log, "a") as fh:
            fh.write(json.dumps(row, default=float) + "\n")

    def metrics(self) -> list[dict[str, Any]]:
        """The rows, one per (step, kind): a row replayed after a resume replaces the earlier
        one (older runs may hold both)."""
        if not self.metrics_log.exists():
            return []
        rows: dict[Any, dict[str, Any]] = {}
        for n, line in enumerate(self.metrics_log.read_text().splitlines()):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # a line cut by kill -9
                continue
            if not isinstance(row, dict):
                continue
            step = row.get("step")
            key = (step, any(k.startswith("eval_") for k in row)) if isinstance(step, int) else n
            rows.pop(key, None)
            rows[key] = row
        return list(rows.values())

    def trim_metrics(self, after_step: int) -> int:
        """Drop metric rows logged after `after_step` (a resume replays those steps); returns
        how many were dropped."""
        if not self.writer or not self.metrics_log.exists():
            return 0
        lines = self.metrics_log.read_text().splitlines()
        keep = [ln for ln in lines if (_step_of(ln) or 0) <= after_step]
        if len(keep) == len(lines):
            return 0
        tmp = self.metrics_log.with_name(f".{self.metrics_log.name}.tmp")
        try:
            tmp.write_text("".join(ln + "\n" for ln in keep))
            os.replace(tmp, self.metrics_log)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
        return len(lines) - len(keep)

    # --- one writer per run ----------------------------------------------------------------

    lock_path = property(lambda self: self.path / ".lock")
    data_record_path = property(lambda self: self.path / "data_record.json")

    def acquire(self) -> int | None:
        """Take the run's lock for the life of this process (an open file with an exclusive
        flock; the kernel drops it when the process ends, even on kill -9). Raises RunBusyError
        when another process holds it. Returns the descriptor (None for non-writers)."""
        if not self.writer:
            return None
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise RunBusyError(
                f"run: '{self.run_id}' is being trained by another process (pid {holder}); "
                "wait for it to finish or cancel it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        return fd

    def busy(self) -> bool:
        """True while some process holds the run's lock."""
        try:
            fd = os.open(self.lock_path, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    def final_metrics(self) -> dict[str, Any] | None:
        return read_json(self.final_metrics_path)

    def latest_checkpoint(self) -> Path | None:
        """The newest complete checkpoint (its `state.json` is written last)."""
        if not self.checkpoints.is_dir():
            return None
        done = [p for p in self.checkpoints.glob("step-*") if (p / "state.json").exists()]
        return max(done, key=lambda p: int(p.name.split("-")[1]), default=None)


def _step_of(line: str) -> int | None:
    """The step of a metrics line; None for rows without one; a huge number for a cut line."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        return 1 << 62
    step = row.get("step") if isinstance(row, dict) else None
    return step if isinstance(step, int) else None
