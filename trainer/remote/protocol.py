"""The run folder over a job's log: what a line of the log may say, and nothing more.
No torch, no Ray.

A cluster reached only through its dashboard (Ray Jobs) shares no disk with this machine; the
job's log is the one channel both sides have. The job (trainer.remote.job) prints its run
folder's changes as lines `@@trainer-sync ` + one JSON object; this module turns them back into
files. The log comes from the cluster and is untrusted: every line is data, checked here.

What a line may be (anything else is refused):
    {"f": FILE, "o": "w", "b": BASE64}                    replace FILE
    {"f": "metrics.jsonl", "o": "a", "b": BASE64}         append whole JSON-object lines
    {"f": FILE, "o": "w", "b": ..., "c": 0, "n": 3}       chunk 0 of 3 (printed in a row)
    {"o": "env", "ok": true, "device": "cuda", "gpu_name": "NVIDIA L4", "gpu_count": 1}
    {"o": "env", "ok": false, "missing": "torch", "error": "No module named 'torch'"}
    {"o": "end", "rc": 0, "wall_s": 812.5}                the trainer exited

FILE is one of RULES (status.json, metrics.jsonl, metrics.json, predictions.csv, adapter/NAME,
checkpoints/step-N/NAME), each with a size cap; never config.json, trainer_meta.json,
data_record.json, the registry, a hidden file or anything outside the run folder. status.json is
merged over the local one: what only this side knows (the cluster, the job, the bill, the run's
id) stays. A refused line is skipped and counted; the first refusal is said once in stdout.log
and status.json (`sync_refused`); nothing a line says raises. Other lines are the trainer's own
output and go to stdout.log, up to MAX_STDOUT bytes.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARK = "@@trainer-sync "
CHUNK = 48 * 1024  # raw bytes per line (64 KiB of base64)
MAX_LINE = 72 * 1024  # a marked line longer than this is refused before it is parsed
MAX_STDOUT = 16 * 1024 * 1024
MAX_METRIC_LINE = 64 * 1024
STATE_FILE = ".sync.json"
MB = 1024 * 1024
# What the remote status may claim; `interrupted` and `lost` are this side's verdicts.
REMOTE_STATES = ("queued", "running", "completed", "failed", "cancelled")
# status.json fields only this side writes: a job's status.json never changes them.
LOCAL_KEYS = (
    "run_id", "cluster", "job_id", "cluster_attempt", "cluster_settled", "cluster_check",
    "cluster_note", "cluster_seen_at", "cost_job_id", "device_hours", "gpu_hours", "cost_usd",
    "price_usd_per_hour", "gpus", "gpu_type", "created_at", "billing", "sync_refused",
    "sync_refused_first", "managed", "pid", "pid_start", "gate_override",
)  # fmt: skip
NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}"
SAFE_SUFFIXES = r"\.(safetensors|json|txt|md|model)"


@dataclass(frozen=True)
class Rule:
    pattern: str  # the whole relative path
    ops: str  # "w" replace, "a" append
    max_bytes: int  # the file's size cap
    kind: str  # "json": an object; "jsonl": object lines; "csv": id,gold,pred; "bytes": any


RULES: tuple[Rule, ...] = (
    Rule("status.json", "w", 64 * 1024, "json"),
    Rule("metrics.jsonl", "a", 64 * MB, "jsonl"),
    Rule("metrics.json", "w", 8 * MB, "json"),
    Rule("predictions.csv", "w", 128 * MB, "csv"),
    # the adapter as trainer.finalize exports it, less trainer_meta.json (written here)
    Rule(rf"adapter/(?!trainer_meta\.json$){NAME}{SAFE_SUFFIXES}", "w", 256 * MB, "bytes"),
    Rule(r"checkpoints/step-[0-9]{1,9}/(trainable\.safetensors|optim\.pt)", "w", 256 * MB, "bytes"),
    Rule(r"checkpoints/step-[0-9]{1,9}/state\.json", "w", 64 * 1024, "json"),
)


class Refused(ValueError):
    """A line of the log that is not one the protocol accepts (the message says why)."""


def rule_for(rel: Any) -> Rule:
    """The rule a relative path falls under; Refused when none does."""
    if not isinstance(rel, str) or len(rel) > 200:
        raise Refused("a file name that is not a short string")
    for rule in RULES:
        if re.fullmatch(rule.pattern, rel):
            return rule
    raise Refused(f"{rel!r} is not a file the job may send")


def accepts(rel: str) -> bool:
    try:
        rule_for(rel)
        return True
    except Refused:
        return False


# --- the job side ---------------------------------------------------------------------------


def encode(rel: str, data: bytes, op: str = "w") -> Iterator[str]:
    """The lines that carry `data` for file `rel` (relative to the run folder)."""
    n = max(1, -(-len(data) // CHUNK))
    for i in range(n):
        part = base64.b64encode(data[i * CHUNK : (i + 1) * CHUNK]).decode()
        msg: dict[str, Any] = {"f": rel, "o": op, "b": part}
        if n > 1:
            msg.update(c=i, n=n)
        yield MARK + json.dumps(msg, separators=(",", ":"))


def end_line(rc: int, wall_s: float | None = None) -> str:
    msg: dict[str, Any] = {"o": "end", "rc": rc}
    if wall_s is not None:
        msg["wall_s"] = round(wall_s, 3)
    return MARK + json.dumps(msg)


def env_line(report: dict[str, Any]) -> str:
    return MARK + json.dumps({"o": "env", **report})


# --- the checks -----------------------------------------------------------------------------


def parse(line: str) -> dict[str, Any]:
    """One marked line -> a checked message; Refused otherwise."""
    if len(line) > MAX_LINE:
        raise Refused(f"a line of {len(line)} characters (at most {MAX_LINE})")
    try:
        msg = json.loads(line[len(MARK) :])
    except ValueError:
        raise Refused("a line that is not JSON") from None
    if not isinstance(msg, dict):
        raise Refused(f"a line that is a JSON {type(msg).__name__}, not an object")
    op = msg.get("o")
    if op == "end":
        return _checked(msg, {"o": str, "rc": int}, {"wall_s": float})
    if op == "env":
        return _checked_env(msg)
    if op not in ("w", "a"):
        raise Refused(f"an unknown kind of line {str(op)[:20]!r}")
    msg = _checked(msg, {"f": str, "o": str, "b": str}, {"c": int, "n": int})
    rule = rule_for(msg["f"])
    if op not in rule.ops:
        raise Refused(f"{msg['f']!r} cannot be written with {op!r}")
    if ("c" in msg) != ("n" in msg):
        raise Refused("a chunk without its number or count")
    if "n" in msg:
        n, c = msg["n"], msg["c"]
        if not (2 <= n <= -(-rule.max_bytes // CHUNK) and 0 <= c < n) or op != "w":
            raise Refused(f"chunk {c} of {n} for {msg['f']!r}")
    try:
        msg["data"] = base64.b64decode(msg["b"], validate=True)
    except (binascii.Error, ValueError):
        raise Refused(f"data for {msg['f']!r} that is not base64") from None
    if len(msg["data"]) > CHUNK:
        raise Refused(f"a chunk of {len(msg['data'])} bytes (at most {CHUNK})")
    return msg


def _checked(msg: dict, need: dict[str, type], may: dict[str, type]) -> dict[str, Any]:
    extra = set(msg) - set(need) - set(may)
    if extra:
        raise Refused(f"unknown field {sorted(extra)[0][:20]!r}")
    for key, kind in [*need.items(), *((k, t) for k, t in may.items() if k in msg)]:
        value = msg.get(key)
        ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
        if kind is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
        if not ok:
            raise Refused(f"field {key!r} must be {kind.__name__}")
    return msg


def _checked_env(msg: dict) -> dict[str, Any]:
    may = {"missing": str, "error": str, "device": str, "gpu_name": str, "python": str}
    _checked(msg, {"o": str}, {**may, "ok": bool, "gpu_count": int})
    if not isinstance(msg.get("ok"), bool):
        raise Refused("an env line without ok: true|false")
    for key in may:
        if key in msg:
            msg[key] = " ".join(msg[key].split())[:300]
    if msg.get("device", "cpu") not in ("cpu", "cuda", "mps"):
        raise Refused(f"an unknown device {msg['device'][:20]!r}")
    if not 0 <= msg.get("gpu_count", 0) <= 64:
        raise Refused("a GPU count outside 0..64")
    return msg


def checked_content(rule: Rule, rel: str, data: bytes, existing: int = 0) -> bytes:
    """The whole file (or the appended part) against its rule's size and kind; returns what to
    write (a CSV with its cells made safe for a spreadsheet)."""
    if existing + len(data) > rule.max_bytes:
        raise Refused(f"{rel!r} would be {existing + len(data)} bytes (cap {rule.max_bytes})")
    if rule.kind == "json":
        try:
            obj = json.loads(data)
        except ValueError:
            raise Refused(f"{rel!r} that is not JSON") from None
        if not isinstance(obj, dict):
            raise Refused(f"{rel!r} that is not a JSON object")
    elif rule.kind == "jsonl":
        if not data.endswith(b"\n"):
            raise Refused(f"{rel!r} lines without their end")
        for row in data.splitlines():
            try:
                ok = len(row) <= MAX_METRIC_LINE and isinstance(json.loads(row), dict)
            except ValueError:
                ok = False
            if not ok:
                raise Refused(f"a {rel!r} line that is not a JSON object")
    elif rule.kind == "csv":
        return _safe_predictions(rel, data)
    return data


def _safe_predictions(rel: str, data: bytes) -> bytes:
    """id,gold,pred rows as the trainer writes them; a cell that a spreadsheet would run as a
    formula is escaped here again (the job's side may not have)."""
    import csv
    import io

    from core.data import spreadsheet_safe  # the app side only: pandas is loaded there anyway

    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error):
        raise Refused(f"{rel!r} that is not UTF-8 CSV") from None
    if not rows or rows[0] != ["id", "gold", "pred"] or any(len(r) != 3 for r in rows):
        raise Refused(f"{rel!r} that is not id,gold,pred rows")
    out = io.StringIO()
    csv.writer(out).writerows([rows[0], *([spreadsheet_safe(c) for c in r] for r in rows[1:])])
    return out.getvalue().encode()


def merged_status(local_path: Path, data: bytes) -> bytes:
    """The job's status.json over the local one: LOCAL_KEYS stay as this side wrote them; the
    job's pid is kept as `remote_pid` (it names a process on another machine)."""
    remote = json.loads(data)
    if remote.get("state") not in REMOTE_STATES:
        raise Refused(f"a status with state {str(remote.get('state'))[:20]!r}")
    try:
        local = json.loads(local_path.read_text())
        local = local if isinstance(local, dict) else {}
    except (OSError, ValueError):
        local = {}
    if isinstance(remote.get("pid"), int):
        remote["remote_pid"] = remote["pid"]
    merged = {**local, **{k: v for k, v in remote.items() if k not in LOCAL_KEYS}}
    merged.update({k: local[k] for k in LOCAL_KEYS if k in local})
    merged["run_id"] = local_path.parent.name
    return json.dumps(merged, indent=2).encode()


# --- the app side ---------------------------------------------------------------------------


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
