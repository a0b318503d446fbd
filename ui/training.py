"""The app's view of training runs: one trainer.jobs.JobManager per project (cached), the run
picker, the live status of a run (progress, ETA, loss curve, cancel / resume), its final scores
and the Runs table. Launching lives in ui/training_launch.py; the facts shown (progress text,
predicted vs measured, dates) in trainer/outlook.py. Nothing here imports torch."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import streamlit as st

from trainer.outlook import (
    ACTIVE,
    is_override,
    launch_prediction,
    outcome_message,
    predicted_vs_actual,
    progress_of,
    run_config,
    run_label,
    with_launch_prediction,
)
from ui.safe import plain

__all__ = ["ACTIVE", "manager", "run_config", "run_picker", "with_launch_prediction"]

OVERRIDE_WARNING = (
    "Trained against the advisor's verdict: fine-tuning was not justified by the answers and "
    "the gate was overridden by hand. Treat this result as an experiment, not a recommendation."
)


@st.cache_resource
def manager(runs_dir: str) -> Any:
    """The JobManager of one runs folder; recovers runs whose process died (server restart)."""
    from trainer.jobs import JobManager

    jobs = JobManager(runs_dir)
    jobs.recover()
    return jobs


def show_registry_notes(jobs: Any) -> None:
    """What the job registry has to tell (its file was damaged, set aside and rebuilt from the
    run folders) as one warning line; nothing when all is well."""
    notes = list(dict.fromkeys(jobs.notes))  # the same line twice is said once
    if notes:
        st.warning(plain(" ".join(notes)), icon=":material/warning:")


def active_run(jobs: Any) -> str | None:
    """The id of a queued or running run of this project, None when the device is free."""
    return next((r["run_id"] for r in jobs.list_runs() if r.get("state") in ACTIVE), None)


def show_override_banner(config: Mapping[str, Any] | None) -> None:
    """The override warning, on every result an overridden run produced."""
    if is_override(config):
        st.warning(OVERRIDE_WARNING, icon=":material/warning:")


def runs_table(project: Any, jobs: Any, runs: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per run for the Runs page: name, dates, state, settings and held-out scores."""
    from trainer.outlook import human_time

    names = project.run_names()
    rows = []
    for r in runs:
        run_dir = Path(project.runs_dir) / r["run_id"]
        config = run_config(run_dir)
        final = jobs.final_metrics(r["run_id"]) or {}
        predicted = launch_prediction(run_dir).get("seconds") or {}
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
    show_override_banner(run_config(run_dir))
    rows = jobs.metrics(run_id)
    prediction = launch_prediction(run_dir)
    fraction, text = progress_of(status, rows, prediction)
    st.progress(fraction, text=text)
    state_ = status.get("state", "unknown")
    message = outcome_message(status)
    if message:
        (st.info if state_ == "cancelled" else st.error)(plain(message))
    if status.get("cluster"):
        show_cluster_line(status)
    _buttons(jobs, run_id, state_)
    if rows:  # one chart per run: keyed by the run, so a rerun replaces it
        st.altair_chart(charts.loss_curve(rows), width="stretch", key=f"loss_{run_id}")
    final = jobs.final_metrics(run_id)
    if final:
        show_final(final, prediction)


def _buttons(jobs: Any, run_id: str, state_: str) -> None:
    c1, c2, _ = st.columns([1, 1, 4])
    if c1.button("Cancel", disabled=state_ not in ACTIVE, key=f"cancel_{run_id}"):
        jobs.cancel(run_id, wait=False)  # SIGTERM now; the poller shows the outcome
        st.rerun()
    if c2.button(
        "Resume",
        disabled=state_ not in ("cancelled", "interrupted", "failed", "lost"),
        key=f"resume_{run_id}",
        type="primary" if state_ in ("cancelled", "interrupted") else "secondary",
    ):
        jobs.resume(run_id)
        st.rerun()  # whole page: the poller starts again


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
    billing = status.get("billing") if isinstance(status.get("billing"), dict) else {}
    if billing.get("note"):  # the job's own measure disagrees with the cluster's claim
        st.warning(plain(f"Billed as the job measured: {billing['note']}"))
    if status.get("sync_refused"):
        st.warning(
            plain(
                f"{status['sync_refused']} line(s) of the job's log were refused (first: "
                f"{status.get('sync_refused_first', '')})"
            )
        )
