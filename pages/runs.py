"""Runs: every training run of the project from the trainer's registry, and every baseline result
on disk; both survive an app restart."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from ui import nav, state, training

nav.require_app()

st.title("Runs")
project = state.current_project()
jobs = training.manager(str(project.runs_dir))

runs = jobs.list_runs()
st.subheader("Fine-tune runs")
if not runs:
    st.info("No training runs in this project yet.")
else:
    rows = []
    for r in runs:
        config = training.run_config(Path(project.runs_dir) / r["run_id"])
        final = jobs.final_metrics(r["run_id"]) or {}
        rows.append(
            {
                "run": r["run_id"],
                "state": r.get("state"),
                "reason": r.get("reason", ""),
                "gate override": "⚠ yes" if training.is_override(config) else "no",
                "base model": config.get("base_model", ""),
                "max steps": config.get("max_steps"),
                "accuracy": final.get("accuracy"),
                "macro-F1": final.get("macro_f1"),
                "train s": final.get("train_s"),
                "predicted s": final.get("predicted_train_s"),
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if any(
        training.is_override(training.run_config(Path(project.runs_dir) / r["run_id"]))
        for r in runs
    ):
        st.warning(training.OVERRIDE_WARNING + " (runs marked ⚠)", icon=":material/warning:")
    picked = st.selectbox("Details of run", [r["run_id"] for r in runs], key="runs_pick")
    config = training.run_config(Path(project.runs_dir) / picked)
    training.show_override_banner(config)
    with st.expander("Config, status and final metrics"):
        st.json(
            {
                "status": jobs.status(picked),
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
