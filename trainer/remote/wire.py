"""The sync lines of a job's log: what a line may say, and the checks on it. No torch, no Ray.

A cluster reached only through its dashboard (Ray Jobs) shares no disk with this machine; the
job's log is the one channel both sides have. The job (trainer.remote.job) prints its run
folder's changes as lines `@@trainer-sync ` + one JSON object, made by `encode`, `env_line` and
`end_line` here; trainer.remote.protocol applies them to the local run folder. The log comes from
the cluster and is untrusted: every line is data, checked here (`parse`, `checked_content`).

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
merged over the local one (`merged_status`): what only this side knows (the cluster, the job, the
bill, the run's id) stays.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARK = "@@trainer-sync "
CHUNK = 48 * 1024  # raw bytes per line (64 KiB of base64)
MAX_LINE = 72 * 1024  # a marked line longer than this is refused before it is parsed
MAX_METRIC_LINE = 64 * 1024
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

    from core.predictions import (
        spreadsheet_safe,  # the app side only: pandas is loaded there anyway
    )

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
