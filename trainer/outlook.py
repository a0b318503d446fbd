"""What to expect from a trial run, and how it went: the pure facts the app shows about a run.

No streamlit, no torch. The app (ui/training*.py) renders these; the trainer writes the status
and metrics they read. Held here:

- the run config the app's settings make (`make_config`), its steps and real epochs;
- the prediction made before launch (`predict`, kept in the run folder as prediction.json) and
  predicted vs measured time, compute cost and peak memory;
- the one-line progress text of a status (state, phase, step, loss, ETA from the first report);
- readable dates.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ACTIVE = ("queued", "running")
# Phases before the first optimizer step. The trainer may write its estimate of what is left
# of them as `phase_eta_s` (seconds, from the phase's start: `phase_started_at`); until the first
# step's measured ETA, that estimate plus the prediction's training time is the ETA shown.
STARTING = ("starting", "loading", "warm_start")
PREDICTION_FILE = "prediction.json"  # the advisor's prediction, saved by the app at launch


# --- the run config the app's settings make ---------------------------------------------------
def config_defaults() -> Any:
    """TrainConfig's field defaults (an object with one attribute per field)."""
    import dataclasses
    from types import SimpleNamespace

    from trainer.config import TrainConfig

    return SimpleNamespace(**{f.name: f.default for f in dataclasses.fields(TrainConfig)})


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    return math.ceil(max(n_train, 1) / max(batch_size, 1))


def planned_steps(n_train: int, settings: Mapping[str, Any]) -> int:
    """Optimizer steps the settings ask for (epochs x batches per epoch, capped by max_steps)."""
    batch = max(int(settings.get("batch_size") or 1), 1)
    steps = math.ceil(float(settings.get("epochs") or 1) * steps_per_epoch(n_train, batch))
    return min(steps, int(settings["max_steps"])) if settings.get("max_steps") else steps


def effective_epochs(n_train: int, settings: Mapping[str, Any]) -> float:
    """Passes over the training examples the run really makes (max steps may stop it early)."""
    batch = max(int(settings.get("batch_size") or 1), 1)
    return planned_steps(n_train, settings) * batch / max(n_train, 1)


def make_config(project: Any, choice: Any, **settings: Any) -> Any:
    """A TrainConfig for the validated data choice, on the same split as the baseline.

    settings: base_model, epochs, max_steps (0 = none), batch_size, gate_override; optional
    lr, lora_r, method (the plan's; qlora needs CUDA, so the page passes lora on CPU). Short
    runs log a loss point every step or two and check the held-out loss (on 128 held-out
    examples) about six times. Raises ValueError (from TrainConfig) naming the field.
    """
    from trainer.config import TrainConfig

    defaults = config_defaults()
    steps = planned_steps(choice.n_train, settings)
    return TrainConfig(
        lr=float(settings.get("lr") or defaults.lr),
        lora_r=int(settings.get("lora_r") or defaults.lora_r),
        log_every=max(1, min(defaults.log_every, steps // 50)),
        eval_every=max(1, steps // 6) if steps else 0,
        eval_samples=128,
        train=choice.train,
        test=choice.test or None,
        text_col=choice.text_col,
        label_col=choice.label_col,
        task=choice.split_task or "auto",
        base_model=settings["base_model"].strip() or "auto",
        method=settings.get("method") or "lora",
        epochs=float(settings["epochs"]),
        max_steps=settings["max_steps"] or None,
        batch_size=settings["batch_size"],
        runs_dir=str(project.runs_dir),
        split_dir=str(project.splits_dir),
        gate_override=bool(settings["gate_override"]),
    )


def run_config(run_dir: Path) -> dict[str, Any]:
    """The run's config.json as saved by the trainer ({} when unreadable)."""
    try:
        data = json.loads((Path(run_dir) / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def is_override(config: Mapping[str, Any] | None) -> bool:
    return bool((config or {}).get("gate_override"))


# --- the prediction before launch, and what was measured --------------------------------------
def predict(
    config: Any, choice: Any, answers: Any, assumptions: Any, cluster: Any = None
) -> dict[str, Any]:
    """The advisor's prediction for this trial on this device (or on the GPU chosen on a Ray
    `cluster`, a trainer.remote.spec.ClusterSpec), before launch.

    Work = examples actually seen (epochs x training examples, or max_steps x batch size) x
    their mean length (≈ 1.33 tokens per word); the model size comes from the trainer's table
    of shipped models. Returns seconds (low/expected/high), memory GB and compute USD, or {}
    when the base model's size is unknown.
    """
    import dataclasses

    from advisor import training_estimate
    from trainer.estimate import known_model_size
    from trainer.jobs import device_key

    task = choice.split_task or "classification"
    size = known_model_size(config.resolved_base_model(task))
    if size is None:
        return {}
    seen = math.ceil(config.epochs * choice.n_train)
    if config.max_steps:
        seen = min(seen, config.max_steps * config.batch_size)
    device = device_key(config.device)
    gpu = "cpu" if device == "cpu" else answers.gpu
    if cluster is not None:  # the cluster's device and price, not this machine's
        device = "cuda" if cluster.gpus else "cpu"
        gpu = (cluster.gpu_type or answers.gpu) if cluster.gpus else "cpu"
    trial = dataclasses.replace(
        answers,
        base_model_params_b=size.total / 1e9,
        method=config.method,
        epochs=1,
        avg_input_tokens=max(1, round(choice.mean_words * 4 / 3)),
        avg_output_tokens=1 if task == "classification" else answers.avg_output_tokens,
    )
    est = training_estimate(trial, assumptions, gpu=gpu, n_examples=seen)
    price = assumptions.gpu(gpu).usd_per_hour
    return {
        "device": device,
        "gpu": gpu,
        "examples": seen,
        "seconds": est.train_hours.scale(3600).to_dict(1),
        "memory_gb": est.memory.total.to_dict(3),
        "usd": (est.train_hours * price).to_dict(6),
        "usd_per_hour": price.expected,
    }


def save_prediction(run_dir: Path, prediction: Mapping[str, Any]) -> None:
    """Keep the prediction made before launch with the run: it stays 'the prediction'; what
    the trainer re-estimates later is only an ETA."""
    if prediction:
        (Path(run_dir) / PREDICTION_FILE).write_text(json.dumps(dict(prediction), indent=2))


def launch_prediction(run_dir: Path) -> dict[str, Any]:
    """The prediction saved at launch ({} for runs launched elsewhere)."""
    try:
        data = json.loads((Path(run_dir) / PREDICTION_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def with_launch_prediction(final: Mapping[str, Any], run_dir: Path) -> dict[str, Any]:
    """Final metrics whose `predicted_train_s` is the prediction made before launch (the
    trainer's calibrated re-estimate stays under `trainer_estimate_s`), so every page prices
    the same predicted seconds."""
    out = dict(final)
    seconds = (launch_prediction(run_dir).get("seconds") or {}).get("expected")
    if seconds is not None:
        out["trainer_estimate_s"] = out.get("predicted_train_s")
        out["predicted_train_s"] = seconds
    return out


def compute_usd(seconds: float | None, usd_per_hour: float | None) -> float | None:
    """The one compute-cost formula: seconds on the device x its hourly price."""
    if seconds is None or usd_per_hour is None:
        return None
    return seconds / 3600 * usd_per_hour


def _fmt(value: float | None, pattern: str) -> str:
    return "—" if value is None else pattern.format(value)


def predicted_vs_actual(
    final: Mapping[str, Any], prediction: Mapping[str, Any]
) -> list[dict[str, str]]:
    """Rows (what, predicted before launch, measured) for time, compute cost and peak memory."""
    sec = (prediction.get("seconds") or {}).get("expected")
    price = prediction.get("usd_per_hour")
    mem = (prediction.get("memory_gb") or {}).get("expected")
    peaks = final.get("peak_memory_gb") or {}
    peak = peaks.get("cuda_gb") or peaks.get("cpu_rss_gb")
    rss = " (process RSS)" if peak and "cuda_gb" not in peaks else ""
    return [
        {
            "": "Training time",
            "predicted before launch": _fmt(sec, "{:,.0f} s"),
            "measured": _fmt(final.get("train_s"), "{:,.0f} s"),
        },
        {
            "": "Compute cost",
            "predicted before launch": _fmt(compute_usd(sec, price), "${:,.4f}"),
            "measured": _fmt(compute_usd(final.get("train_s"), price), "${:,.4f}"),
        },
        {
            "": "Peak memory",
            "predicted before launch": _fmt(mem, "{:.2f} GB"),
            "measured": _fmt(peak, "{:.2f} GB") + rss,
        },
    ]


# --- progress of a running job ----------------------------------------------------------------
def eta_seconds(
    status: Mapping[str, Any],
    last: Mapping[str, Any],
    prediction: Mapping[str, Any] | None = None,
    now: float | None = None,
) -> float | None:
    """Seconds left: the trainer's ETA once it reported one; before that, what is left of the
    loading phases (the trainer's `phase_eta_s`) plus the training time predicted at launch
    (less what training already took); None when neither is known."""
    eta = status.get("eta_s", last.get("eta_s"))
    if isinstance(eta, int | float):
        return max(float(eta), 0.0)
    phase = status.get("phase") or "starting"
    train = ((prediction or {}).get("seconds") or {}).get("expected")
    if phase == "training" and isinstance(train, int | float):  # before the first report
        since = status.get("phase_started_at")
        spent = (now or time.time()) - since if isinstance(since, int | float) else 0.0
        return max(float(train) - max(spent, 0.0), 0.0)
    if phase not in STARTING:
        return None
    left = _phase_left(status, now)
    if left is None and train is None:
        return None
    return (left or 0.0) + (train or 0.0)


def _phase_left(status: Mapping[str, Any], now: float | None) -> float | None:
    est = status.get("phase_eta_s")
    if not isinstance(est, int | float):
        return None
    since = status.get("phase_started_at") or status.get("updated_at")
    spent = (now or time.time()) - since if isinstance(since, int | float) else 0.0
    return max(float(est) - max(spent, 0.0), 0.0)


def progress_of(
    status: Mapping[str, Any],
    rows: list[Mapping[str, Any]],
    prediction: Mapping[str, Any] | None = None,
    now: float | None = None,
) -> tuple[float, str]:
    """(fraction done, one-line text) from the job status (and the latest metrics row)."""
    state = status.get("state") or "unknown"
    if state == "completed":
        return 1.0, "completed"
    last = rows[-1] if rows else {}
    step = status.get("step", last.get("step"))
    total = status.get("total_steps") or last.get("total_steps")
    fraction = float(status.get("progress") or (step / total if step and total else 0.0))
    phase = status.get("phase") or "starting"
    label = state if phase == state else f"{state} ({phase})"
    left = _phase_left(status, now) if state == "running" and phase in STARTING else None
    if left is not None:
        label = f"{state} ({phase.replace('_', ' ')}, est. {left:,.0f} s)"
    parts = [label]
    if state == "queued" and status.get("queue_position"):
        parts.append(f"position {status['queue_position']} in the queue")
    if step is not None and total:
        parts.append(f"step {step} of {total}")
    if last.get("loss") is not None:
        parts.append(f"loss {last['loss']:.3f}")
    if last.get("samples_per_s"):
        parts.append(f"{last['samples_per_s']:.1f} training examples/s")
    eta = eta_seconds(status, last, prediction, now) if state == "running" else None
    if eta is not None:
        parts.append(f"ETA {eta:,.0f} s")
    if status.get("reason") and state not in ("running", "cancelled"):
        parts.append(str(status["reason"]))
    return min(max(fraction, 0.0), 1.0), " · ".join(parts)


def outcome_message(status: Mapping[str, Any]) -> str:
    """One line for a run that stopped: a cancel the user asked for is not an error, and the
    app offers Resume rather than a terminal command."""
    state_ = status.get("state")
    step, total = status.get("step"), status.get("total_steps")
    where = f" at step {step} of {total}" if step and total else ""
    if state_ == "cancelled":
        if step:
            return (
                f"Cancelled{where}. The checkpoint of step {step} is saved: "
                f"Resume continues from there."
            )
        return "Cancelled before the first training step; Resume starts it from the beginning."
    if state_ == "interrupted":
        return (
            f"Interrupted{where}: the training process ended unexpectedly. Resume continues "
            "from the last checkpoint."
        )
    if state_ == "failed":
        return f"Failed{where}: {status.get('reason') or 'see stdout.log in the run folder'}"
    if state_ == "lost":  # a cluster that stopped answering (trainer.remote.outcome)
        return f"Lost{where}: {status.get('reason') or 'the cluster stopped answering'}"
    return ""


# --- dates ------------------------------------------------------------------------------------
def human_time(ts: float | None) -> str:
    """'29 Nov 2026 21:27' (server's local time) from a Unix time stamp; '—' when missing."""
    if not ts:
        return "—"
    return time.strftime("%d %b %Y %H:%M", time.localtime(float(ts))).lstrip("0")


def with_human_times(status: Mapping[str, Any]) -> dict[str, Any]:
    """The status with its Unix time stamps (created_at, started_at, ...) as readable dates."""
    return {
        k: human_time(v) if k.endswith("_at") and isinstance(v, int | float) else v
        for k, v in status.items()
    }


def run_label(run: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """How a run is named in pickers: the user's name (or the run id) and when it started."""
    run_id = run["run_id"]
    name = names.get(run_id)
    title = f"{name} ({run_id})" if name else run_id
    return f"{title} · {human_time(run.get('created_at') or run.get('started_at'))}"
