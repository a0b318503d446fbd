"""The run folder `runs/<id>/` and its files; no torch, shared by the worker and the app.

Layout: config.json, status.json (atomic), metrics.jsonl (one JSON object a line), stdout.log,
checkpoints/step-<n>/, metrics.json (final, held-out), predictions.csv, adapter/, merged/.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any, Literal

State = Literal["queued", "running", "completed", "failed", "cancelled", "interrupted"]
STATES: tuple[str, ...] = ("queued", "running", "completed", "failed", "cancelled", "interrupted")
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled", "interrupted"})


def new_run_id() -> str:
    """Sortable and unique: UTC time stamp plus a random suffix."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=2, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


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
        return read_json(self.status_path)

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
            write_json_atomic(self.status_path, data)
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
        if not self.metrics_log.exists():
            return []
        rows = []
        for line in self.metrics_log.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by kill -9
                continue
        return rows

    def final_metrics(self) -> dict[str, Any] | None:
        return read_json(self.final_metrics_path)

    def latest_checkpoint(self) -> Path | None:
        """The newest complete checkpoint (its `state.json` is written last)."""
        if not self.checkpoints.is_dir():
            return None
        done = [p for p in self.checkpoints.glob("step-*") if (p / "state.json").exists()]
        return max(done, key=lambda p: int(p.name.split("-")[1]), default=None)
