"""Model: the models in hand, the trial fine-tune's and the small classifier the baseline chose.
Try a text (label, confidence, nearest training examples; the output for generation), predict a
whole file and download it with your columns kept, download the model with its model card."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import baseline, model, nav, state, training
from ui.safe import plain

nav.require_app()

st.title("Your model")
project = state.current_project()
choice = state.get_state().data
runs = model.completed_runs(project)
results = project.load_baseline(choice.split_id) if choice.ready else None
folder = model.classifier_folder(project, choice.split_id) if choice.ready else None
has_classifier = bool(results and results.get("task") == "classification" and results.get("best"))
kinds = (["fine_tune"] if runs else []) + (["classifier"] if has_classifier else [])
if not kinds:
    st.info(
        "No model in this project yet: the small classifier appears here when the baseline has "
        "run, the fine-tuned model when a trial fine-tune completes."
    )
    nav.link("data", "Go to Data & baseline")
    nav.link("fine_tune", "Go to Fine-tune")
    st.stop()

names = {"fine_tune": "Trial fine-tune", "classifier": "Small classifier (the best baseline)"}
kind = kinds[0]
if len(kinds) > 1:
    kind = st.radio("Model", kinds, format_func=names.get, horizontal=True, key="model_kind")

if kind == "fine_tune":
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
    key, nearest_by = f"run:{run_dir}", "by the fine-tuned encoder"
else:
    job = baseline.runner().get(baseline.job_key(project, choice))
    if not (folder / "classifier.json").exists() and job is not None and not job.done:
        st.info("The baseline is still running; its classifier appears here when it ends.")
        nav.link("data", "Go to Data & baseline")
        st.stop()
    if not (folder / "classifier.json").exists():
        st.info(
            "The baseline ran before models were kept: prepare its small classifier from the "
            "saved results (seconds; the embeddings are cached)."
        )
        if not st.button("Prepare the small classifier", type="primary", key="prepare_clf"):
            st.stop()
        try:
            with st.spinner("Fitting the chosen classifier on the training split…"):
                model.prepare_classifier(results, folder)
        except (OSError, ValueError) as exc:
            st.error(f"Could not prepare the small classifier: {plain(str(exc))}")
            st.stop()
    try:
        pred = model.load_classifier(folder)
    except (OSError, ValueError) as exc:
        st.error(f"Cannot load the small classifier: {plain(str(exc))}")
        st.stop()
    st.markdown(model.classifier_summary(pred.meta))
    key, nearest_by = f"clf:{folder}:{pred.meta.get('created')}", "by the embedder"

play, batch, download = st.tabs(["Try it", "Predict a file", "Download"])
with play:
    model.playground(pred, key, nearest_by)
with batch:
    model.batch(pred, key)
with download:
    if kind == "classifier":
        st.caption(
            "Safetensors arrays, the label map, settings and vocabulary as JSON, and a model "
            "card (README.md) with the held-out accuracy, how to load it and the embedder's "
            "licence. No pickle: it loads without running any code from the file."
        )
        model.download_classifier(folder)
        with st.expander("Model card (README.md)", expanded=True):
            st.code(model.classifier_card(pred.meta), language="markdown", wrap_lines=True)
        st.caption(
            "From a terminal: `python -m rag_baseline.deploy predict --model FOLDER --input "
            f"new.csv` (the folder: {plain(folder)})"
        )
    else:
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
            # As text: the card holds user strings (label names, file names) that Markdown acts on.
            st.code(model.card(run_dir), language="markdown", wrap_lines=True)
        st.caption(
            f"From a terminal: `python -m trainer export --run {run_id} --runs-dir "
            f"{project.runs_dir} --out my-model [--merged]`"
        )
