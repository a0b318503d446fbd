"""The bill of a job on a cluster, from what the job measured itself. No torch, no Ray.

The device kind comes from the job's probe (torch's device name and count, trainer.remote.job),
the hours from the job's own wall clock (its end line). What the cluster claims (the GPU kind
asked for, Ray's start and end times) is kept beside it, and a disagreement is written out in
`billing.note`: a job asked to run on an H100 that reports `cpu` is billed as a CPU.
"""

from __future__ import annotations

import re
from typing import Any

from trainer.remote.spec import ClusterSpec
from trainer.runfolder import RunFolder, write_json_atomic

# torch.cuda.get_device_name(...) -> the advisor's GPU names (first match wins).
GPU_NAMES = (
    (r"H100", "H100-80GB"),
    (r"A100.*80", "A100-80GB"),
    (r"A100", "A100-40GB"),
    (r"L40S", "L40S"),
    (r"\bL4\b", "L4"),
    (r"A10G", "A10G"),
    (r"\bT4\b", "T4"),
)
HOURS_TOLERANCE = 0.1  # the cluster's hours may differ from the job's by this fraction


def measured_kind(env: dict[str, Any] | None) -> str | None:
    """The advisor's name for the device the job ran on; None when it said nothing usable."""
    if not env or not env.get("ok"):
        return None
    if env.get("device") != "cuda":
        return "cpu"
    name = str(env.get("gpu_name") or "")
    return next((kind for pat, kind in GPU_NAMES if re.search(pat, name)), None)


def job_bill(spec: ClusterSpec, sync: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    """{hours, gpu_type, price, note, ...} of one job from its sync state (env, wall_s) and
    Ray's job info (start_time, end_time in ms)."""
    env = sync.get("env") if isinstance(sync.get("env"), dict) else {}
    claimed = spec.gpu_type or ("any GPU" if spec.gpus else "cpu")
    device = env.get("device") if env.get("ok") else None
    gpus = min(int(env.get("gpu_count") or 0), spec.gpus) if device == "cuda" else 0
    gpus = spec.gpus if device is None else gpus  # no word from the job: what was asked
    kind, notes = measured_kind(env), []
    if device is None:
        kind = spec.gpu_type if spec.gpus else "cpu"
        notes.append("the job did not say which device it ran on; priced as asked")
    elif kind is None:
        notes.append(f"the job ran on {env.get('gpu_name')!r}, which the price table lacks")
    elif spec.gpus and kind != (spec.gpu_type or kind):
        what = "the CPU" if kind == "cpu" else env.get("gpu_name")
        notes.append(f"asked for {spec.gpus} x {claimed}, the job ran on {what}")
    ray_s = max(_num(info.get("end_time")) - _num(info.get("start_time")), 0.0) / 1000
    wall = sync.get("wall_s")
    if isinstance(wall, int | float) and not isinstance(wall, bool) and wall >= 0:
        seconds, source = float(wall), "the job's own clock"
        if ray_s and abs(ray_s - seconds) > max(HOURS_TOLERANCE * seconds, 60):
            hours = f"{ray_s / 3600:.4f} h, the job {seconds / 3600:.4f} h"
            notes.append(f"the cluster reports {hours}")
    else:
        seconds, source = ray_s, "the cluster's times (the job did not report its own)"
        notes.append("the job did not report its own time")
    if kind is None:
        price = None
    elif kind == (spec.gpu_type if spec.gpus else "cpu") and spec.price_per_hour is not None:
        price = spec.price_per_hour  # the user's own price for what they asked, and got
    else:
        price = price_per_hour(kind or "cpu")
    return {
        "job_id": sync.get("job_id"),
        "device_name": env.get("gpu_name") or device or "unknown",
        "gpu_type": kind or "unknown GPU",
        "gpu_type_claimed": claimed,
        "gpus": gpus,
        "hours": seconds / 3600 * max(gpus, 1),
        "hours_source": source,
        "cluster_hours": round(ray_s / 3600 * max(spec.gpus, 1), 6),
        "price_usd_per_hour": price,
        "note": "; ".join(notes) + ("; billed as measured" if notes else ""),
    }


def record_cost(run: RunFolder, spec: ClusterSpec, sync: dict[str, Any], info: dict) -> None:
    """Measured device-hours of the job (GPU-hours with GPUs) and their cost, into status.json
    and metrics.json (as `cluster`), once per job; a resumed run sums its jobs."""
    st = run.status() or {}
    bill = job_bill(spec, sync, info)
    if not bill["job_id"] or st.get("cost_job_id") == bill["job_id"]:
        return
    prior = float(st.get("device_hours") or 0.0) if st.get("cost_job_id") else 0.0
    prior_cost = float(st.get("cost_usd") or 0.0) if st.get("cost_job_id") else 0.0
    hours_all = round(prior + bill["hours"], 6)
    price = bill["price_usd_per_hour"]
    cost = None if price is None else prior_cost + bill["hours"] * price
    record = {
        "cluster": spec.dashboard,
        "job_id": bill["job_id"],
        "gpus": bill["gpus"],
        "gpu_type": bill["gpu_type"],
        "device_hours": hours_all,
        "gpu_hours": hours_all if bill["gpus"] else 0.0,
        "price_usd_per_hour": price,
        # 6 significant digits, not 6 decimals: a short CPU job costs well under $0.001
        "cost_usd": None if cost is None else float(f"{cost:.6g}"),
        "billing": {
            k: bill[k]
            for k in ("device_name", "gpu_type_claimed", "hours_source", "cluster_hours", "note")
        },  # fmt: skip
    }
    run.update_status(cost_job_id=bill["job_id"], **record)
    final = run.final_metrics()
    if isinstance(final, dict):
        write_json_atomic(run.final_metrics_path, {**final, "cluster": record})


def price_per_hour(gpu: str) -> float | None:
    """The advisor's expected USD per hour for `gpu` (None when it is not in the table)."""
    from advisor import load_assumptions

    try:
        return load_assumptions().gpu(gpu or "cpu").usd_per_hour.expected
    except ValueError:
        return None


def gpu_memory_gb(gpu: str) -> float | None:
    from advisor import load_assumptions

    try:
        return load_assumptions().gpu(gpu).memory_gb
    except ValueError:
        return None


def _num(x: Any) -> float:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else 0.0
