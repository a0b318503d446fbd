"""Fine-tune: gated by the advisor's verdict; predicted time, memory and cost before launch; the
trainer runs as a background job; live status, progress, ETA and loss curve; cancel / resume."""

from __future__ import annotations

import streamlit as st

from trainer import outlook
from ui import nav, state, training
from ui import training_launch as launch
from ui.safe import plain
from ui.verdict import current_report, verdict_title

nav.require_app()

st.title("Trial fine-tune")
s = state.get_state()
project = state.current_project()
report = current_report()  # with the accuracy measured on this project's data

# --- the plan: chosen once on the Questionnaire, priced on Costs, trained here ----------------
plan = report["plan"]
st.info(
    plain(f"Plan: {plan['label']}, as priced on the Costs page. {plan['trial_note']}"),
    icon=":material/route:",
)

# --- the gate ---------------------------------------------------------------------------------
allowed = launch.gate(report, verdict_title(report), training.OVERRIDE_WARNING)
override = allowed and not report["fine_tune_justified"]

# --- the data ---------------------------------------------------------------------------------
choice = s.data
if not choice.ready:
    st.info("Choose and validate the data first; the trial reuses the baseline's held-out split.")
    nav.link("data", "Go to Data & baseline")
st.caption(
    f"Data: {choice.n_train:,} training / {choice.n_test:,} held-out examples "
    f"(split {choice.split_id or '—'})."
)

# --- the run config + estimate ----------------------------------------------------------------
c1, c2, c3 = st.columns(3)
base_model = c1.text_input(
    "Base model",
    value=plan["trial_model_id"],
    key="ft_base_model",
    help="auto = the shipped all-MiniLM-L6-v2 (classification) or SmolLM2-135M-Instruct "
    "(generation); or a local folder / hub id.",
)
max_steps = c2.number_input(
    "Max steps (0 = no limit)",
    value=60,
    step=10,
    key="ft_max_steps",
    help="A short trial: stop after this many optimizer steps.",
)
batch_size = c3.number_input("Batch size", value=32, step=8, key="ft_batch_size")
advanced = launch.advanced_settings(choice.n_train, int(batch_size), int(max_steps))

config = None
try:
    config = (
        outlook.make_config(
            project,
            choice,
            base_model=base_model,
            method="lora" if plan["method"] == "qlora" else plan["method"],  # qlora: CUDA only
            max_steps=int(max_steps),
            batch_size=int(batch_size),
            gate_override=override,
            **advanced,
        )
        if choice.ready
        else None
    )
except ValueError as exc:
    st.error(f"Cannot use these settings: {plain(str(exc))}")
cluster, cluster_ok = None, True  # where to run: this machine or a Ray cluster
try:
    cluster = launch.where_to_run(project, state.assumptions())
except ValueError as exc:
    cluster_ok = False
    st.error(f"Cannot use this cluster: {plain(str(exc))}")
prediction = (
    outlook.predict(config, choice, state.answers(), state.assumptions(), cluster) if config else {}
)
if config is not None:
    launch.show_prediction(prediction)
jobs = training.manager(str(project.runs_dir))
training.show_registry_notes(jobs)
launched = launch.launch_button(
    allowed and config is not None and cluster_ok, training.active_run(jobs)
)
if launched and config is not None and allowed:
    try:
        s.selected_run = jobs.launch(config, cluster=cluster)
        outlook.save_prediction(project.runs_dir / s.selected_run, prediction)
        st.rerun()  # Launch is now disabled while the run goes
    except ValueError as exc:
        st.error(f"Not launched: {plain(str(exc))}")

# --- the live run -----------------------------------------------------------------------------
runs = jobs.list_runs()
if runs:
    training.live_status(project, training.run_picker(project, runs, key="ft_run"))
