"""The run folder over a job's log: the sync lines (trainer.remote.wire) applied to the local
run folder. No torch, no Ray.

`apply_log(run_dir, job_id, log)` reads the part of the job's log not applied before: each marked
line is checked (trainer.remote.wire: what a line may say, each file's cap and kind) and written
inside the run folder, never through a link; a chunked file lands only whole. A refused line is
skipped and counted; the first refusal is said once in stdout.log and status.json
(`sync_refused`); nothing a line says raises. Other lines are the trainer's own output and go to
stdout.log, up to MAX_STDOUT bytes. The wire names (MARK, encode, end_line, env_line, accepts,
parse, Refused, ...) stay importable from here.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from trainer.remote.wire import (
    CHUNK,
    LOCAL_KEYS,
    MARK,
    MAX_LINE,
    MB,
    RULES,
    Refused,
    Rule,
    accepts,
    checked_content,
    encode,
    end_line,
    env_line,
    merged_status,
    parse,
    rule_for,
)

__all__ = [
    "CHUNK", "LOCAL_KEYS", "MARK", "MAX_LINE", "MAX_STDOUT", "RULES", "STATE_FILE", "Refused",
    "Rule", "accepts", "apply_log", "checked_content", "encode", "end_line", "env_line",
    "merged_status", "parse", "rule_for", "sync_state",
]  # fmt: skip

MAX_STDOUT = 16 * 1024 * 1024  # the job's own output kept in stdout.log
STATE_FILE = ".sync.json"  # what was applied so far: the log offset, refusals, the end


def _target(run_dir: Path, rel: str) -> Path:
    """The path of `rel` in the run folder; no folder on the way may be a symbolic link."""
    path = run_dir
    for part in rel.split("/"):
        if path.is_symlink():
            raise Refused(f"{rel!r} goes through a symbolic link in the run folder")
        path = path / part
    return path


def _write(path: Path, data: bytes, op: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if op == "a":
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "ab") as fh:
            fh.write(data)
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.sync")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # replaces a link itself, never what it points at


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
    """What was applied so far (a damaged or foreign file counts as nothing applied)."""
    try:
        state = json.loads((run_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    counts = ("offset", "refused", "stdout_bytes")
    if not isinstance(state, dict) or not all(
        type(state.get(k, 0)) is int and state.get(k, 0) >= 0 for k in counts
    ):
        return {}
    return state


class _Applier:
    """One pass over the new part of a log."""

    def __init__(self, run_dir: Path, state: dict[str, Any]) -> None:
        self.run, self.state = run_dir, state
        self.pending: list[dict[str, Any]] = []  # chunks of one file, in a row
        self.out: list[str] = []

    def line(self, line: str) -> None:
        if not line.startswith(MARK):
            self.pending = []  # a group cut by other output cannot be completed: drop it
            self.out.append(line)
            return
        try:
            self._message(parse(line))
        except Refused as exc:
            self.pending = []
            self.refuse(str(exc))

    def refuse(self, why: str) -> None:
        self.state["refused"] = self.state.get("refused", 0) + 1
        if self.state["refused"] == 1:
            self.state["refused_first"] = why
            self.out.append(
                f"[trainer-sync] refused a line of the job's log: {why}; later refusals are "
                "only counted (status.json: sync_refused)"
            )

    def _message(self, msg: dict[str, Any]) -> None:
        if msg["o"] == "end":
            self.state.update(ended=True, rc=msg["rc"], wall_s=msg.get("wall_s"))
            return
        if msg["o"] == "env":
            self.state["env"] = {k: v for k, v in msg.items() if k != "o"}
            return
        if "n" in msg:
            fits = self.pending and self.pending[0]["f"] == msg["f"]
            fits = fits and self.pending[0]["n"] == msg["n"] and msg["c"] == len(self.pending)
            self.pending = self.pending if fits else []
            if msg["c"] != len(self.pending):
                raise Refused(f"chunk {msg['c']} of {msg['f']!r} out of order")
            self.pending.append(msg)
            if len(self.pending) < msg["n"]:
                return
            data = b"".join(m["data"] for m in self.pending)
            self.pending = []
        else:
            data = msg["data"]
        self._file(msg["f"], msg["o"], data)

    def _file(self, rel: str, op: str, data: bytes) -> None:
        rule = rule_for(rel)
        path = _target(self.run, rel)
        existing = path.stat().st_size if op == "a" and path.exists() else 0
        data = checked_content(rule, rel, data, existing)
        if rel == "status.json":
            data = merged_status(path, data)
        _write(path, data, op)

    def flush_output(self) -> None:
        """The job's own output to stdout.log, up to MAX_STDOUT bytes in all."""
        if not self.out:
            return
        used = self.state.get("stdout_bytes", 0)
        keep: list[str] = []
        for line in self.out:
            size = len(line.encode(errors="replace")) + 1
            if used + size > MAX_STDOUT:
                if not self.state.get("stdout_full"):
                    self.state["stdout_full"] = True
                    keep.append(
                        f"[trainer-sync] stdout.log reached {MAX_STDOUT / MB:.3g} MB; the rest of "
                        "the job's output stays in the Ray dashboard"
                    )
                break
            used += size
            keep.append(line)
        self.state["stdout_bytes"] = used
        if keep:
            path = _target(self.run, "stdout.log")
            _write(path, "".join(ln + "\n" for ln in keep).encode(errors="replace"), "a")


def apply_log(run_dir: Path, job_id: str, log: str) -> dict[str, Any]:
    """Apply the lines of `log` (a job's whole log so far) not applied before; returns the sync
    state: {job_id, offset (characters consumed), ended, rc, wall_s, env, refused,
    refused_first}. A chunked file is applied only when all of its chunks have arrived; an
    unfinished last line waits for the next call. Raises only OSError (the local disk)."""
    with _locked(run_dir):
        state = sync_state(run_dir)
        if state.get("job_id") != job_id:  # a new job (e.g. a resume): its log starts afresh
            state = {"job_id": job_id, "offset": 0, "ended": False, "rc": None}
        pos = done = min(state.get("offset") or 0, len(log))
        applier = _Applier(run_dir, state)
        while (nl := log.find("\n", pos)) >= 0:
            line, pos = log[pos:nl], nl + 1
            applier.line(line)
            if not applier.pending:
                done = pos  # everything before this is applied (or refused)
        applier.flush_output()
        state["offset"] = done
        _write(run_dir / STATE_FILE, json.dumps(state).encode(), "w")
        return state
