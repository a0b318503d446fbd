"""Runs: every training run of the project from the trainer's registry, and every baseline result
on disk; both survive an app restart."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from ui import nav, state, training
from ui.safe import plain

nav.require_app()

st.title("Runs")
project = state.current_project()
jobs = training.manager(str(project.runs_dir))

runs = jobs.list_runs()
st.subheader("Fine-tune runs")
if not runs:
    st.info("No training runs in this project yet.")
else:
    st.dataframe(
        pd.DataFrame(training.runs_table(project, jobs, runs)), hide_index=True, width="stretch"
    )
    if any(training.is_override(training.run_config(project.runs_dir / r["run_id"])) for r in runs):
        st.warning(training.OVERRIDE_WARNING + " (runs marked ⚠)", icon=":material/warning:")
    picked = training.run_picker(project, runs, key="runs_pick", label="Run")
    config = training.run_config(Path(project.runs_dir) / picked)
    training.show_override_banner(config)
    status = jobs.status(picked)
    c1, c2 = st.columns(2)
    with c1.form("rename_run", border=False):
        name = st.text_input(
            "Name", value=project.run_names().get(picked, ""), key=f"run_name_{picked}"
        )
        if st.form_submit_button("Rename"):
            try:
                project.rename_run(picked, name)
                st.rerun()
            except ValueError as exc:
                st.error(plain(str(exc)))
    with c2:
        sure = st.checkbox(
            "Delete this run's folder (model, checkpoints, logs)",
            key="run_delete_sure",
            disabled=status.get("state") in training.ACTIVE,
            help="A queued or running run must be cancelled first.",
        )
        if st.button("Delete run", disabled=not sure, key="run_delete"):
            try:
                project.delete_run(picked, status.get("state", ""))
                st.session_state.pop("run_delete_sure", None)
                st.rerun()
            except (OSError, ValueError) as exc:
                st.error(f"Not deleted: {plain(str(exc))}")
    with st.expander("Config, status and final metrics"):
        st.json(
            {
                "status": training.with_human_times(status),
                "config": config,
                "final_metrics": jobs.final_metrics(picked),
            },
            expanded=False,
        )

st.subheader("RAG baseline results")
found = sorted(project.results_dir.glob("baseline-*/results.json"))
if not found:
    st.info("No baseline results in this project yet.")
else:
    rows = []
    for path in found:
        try:
            r = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        rows.append(
            {
                "split": r.get("split_id"),
                "task": r.get("task"),
                "n train": r.get("n_train"),
                "n test": r.get("n_test"),
                "kNN accuracy": (r.get("knn") or {}).get("accuracy"),
                "probe accuracy": (r.get("probe") or {}).get("accuracy"),
                "total s": r.get("total_s"),
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
