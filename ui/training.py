"""The app's side of training: one trainer.jobs.JobManager per project (cached), the run config
built from the validated data choice, and how a run's status is shown. Training itself runs in a
trainer subprocess; nothing here imports torch."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import streamlit as st

OVERRIDE_WARNING = (
    "Trained against the advisor's verdict: fine-tuning was not justified by the answers and "
    "the gate was overridden by hand. Treat this result as an experiment, not a recommendation."
)
ACTIVE = ("queued", "running")


@st.cache_resource
def manager(runs_dir: str) -> Any:
    """The JobManager of one runs folder; recovers runs whose process died (server restart)."""
    from trainer.jobs import JobManager

    jobs = JobManager(runs_dir)
    jobs.recover()
    return jobs


def run_config(run_dir: Path) -> dict[str, Any]:
    """The run's config.json as saved by the trainer ({} when unreadable)."""
    import json

    try:
        return json.loads((run_dir / "config.json").read_text())
    except (OSError, ValueError):
        return {}


def is_override(config: Mapping[str, Any] | None) -> bool:
    return bool((config or {}).get("gate_override"))


def show_override_banner(config: Mapping[str, Any] | None) -> None:
    """The override warning, on every result an overridden run produced."""
    if is_override(config):
        st.warning(OVERRIDE_WARNING, icon=":material/warning:")


def progress_of(status: Mapping[str, Any], rows: list[Mapping[str, Any]]) -> tuple[float, str]:
    """(fraction done, one-line text) from the job status (and the latest metrics row)."""
    state = status.get("state") or "unknown"
    if state == "completed":
        return 1.0, "completed"
    last = rows[-1] if rows else {}
    step = status.get("step", last.get("step"))
    total = status.get("total_steps") or last.get("total_steps")
    fraction = float(status.get("progress") or (step / total if step and total else 0.0))
    parts = [f"{state} ({status.get('phase') or 'starting'})"]
    if state == "queued" and status.get("queue_position"):
        parts.append(f"position {status['queue_position']} in the queue")
    if step is not None and total:
        parts.append(f"step {step} of {total}")
    if last.get("loss") is not None:
        parts.append(f"loss {last['loss']:.3f}")
    if last.get("samples_per_s"):
        parts.append(f"{last['samples_per_s']:.1f} samples/s")
    eta = status.get("eta_s", last.get("eta_s"))
    if eta is not None and state == "running":
        parts.append(f"ETA {eta:,.0f} s")
    if status.get("predicted_train_s") is not None and state == "running":
        parts.append(f"re-estimated training time {status['predicted_train_s']:,.0f} s")
    if status.get("reason") and state != "running":
        parts.append(str(status["reason"]))
    return min(max(fraction, 0.0), 1.0), " · ".join(parts)


def make_config(project: Any, choice: Any, **settings: Any) -> Any:
    """A TrainConfig for the validated data choice, on the same split as the baseline.

    settings: base_model, epochs, max_steps (0 = none), batch_size, gate_override.
    Raises ValueError (from TrainConfig) naming the field.
    """
    from trainer.config import TrainConfig

    return TrainConfig(
        train=choice.train,
        test=choice.test or None,
        text_col=choice.text_col,
        label_col=choice.label_col,
        task=choice.split_task or "auto",
        base_model=settings["base_model"].strip() or "auto",
        epochs=float(settings["epochs"]),
        max_steps=settings["max_steps"] or None,
        batch_size=settings["batch_size"],
        runs_dir=str(project.runs_dir),
        split_dir=str(project.splits_dir),
        gate_override=bool(settings["gate_override"]),
    )


def live_status(project: Any, run_id: str) -> None:
    """Status, progress bar, ETA, loss curve, cancel / resume; polls every 2 s while active."""
    jobs = manager(str(project.runs_dir))
    was_active = ((jobs.status(run_id) or {}).get("state") or "") in ACTIVE

    @st.fragment(run_every=2.0 if was_active else None)
    def poll() -> None:
        status = jobs.status(run_id) or {}
        _live_body(jobs, project, run_id, status)
        if was_active and status.get("state") not in ACTIVE:
            st.rerun()  # the run ended: rerun the page once, which stops the polling

    poll()


def _live_body(jobs: Any, project: Any, run_id: str, status: Mapping[str, Any]) -> None:
    from ui import charts

    config = run_config(Path(project.runs_dir) / run_id)
    show_override_banner(config)
    rows = jobs.metrics(run_id)
    fraction, text = progress_of(status, rows)
    st.progress(fraction, text=text)
    state_ = status.get("state", "unknown")
    if state_ in ("failed", "interrupted", "cancelled") and status.get("reason"):
        st.error(f"Run {state_}: {status['reason']}")
    c1, c2, _ = st.columns([1, 1, 4])
    if c1.button("Cancel", disabled=state_ not in ACTIVE, key=f"cancel_{run_id}"):
        jobs.cancel(run_id, wait=False)  # SIGTERM now; the poller shows the outcome
        st.rerun(scope="fragment")
    if c2.button(
        "Resume",
        disabled=state_ not in ("cancelled", "interrupted", "failed"),
        key=f"resume_{run_id}",
    ):
        jobs.resume(run_id)
        st.rerun()  # whole page: the poller starts again
    if rows:
        st.altair_chart(charts.loss_curve(rows), width="stretch")
    final = jobs.final_metrics(run_id)
    if final:
        show_final(final)


def show_final(final: Mapping[str, Any]) -> None:
    """Held-out scores of a finished run and its predicted against actual training time."""
    cols = st.columns(4)
    if "accuracy" in final:
        ci = final.get("accuracy_ci95") or [None, None]
        cols[0].metric(
            "Held-out accuracy", f"{final['accuracy']:.3f}", help=f"95% interval {ci[0]} – {ci[1]}"
        )
        cols[1].metric("Macro-F1", f"{final.get('macro_f1', float('nan')):.3f}")
    predicted, actual = final.get("predicted_train_s"), final.get("train_s")
    if predicted is not None:
        cols[2].metric("Predicted training time", f"{predicted:,.0f} s")
    if actual is not None:
        cols[3].metric("Actual training time", f"{actual:,.0f} s")


def predict(config: Any, choice: Any, answers: Any, assumptions: Any) -> dict[str, Any]:
    """The advisor's prediction for this trial on this device, before launch.

    Work = examples actually seen (epochs x training examples, or max_steps x batch size) x
    their mean length (≈ 1.33 tokens per word); the model size comes from the trainer's table
    of shipped models. Returns seconds (low/expected/high), memory GB and compute USD, or {}
    when the base model's size is unknown.
    """
    import dataclasses
    import math

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
    trial = dataclasses.replace(
        answers,
        base_model_params_b=size.total / 1e9,
        method=config.method,
        epochs=1,
        avg_input_tokens=max(1, round(choice.mean_words * 4 / 3)),
        avg_output_tokens=1 if task == "classification" else answers.avg_output_tokens,
    )
    est = training_estimate(trial, assumptions, gpu=gpu, n_examples=seen)
    seconds = est.train_hours.scale(3600)
    price = assumptions.gpu(gpu).usd_per_hour
    return {
        "device": device,
        "gpu": gpu,
        "examples": seen,
        "seconds": seconds.to_dict(1),
        "memory_gb": est.memory.total.to_dict(3),
        "usd": (est.train_hours * price).to_dict(6),
    }


def show_prediction(prediction: Mapping[str, Any]) -> None:
    """Predicted time, memory and cost of the trial, shown before launch."""
    if not prediction:
        st.info("No prediction for this base model: its size is not in the trainer's table.")
        return
    sec, mem, usd = prediction["seconds"], prediction["memory_gb"], prediction["usd"]
    c1, c2, c3 = st.columns(3)
    c1.metric(
        "Predicted training time",
        f"{sec['expected']:,.0f} s",
        help=f"Range {sec['low']:,.0f} – {sec['high']:,.0f} s on {prediction['device']} for "
        f"{prediction['examples']:,} examples; the trainer re-estimates after its first steps.",
    )
    c2.metric(
        "Predicted memory",
        f"{mem['expected']:.2f} GB",
        help="Weights, optimizer, activations and overhead, from the advisor's memory model.",
    )
    c3.metric(
        "Predicted compute cost",
        f"${usd['expected']:.4f}",
        help=f"At the advisor's price for '{prediction['gpu']}' "
        f"(range ${usd['low']:.4f} – ${usd['high']:.4f}).",
    )
