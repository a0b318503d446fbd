"""The app's side of training: one trainer.jobs.JobManager per project (cached), the run config
built from the validated data choice, and how a run's status is shown. Training itself runs in a
trainer subprocess; nothing here imports torch."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import streamlit as st

from ui.safe import plain

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
    phase = status.get("phase") or "starting"
    parts = [state if phase == state else f"{state} ({phase})"]
    if state == "queued" and status.get("queue_position"):
        parts.append(f"position {status['queue_position']} in the queue")
    if step is not None and total:
        parts.append(f"step {step} of {total}")
    if last.get("loss") is not None:
        parts.append(f"loss {last['loss']:.3f}")
    if last.get("samples_per_s"):
        parts.append(f"{last['samples_per_s']:.1f} training examples/s")
    eta = status.get("eta_s", last.get("eta_s"))
    if eta is not None and state == "running":
        parts.append(f"ETA {eta:,.0f} s")
    if status.get("reason") and state not in ("running", "cancelled"):
        parts.append(str(status["reason"]))
    return min(max(fraction, 0.0), 1.0), " · ".join(parts)


def make_config(project: Any, choice: Any, **settings: Any) -> Any:
    """A TrainConfig for the validated data choice, on the same split as the baseline.

    settings: base_model, epochs, max_steps (0 = none), batch_size, gate_override; optional
    lr, lora_r, method (the plan's; qlora needs CUDA, so the page passes lora on CPU). Short
    runs log a loss point every step or two and check the held-out loss (on 128 held-out
    examples) about six times. Raises ValueError (from TrainConfig)
    naming the field.
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


def config_defaults() -> Any:
    """TrainConfig's field defaults (an object with one attribute per field)."""
    import dataclasses
    from types import SimpleNamespace

    from trainer.config import TrainConfig

    return SimpleNamespace(**{f.name: f.default for f in dataclasses.fields(TrainConfig)})


def advanced_settings(n_train: int, batch_size: int) -> dict[str, Any]:
    """Epochs, learning rate and LoRA rank, folded away with their defaults explained."""
    import math

    d = config_defaults()
    per_epoch = math.ceil(max(n_train, 1) / max(batch_size, 1))
    with st.expander("Advanced: epochs, learning rate, LoRA rank"):
        st.caption(
            "The defaults suit a first trial; change them when the loss curve says so (still "
            "falling at the end: more epochs; jumping around: a lower learning rate)."
        )
        c1, c2, c3 = st.columns(3)
        epochs = c1.number_input(
            "Epochs",
            value=3.0,
            step=1.0,
            key="ft_epochs",
            help=f"Passes over the training examples. Default 3: one pass is {per_epoch:,} "
            "steps here; small data sets need a few passes, more risks memorising them. "
            "Max steps, when set, stops earlier.",
        )
        lr = c2.number_input(
            "Learning rate",
            value=d.lr,
            step=1e-4,
            format="%.4f",
            key="ft_lr",
            help=f"Step size for the LoRA adapters. Default {d.lr:g}: LoRA adapters start at "
            f"zero and take larger steps than full fine-tuning (about 2e-5); the "
            f"classification head uses {d.head_lr:g}.",
        )
        lora_r = c3.number_input(
            "LoRA rank",
            value=d.lora_r,
            step=4,
            min_value=1,
            key="ft_lora_r",
            help=f"Width of the low-rank adapters. Default {d.lora_r}: enough for a narrow "
            "task; 4-8 trains fewer weights, 32-64 learns more at a higher cost.",
        )
    return {"epochs": epochs, "lr": lr, "lora_r": int(lora_r)}


def planned_steps(n_train: int, settings: Mapping[str, Any]) -> int:
    """Optimizer steps the settings ask for (epochs x batches per epoch, capped by max_steps)."""
    import math

    batch = max(int(settings.get("batch_size") or 1), 1)
    steps = math.ceil(float(settings.get("epochs") or 1) * math.ceil(max(n_train, 1) / batch))
    return min(steps, int(settings["max_steps"])) if settings.get("max_steps") else steps


def human_time(ts: float | None) -> str:
    """'29 Nov 2026 21:27' (server's local time) from a Unix time stamp; '—' when missing."""
    import time

    if not ts:
        return "—"
    return time.strftime("%d %b %Y %H:%M", time.localtime(float(ts))).lstrip("0")


def run_label(run: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """How a run is named in pickers: the user's name (or the run id) and when it started."""
    run_id = run["run_id"]
    name = names.get(run_id)
    title = f"{name} ({run_id})" if name else run_id
    return f"{title} · {human_time(run.get('created_at') or run.get('started_at'))}"


def with_human_times(status: Mapping[str, Any]) -> dict[str, Any]:
    """The status with its Unix time stamps (created_at, started_at, ...) as readable dates."""
    return {
        k: human_time(v) if k.endswith("_at") and isinstance(v, int | float) else v
        for k, v in status.items()
    }


def runs_table(project: Any, jobs: Any, runs: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per run for the Runs page: name, dates, state, settings and held-out scores."""
    names = project.run_names()
    rows = []
    for r in runs:
        config = run_config(Path(project.runs_dir) / r["run_id"])
        final = jobs.final_metrics(r["run_id"]) or {}
        predicted = launch_prediction(Path(project.runs_dir) / r["run_id"]).get("seconds") or {}
        rows.append(
            {
                "name": names.get(r["run_id"], ""),
                "run": r["run_id"],
                "started": human_time(r.get("created_at") or r.get("started_at")),
                "state": r.get("state"),
                "step": r.get("step"),
                "gate override": "⚠ yes" if is_override(config) else "no",
                "base model": config.get("base_model", ""),
                "max steps": config.get("max_steps"),
                "accuracy": final.get("accuracy"),
                "macro-F1": final.get("macro_f1"),
                "train s": final.get("train_s"),
                "predicted s": predicted.get("expected"),
            }
        )
    return rows


def run_picker(
    project: Any, runs: list[Mapping[str, Any]], key: str, label: str = "Training run"
) -> str:
    """A selectbox over `runs` that follows (and sets) the session's selected run, so the view
    stays on a run while it is cancelled, resumed or joined by a new one."""
    from ui import state

    s = state.get_state()
    ids = [r["run_id"] for r in runs]
    if s.selected_run not in ids:
        s.selected_run = ids[0]
    if st.session_state.get(key) != s.selected_run:
        st.session_state[key] = s.selected_run
    labels = {r["run_id"]: run_label(r, project.run_names()) for r in runs}

    def changed() -> None:
        s.selected_run = st.session_state[key]

    st.selectbox(label, ids, key=key, format_func=lambda i: labels.get(i, i), on_change=changed)
    return s.selected_run


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

    run_dir = Path(project.runs_dir) / run_id
    config = run_config(run_dir)
    show_override_banner(config)
    rows = jobs.metrics(run_id)
    fraction, text = progress_of(status, rows)
    st.progress(fraction, text=text)
    state_ = status.get("state", "unknown")
    message = outcome_message(status)
    if message:
        (st.info if state_ == "cancelled" else st.error)(plain(message))
    if status.get("cluster"):
        show_cluster_line(status)
    c1, c2, _ = st.columns([1, 1, 4])
    if c1.button("Cancel", disabled=state_ not in ACTIVE, key=f"cancel_{run_id}"):
        jobs.cancel(run_id, wait=False)  # SIGTERM now; the poller shows the outcome
        st.rerun()
    if c2.button(
        "Resume",
        disabled=state_ not in ("cancelled", "interrupted", "failed"),
        key=f"resume_{run_id}",
        type="primary" if state_ in ("cancelled", "interrupted") else "secondary",
    ):
        jobs.resume(run_id)
        st.rerun()  # whole page: the poller starts again
    if rows:  # one chart per run: keyed by the run, so a rerun replaces it
        st.altair_chart(charts.loss_curve(rows), width="stretch", key=f"loss_{run_id}")
    final = jobs.final_metrics(run_id)
    if final:
        show_final(final, launch_prediction(run_dir))


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
        return f"Interrupted{where}: the training process ended unexpectedly. Resume continues "\
            "from the last checkpoint."  # fmt: skip
    if state_ == "failed":
        return f"Failed{where}: {status.get('reason') or 'see stdout.log in the run folder'}"
    return ""


PREDICTION_FILE = "prediction.json"  # the advisor's prediction, saved by the app at launch


def save_prediction(run_dir: Path, prediction: Mapping[str, Any]) -> None:
    """Keep the prediction made before launch with the run: it stays 'the prediction'; what
    the trainer re-estimates later is only an ETA."""
    import json

    if prediction:
        (Path(run_dir) / PREDICTION_FILE).write_text(json.dumps(dict(prediction), indent=2))


def launch_prediction(run_dir: Path) -> dict[str, Any]:
    """The prediction saved at launch ({} for runs launched elsewhere)."""
    import json

    try:
        data = json.loads((Path(run_dir) / PREDICTION_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def compute_usd(seconds: float | None, usd_per_hour: float | None) -> float | None:
    """The one compute-cost formula: seconds on the device x its hourly price."""
    if seconds is None or usd_per_hour is None:
        return None
    return seconds / 3600 * usd_per_hour


def predicted_vs_actual(
    final: Mapping[str, Any], prediction: Mapping[str, Any]
) -> list[dict[str, str]]:
    """Rows (what, predicted before launch, measured) for time, compute cost and peak memory."""
    sec = (prediction.get("seconds") or {}).get("expected")
    price = prediction.get("usd_per_hour")
    mem = (prediction.get("memory_gb") or {}).get("expected")
    peak = (final.get("peak_memory_gb") or {}).get("cuda_gb") or (
        final.get("peak_memory_gb") or {}
    ).get("cpu_rss_gb")

    def fmt(value: float | None, pattern: str) -> str:
        return "—" if value is None else pattern.format(value)

    return [
        {
            "": "Training time",
            "predicted before launch": fmt(sec, "{:,.0f} s"),
            "measured": fmt(final.get("train_s"), "{:,.0f} s"),
        },
        {
            "": "Compute cost",
            "predicted before launch": fmt(compute_usd(sec, price), "${:,.4f}"),
            "measured": fmt(compute_usd(final.get("train_s"), price), "${:,.4f}"),
        },
        {
            "": "Peak memory",
            "predicted before launch": fmt(mem, "{:.2f} GB"),
            "measured": fmt(peak, "{:.2f} GB")
            + (" (process RSS)" if peak and "cuda_gb" not in final["peak_memory_gb"] else ""),
        },
    ]


def show_final(final: Mapping[str, Any], prediction: Mapping[str, Any] | None = None) -> None:
    """Held-out scores of a finished run, and the prediction made before launch beside what was
    measured (time, compute cost, peak memory)."""
    import pandas as pd

    cols = st.columns(4)
    if "accuracy" in final:
        ci = final.get("accuracy_ci95") or [None, None]
        cols[0].metric(
            "Held-out accuracy", f"{final['accuracy']:.3f}", help=f"95% interval {ci[0]} – {ci[1]}"
        )
        cols[1].metric("Macro-F1", f"{final.get('macro_f1', float('nan')):.3f}")
    if final.get("train_s") is not None:
        cols[2].metric("Actual training time", f"{final['train_s']:,.0f} s")
    if final.get("items_per_s"):
        cols[3].metric(
            "Answers per second",
            f"{final['items_per_s']:,.0f}",
            help="New texts answered per second on this machine, end to end from raw text, "
            "measured as the RAG baseline's speed is.",
        )
    if prediction:
        st.dataframe(
            pd.DataFrame(predicted_vs_actual(final, prediction)), hide_index=True, width="stretch"
        )
        st.caption(
            f"Predicted by the advisor before launch, for {prediction.get('device', '?')} at "
            f"${prediction.get('usd_per_hour', 0):,.2f}/hour; the trainer's own estimates "
            "during the run are shown as ETA only."
        )


def predict(
    config: Any, choice: Any, answers: Any, assumptions: Any, cluster: Any = None
) -> dict[str, Any]:
    """The advisor's prediction for this trial on this device (or on the GPU chosen on a Ray
    `cluster`, a trainer.launch.ClusterSpec), before launch.

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
    seconds = est.train_hours.scale(3600)
    price = assumptions.gpu(gpu).usd_per_hour
    return {
        "device": device,
        "gpu": gpu,
        "examples": seen,
        "seconds": seconds.to_dict(1),
        "memory_gb": est.memory.total.to_dict(3),
        "usd": (est.train_hours * price).to_dict(6),
        "usd_per_hour": price.expected,
    }


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
        f"${compute_usd(sec['expected'], prediction['usd_per_hour']):.4f}",
        help=f"At the advisor's price for '{prediction['gpu']}' "
        f"(range ${usd['low']:.4f} – ${usd['high']:.4f}).",
    )


def where_to_run(project: Any, assumptions: Any) -> Any:
    """Where to run: this machine or a Ray cluster at ADDRESS with GPUs of a kind, remembered
    per project.
    Returns a trainer.launch.ClusterSpec, or None for this machine; ValueError (one line naming
    the field) for a bad address or count."""
    from trainer.launch import ClusterSpec

    saved = project.load_cluster()
    options = ["This machine", "Ray cluster"]
    where = st.radio(
        "Where to run",
        options,
        index=1 if saved else 0,
        horizontal=True,
        key="ft_where",
        help="A Ray cluster (a local head, KubeRay or a cloud) runs the same trainer as a Ray "
        "job; its progress, checkpoints and results come back to this project.",
    )
    if where == options[0]:
        if saved:
            project.save_cluster({})
        return None
    kinds = ["any", *(n for n in assumptions.gpu_names() if n != "cpu")]
    c1, c2, c3 = st.columns([3, 1, 2])
    address = c1.text_input(
        "Cluster address",
        value=saved.get("address", "http://127.0.0.1:8265"),
        key="ft_cluster_address",
        help="The Ray dashboard URL (http://HOST:8265) or ray://HOST:10001.",
    )
    gpus = c2.number_input(
        "GPUs",
        min_value=0,
        max_value=64,
        value=int(saved.get("gpus", 1)),
        key="ft_cluster_gpus",
        help="0 runs on the cluster's CPUs; more than 1 runs torchrun on one node.",
    )
    kind = c3.selectbox(
        "GPU type",
        kinds,
        index=kinds.index(saved.get("gpu_type") or "any") if saved.get("gpu_type") in kinds else 0,
        key="ft_cluster_gpu_type",
        help="From the advisor's price table: the pre-launch cost and the run's cost use its $/h.",
    )
    gpu = "" if kind == "any" else kind
    priced = gpu if gpus else "cpu"  # "any" GPU has no price
    price = assumptions.gpu(priced).usd_per_hour.expected if priced else None
    spec = ClusterSpec(address=address, gpus=int(gpus), gpu_type=gpu, price_per_hour=price)
    if spec.to_dict() != saved:
        project.save_cluster(spec.to_dict())
    return spec


def show_cluster_line(status: Mapping[str, Any]) -> None:
    """Where a cluster run runs, its Ray job, and its measured device-hours and cost."""
    text = f"On the Ray cluster at {status['cluster']} (job {status.get('job_id', '?')})"
    if status.get("device_hours") is not None:
        cost = status.get("cost_usd")
        text += f" · {status['device_hours']:.4f} {'GPU' if status.get('gpus') else 'CPU'}-hours"
        text += f" · ${cost:.4f}" if cost is not None else " · no price for this GPU"
    st.caption(plain(text))
    if status.get("cluster_note"):
        st.warning(plain(status["cluster_note"]))
