"""Runs: every training run of the project from the trainer's registry, and every baseline result
on disk; both survive an app restart."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from rag_baseline.select import DISPLAY_NAMES
from trainer import outlook
from ui import nav, state, training
from ui.safe import plain

# Every method a baseline result may hold, in the order the Data & baseline page lists them.
COLUMNS = {"knn": "kNN", "probe": "probe", "classic": "TF-IDF", "combined": "combined",
           "rag": "RAG few-shot", "nearest": "nearest"}  # fmt: skip


def baseline_row(r: dict) -> dict:
    """One baseline result: its size, every method's held-out score and the named best."""
    row = {"split": r.get("split_id"), "task": r.get("task"), "n train": r.get("n_train"),
           "n test": r.get("n_test")}  # fmt: skip
    for method, short in COLUMNS.items():
        block = r.get(method)
        if isinstance(block, dict):
            row[short] = block.get("accuracy", block.get("exact_match"))
    best = r.get("best") if isinstance(r.get("best"), dict) else {}
    name = DISPLAY_NAMES.get(best.get("method"), best.get("method") or "—")
    score = best.get("accuracy")
    row["best (by CV)"] = f"{name}: {score:.3f}" if isinstance(score, int | float) else name
    row["total s"] = r.get("total_s")
    return row


nav.require_app()

st.title("Runs")
project = state.current_project()
jobs = training.manager(str(project.runs_dir))
training.show_registry_notes(jobs)

runs = jobs.list_runs()
st.subheader("Fine-tune runs")
if not runs:
    st.info("No training runs in this project yet.")
else:
    table = training.runs_table(project, jobs, runs)
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")
    if any(row["gate override"] != "no" for row in table):
        st.warning(training.OVERRIDE_WARNING + " (runs marked ⚠)", icon=":material/warning:")
    picked = training.run_picker(project, runs, key="runs_pick", label="Run")
    config = outlook.run_config(Path(project.runs_dir) / picked)
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
            disabled=status.get("state") in outlook.ACTIVE,
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
                "status": outlook.with_human_times(status),
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
        if isinstance(r, dict):
            rows.append(baseline_row(r))
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
