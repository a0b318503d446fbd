"""Fine-tune: gated by the advisor's verdict; predicted time, memory and cost before launch; the
trainer runs as a background job; live status, progress, ETA and loss curve; cancel / resume."""

from __future__ import annotations

import streamlit as st

from advisor import estimate
from ui import nav, state, training
from ui.verdict import verdict_title

nav.require_app()

st.title("Trial fine-tune")
s = state.get_state()
project = state.current_project()
report = estimate(state.answers(), state.assumptions()).to_dict()

# --- the gate ---------------------------------------------------------------------------------
justified = report["fine_tune_justified"]
if justified:
    st.success(f"The advisor's verdict: {verdict_title(report)}. Fine-tuning is justified.")
    override = False
else:
    st.warning(
        f"The advisor's verdict is **{verdict_title(report)}**: fine-tuning is not justified by "
        "your answers (see the Questionnaire). Launching is locked.",
        icon=":material/lock:",
    )
    override = st.checkbox(
        "Override: I want a trial fine-tune anyway, against the advisor's verdict",
        key="gate_override",
        help="Recorded in the run's config; every result of the run carries a warning.",
    )
    if override:
        st.error(training.OVERRIDE_WARNING, icon=":material/warning:")
allowed = justified or override

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
c1, c2, c3, c4 = st.columns(4)
base_model = c1.text_input(
    "Base model",
    value="auto",
    key="ft_base_model",
    help="auto = the shipped all-MiniLM-L6-v2 (classification) or SmolLM2-135M-Instruct "
    "(generation); or a local folder / hub id.",
)
epochs = c2.number_input("Epochs", value=3.0, step=1.0, key="ft_epochs")
max_steps = c3.number_input(
    "Max steps (0 = no limit)",
    value=60,
    step=10,
    key="ft_max_steps",
    help="A short trial: stop after this many optimizer steps.",
)
batch_size = c4.number_input("Batch size", value=32, step=8, key="ft_batch_size")

config = None
try:
    config = (
        training.make_config(
            project,
            choice,
            base_model=base_model,
            epochs=epochs,
            max_steps=int(max_steps),
            batch_size=int(batch_size),
            gate_override=override,
        )
        if choice.ready
        else None
    )
except ValueError as exc:
    st.error(f"Cannot use these settings: {exc}")
if config is not None:
    training.show_prediction(training.predict(config, choice, state.answers(), state.assumptions()))
launched = st.button(
    "Launch trial fine-tune",
    type="primary",
    disabled=not (allowed and config is not None),
    key="ft_launch",
)
if launched and config is not None and allowed:
    try:
        s.selected_run = training.manager(str(project.runs_dir)).launch(config)
        st.session_state.pop("ft_run", None)  # show the new run below
    except ValueError as exc:
        st.error(f"Not launched: {exc}")

# --- the live run -----------------------------------------------------------------------------
runs = training.manager(str(project.runs_dir)).list_runs()
run_ids = [r["run_id"] for r in runs]
if run_ids:
    if s.selected_run not in run_ids:
        s.selected_run = run_ids[0]
    s.selected_run = st.selectbox(
        "Training run", run_ids, index=run_ids.index(s.selected_run), key="ft_run"
    )
    training.live_status(project, s.selected_run)
