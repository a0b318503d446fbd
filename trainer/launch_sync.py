"""The run folder over a job's log stream: the job side prints changes of its run folder as
marked lines, the app side applies them to the local run folder. No torch, no Ray.

A cluster reached only through its dashboard (Ray Jobs) has no shared disk with the app; its
job log is the one channel both sides have. A line is `@@trainer-sync ` + JSON:
    {"f": "status.json", "o": "w", "b": BASE64}                  replace a file
    {"f": "metrics.jsonl", "o": "a", "b": BASE64}                append to a file
    {"f": "adapter/x.safetensors", "o": "w", "b": ..., "c": 0, "n": 3}   chunk 0 of 3
    {"o": "end", "rc": 0}                                         the trainer exited
Every other line is the trainer's own output and goes to the local `stdout.log`.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MARK = "@@trainer-sync "
CHUNK = 48 * 1024  # raw bytes per line (64 KiB of base64)
STATE_FILE = ".sync.json"
APP_KEYS = (
    "cluster", "job_id", "cluster_attempt", "cluster_settled", "cluster_check", "cluster_note",
    "cost_job_id", "device_hours", "gpu_hours", "cost_usd", "price_usd_per_hour", "gpus",
    "gpu_type", "created_at",
)  # fmt: skip


def encode(rel: str, data: bytes, op: str = "w") -> Iterator[str]:
    """The lines that carry `data` for file `rel` (relative to the run folder)."""
    n = max(1, -(-len(data) // CHUNK))
    for i in range(n):
        part = base64.b64encode(data[i * CHUNK : (i + 1) * CHUNK]).decode()
        msg: dict[str, Any] = {"f": rel, "o": op, "b": part}
        if n > 1:
            msg.update(c=i, n=n)
        yield MARK + json.dumps(msg, separators=(",", ":"))


def end_line(rc: int) -> str:
    return MARK + json.dumps({"o": "end", "rc": rc})


def _safe(run_dir: Path, rel: str) -> Path:
    """A path inside the run folder (a log line never writes outside it)."""
    path = (run_dir / rel).resolve()
    if run_dir.resolve() not in path.parents:
        raise ValueError(f"sync: refusing path outside the run folder: {rel!r}")
    return path


def _write(path: Path, data: bytes, op: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if op == "a":
        with open(path, "ab") as fh:
            fh.write(data)
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.sync")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _merged_status(path: Path, data: bytes) -> bytes:
    """The job's status.json over the local one; what only the app side knows (the cluster,
    the current Ray job, the measured cost) stays as the app wrote it."""
    try:
        local = json.loads(path.read_text())
    except (OSError, ValueError):
        local = {}
    merged = {**local, **json.loads(data)}
    merged.update({k: local[k] for k in APP_KEYS if k in local})
    return json.dumps(merged, indent=2).encode()


@contextmanager
def _locked(run_dir: Path):
    """One applier at a time per run folder (the app and a CLI may poll together)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / ".sync.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def sync_state(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}


def apply_log(run_dir: Path, job_id: str, log: str) -> dict[str, Any]:
    """Apply the lines of `log` (a job's whole log so far) not applied before; returns the sync
    state: {job_id, offset (characters consumed), ended, rc}. A chunked file is applied only
    when all of its chunks have arrived; an unfinished last line waits for the next call."""
    with _locked(run_dir):
        state = sync_state(run_dir)
        if state.get("job_id") != job_id:  # a new job (e.g. a resume): its log starts afresh
            state = {"job_id": job_id, "offset": 0, "ended": False, "rc": None}
        pos = int(state["offset"])
        pending: list[dict[str, Any]] = []  # chunks of one file (the job prints them in a row)
        done = pos  # everything before this is applied
        out_lines: list[str] = []
        while (nl := log.find("\n", pos)) >= 0:
            line, pos = log[pos:nl], nl + 1
            if not line.startswith(MARK):
                pending = []  # a group cut by other output cannot be completed: drop it
                out_lines.append(line + "\n")
                done = pos
                continue
            try:
                msg = json.loads(line[len(MARK) :])
            except ValueError:
                continue
            if msg.get("o") == "end":
                state.update(ended=True, rc=msg.get("rc"))
                done = pos
                continue
            if "n" in msg:
                pending = pending if pending and msg["c"] == len(pending) else []
                if msg["c"] != len(pending):
                    continue
                pending.append(msg)
                if len(pending) < msg["n"]:
                    continue
                data = b"".join(base64.b64decode(m["b"]) for m in pending)
                pending = []
            else:
                data = base64.b64decode(msg["b"])
            if msg["f"] == "status.json":  # keep the fields only the app side knows
                data = _merged_status(run_dir / "status.json", data)
            _write(_safe(run_dir, msg["f"]), data, msg["o"])
            done = pos
        if out_lines:
            with open(run_dir / "stdout.log", "a") as fh:
                fh.writelines(out_lines)
        state["offset"] = done
        _write(run_dir / STATE_FILE, json.dumps(state).encode(), "w")
        return state
