"""Model: the trial fine-tune in hand. Try a text (label, confidence, nearest training examples;
the output for generation), predict a whole file and download the result, download the adapter
or the merged model with its model card."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.data import DataError
from ui import model, nav, state, training
from ui.safe import plain

nav.require_app()

st.title("Your model")
project = state.current_project()
runs = model.completed_runs(project)
if not runs:
    st.info("No completed fine-tune in this project yet: the model appears here when one ends.")
    nav.link("fine_tune", "Go to Fine-tune")
    st.stop()

run_id = training.run_picker(project, runs, key="model_run", label="Fine-tuned run")
run_dir = Path(project.runs_dir) / run_id
final = training.manager(str(project.runs_dir)).final_metrics(run_id)
training.show_override_banner(training.run_config(run_dir))
st.markdown(model.summary(run_dir, final))
try:
    pred = model.load(run_dir)
except (OSError, ValueError) as exc:
    st.error(f"Cannot load the model of run {run_id}: {plain(str(exc))}")
    st.stop()

play, batch, download = st.tabs(["Try it", "Predict a file", "Download"])
with play:
    text = st.text_area(
        "Text", key="play_text", placeholder="Type a ticket, as your users would write it"
    )
    if st.button("Predict", type="primary", key="play_go", disabled=not text.strip()):
        st.session_state["play_result"] = (run_id, text, model.try_text(pred, text))
    shown = st.session_state.get("play_result")
    if shown and shown[0] == run_id:
        model.show_answer(shown[2], pred.task)

with batch:
    upload = st.file_uploader(
        "File to predict (CSV, TSV, JSONL or Parquet)",
        type=["csv", "tsv", "jsonl", "ndjson", "parquet"],
        key="batch_file",
    )
    text_col = st.text_input(
        "Text column (empty: the run's own, else detected)", key="batch_text_col"
    )
    if st.button("Predict every row", key="batch_go", disabled=upload is None):
        try:
            with st.spinner("Predicting…"):
                frame = model.predict_upload(pred, upload.name, upload.getvalue(), text_col)
            st.session_state["batch_result"] = (run_id, upload.name, frame)
        except (DataError, ValueError) as exc:
            st.session_state.pop("batch_result", None)
            st.error(plain(str(exc)))
    done = st.session_state.get("batch_result")
    if done and done[0] == run_id and upload is not None and done[1] == upload.name:
        frame = done[2]
        st.caption(plain(f"{len(frame):,} predictions for {done[1]}."))
        st.dataframe(frame.head(200), hide_index=True, width="stretch")
        st.download_button(
            "Download predictions (CSV)",
            frame.to_csv(index=False),
            file_name=f"{Path(done[1]).stem}-predictions.csv",
            mime="text/csv",
            key="batch_download",
            on_click="ignore",
        )

with download:
    st.caption(
        "Safetensors weights, the tokenizer, the label map and a model card (README.md). "
        "The adapter is small and needs the base model; the merged model stands alone."
    )
    c1, c2 = st.columns(2)
    with c1:
        model.download_export(run_dir, merged=False)
    with c2:
        model.download_export(run_dir, merged=True)
    with st.expander("Model card (README.md)", expanded=True):
        # As text: the card holds user strings (label names, file names) that Markdown would act on.
        st.code(model.card(run_dir), language="markdown", wrap_lines=True)
    st.caption(
        f"From a terminal: `python -m trainer export --run {run_id} --runs-dir "
        f"{project.runs_dir} --out my-model [--merged]`"
    )
