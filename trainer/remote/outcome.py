"""How a job on a cluster ended, said in the run folder. No torch, no Ray.

- `remote.json` in each run folder: the launch record (the job's handle: cluster, Ray job id,
  uploads; and the adapter's meta). Written only here, never by a line of the job's log; the
  registry is rebuilt from it when damaged (trainer.registry).
- `settle_state`: the run's final state when its Ray job has ended. A job whose environment
  cannot train (its probe failed, or it never started) is `failed` with one line naming what is
  missing: a resume would fail the same way. A job that ended before the trainer finished is
  `interrupted` (resume continues from the last checkpoint that came back).
- `mark_lost`: a cluster that has not answered for `lost_after_min` leaves the run `lost`.
- `write_meta`: adapter/trainer_meta.json from the launch record, not from the cluster.
"""

from __future__ import annotations

import json
import time
from typing import Any

from trainer.runfolder import META_FILE, TERMINAL, RunFolder, read_json, write_json_atomic

REMOTE_FILE = "remote.json"


def save_record(run: RunFolder, handle: dict[str, Any], meta: dict | None = None) -> None:
    old = load_record(run) or {}
    record = {"handle": handle, "meta": meta if meta is not None else old.get("meta")}
    write_json_atomic(run.path / REMOTE_FILE, record)


def load_record(run: RunFolder) -> dict[str, Any] | None:
    path = run.path / REMOTE_FILE
    record = read_json(path) if path.is_file() and not path.is_symlink() else None
    if not isinstance(record, dict) or not isinstance(record.get("handle"), dict):
        return None
    return record


def env_reason(env: dict[str, Any], python: str) -> str:
    return (
        f"the cluster's Python ({python}) cannot run the trainer: {env.get('missing')} "
        f"({env.get('error') or 'missing'}); install the project's dependencies where the jobs "
        "run (`pip install .` of this repository in the cluster's image) or list them in the "
        "cluster's pip setting, then launch again"
    )


def settle_state(run: RunFolder, handle: dict, info: dict, sync: dict) -> None:
    st = run.status() or {}
    state, status = st.get("state"), info["status"]
    env = sync.get("env")
    python = (handle.get("cluster") or {}).get("python", "python")
    if state == "completed" and status == "SUCCEEDED":
        return
    if isinstance(env, dict) and not env.get("ok"):
        run.write_status("failed", env_reason(env, python), phase="failed")
    elif env is None and status != "STOPPED":
        run.write_status(
            "failed",
            f"the job never started the trainer on the cluster (Ray: {status}: "
            f"{info.get('message') or 'no message'}); check that `{python}` exists there and "
            "has the project's dependencies, then launch again",
            phase="failed",
        )
    elif state not in TERMINAL or state == "interrupted":
        ckpt = run.latest_checkpoint()
        if status == "STOPPED":
            kept = f"; {ckpt.name} kept" if ckpt else " before a checkpoint"
            run.write_status("cancelled", f"the Ray job was stopped{kept}")
        else:
            run.write_status(
                "interrupted",
                f"the Ray job {handle['job_id']} ended ({status}: "
                f"{info.get('message') or ''}) before the run finished; resume "
                f"continues from {ckpt.name if ckpt else 'the start'}",
            )


def mark_lost(run: RunFolder, dashboard: str, silent_s: float, why: str) -> None:
    ckpt = run.latest_checkpoint()
    run.write_status(
        "lost",
        f"the Ray cluster at {dashboard} has not answered for {silent_s / 60:.0f} min ({why}); "
        f"the run is marked lost here. Resume submits it again from "
        f"{ckpt.name if ckpt else 'the start'} (the last checkpoint that came back)",
        phase="lost",
        lost_at=time.time(),
    )


def write_meta(run: RunFolder) -> None:
    """adapter/trainer_meta.json (what predict and export read: task, base model, labels) from
    what this side knew at launch; a completed run without a launch record gets none."""
    record = load_record(run)
    adapter = run.adapter_dir
    if not record or not isinstance(record.get("meta"), dict) or adapter.is_symlink():
        return
    if adapter.is_dir():
        (adapter / META_FILE).unlink(missing_ok=True)  # never a link left by someone else
        (adapter / META_FILE).write_text(json.dumps(record["meta"], indent=2))
