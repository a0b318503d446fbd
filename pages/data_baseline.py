"""Data & baseline: pick the demo or upload data, choose columns, validate the held-out split,
run the RAG baseline (kNN retrieval + linear probe) with progress, see scores with intervals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.data import DataError
from ui import baseline, data_source, nav, state
from ui.safe import plain

nav.require_app()

st.title("Data & baseline")
s = state.get_state()
project = state.current_project()
choice = s.data

# --- 1. data source ---------------------------------------------------------------------------
st.subheader("1 · Your labelled examples")
sources = [data_source.DEMO_LABEL, "Upload my own file (CSV, TSV, JSONL or Parquet)"]
source = st.radio("Data", sources, index=data_source.source_index(choice), key="data_source")
if source == sources[0]:
    if not choice.is_demo:
        data_source.use_demo()
        choice = s.data
elif source == sources[1]:
    data_source.use_uploads()
    kinds = ["csv", "tsv", "jsonl", "ndjson", "parquet"]
    up_train = st.file_uploader("Upload a training file", type=kinds, key="upload_train")
    up_test = st.file_uploader(
        "Upload a held-out test file (optional)", type=kinds, key="upload_test"
    )
    data_source.save_uploads([up_train], "train")
    data_source.save_uploads([up_test], "test")
    choice = s.data
    files = [str(p) for p in project.uploads()]
    if files:
        train_options = files if choice.train in files else [""] + files
        data_source.sync_widget("pick_train", choice.train, train_options)
        picked = st.selectbox(
            "Training file",
            train_options,
            key="pick_train",
            format_func=lambda p: Path(p).name or "—",
        )
        test_options = [""] + files
        data_source.sync_widget("pick_test", choice.test, test_options)
        picked_test = st.selectbox(
            "Held-out file",
            test_options,
            key="pick_test",
            format_func=lambda p: Path(p).name or data_source.SPLIT_TRAIN,
        )
        data_source.update(train=picked, test=picked_test, is_demo=False)
        choice = s.data
else:
    st.info("Choose the built-in demo or upload your own labelled examples.")

# --- 2. columns -------------------------------------------------------------------------------
if choice.train:
    try:
        columns, head, guess_text, guess_label = data_source.preview(choice.train)
    except (DataError, OSError) as exc:
        st.error(plain(str(exc)))
        st.stop()
    st.dataframe(pd.DataFrame(head), hide_index=True, width="stretch")
    c1, c2, c3 = st.columns(3)
    text_default = choice.text_col if choice.text_col in columns else guess_text
    label_default = choice.label_col if choice.label_col in columns else guess_label
    text_col = c1.selectbox(
        "Text column",
        columns,
        key="text_col",
        index=columns.index(text_default) if text_default in columns else 0,
    )
    label_col = c2.selectbox(
        "Label column",
        columns,
        key="label_col",
        index=columns.index(label_default)
        if label_default in columns
        else min(1, len(columns) - 1),
    )
    tasks = ["", "classification", "generation"]
    task = c3.selectbox(
        "Task",
        tasks,
        index=tasks.index(choice.task),
        key="task",
        format_func=lambda t: t or "detect from the labels",
    )
    data_source.update(text_col=text_col, label_col=label_col, task=task)
    choice = s.data
    if st.button("Validate and make the held-out split", type="primary", key="validate"):
        try:
            with st.spinner("Validating the data and making the held-out split…"):
                choice = data_source.validate(choice)
        except (DataError, ValueError) as exc:
            st.error(plain(str(exc)))

if choice.ready:
    st.success(
        f"Split {choice.split_id}: {choice.n_train:,} training and {choice.n_test:,} held-out "
        f"examples, {choice.split_task}"
        + (f", {len(choice.labels)} classes" if choice.labels else "")
        + ". The fine-tune and the comparison reuse exactly this split."
    )
    for warning in choice.warnings:
        st.warning(plain(warning))

# --- 3. baseline ------------------------------------------------------------------------------
st.subheader("2 · RAG baseline on the held-out split")
st.caption(
    "Embeds every example with all-MiniLM-L6-v2, indexes them in FAISS and scores the cheap "
    "baselines: nearest-neighbour retrieval (the RAG baseline), a linear probe, and the classic "
    "TF-IDF + linear SVM; the best one by cross-validation on the training split is named. "
    "Large data sets get a quick estimate on a sample first."
)
job_id = baseline.job_key(project, choice)
job = baseline.runner().get(job_id) if choice.ready else None
running = job is not None and not job.done  # also a job started before a browser refresh
if st.button("Run the RAG baseline", disabled=not choice.ready or running, key="run_baseline"):
    baseline.start(project, choice, state.workspace().cache_dir)
    running = True


@st.fragment(run_every=1.0 if running else None)
def _progress() -> None:
    job = baseline.runner().get(job_id)
    if job is None:
        return
    if not job.done:
        st.progress(job.fraction, text=f"{job.message} · {job.elapsed_s:.0f} s")
        if st.button("Cancel the baseline", key="cancel_baseline", disabled=job.cancel_requested):
            job.cancel()  # stops at its next progress report; nothing is saved
        quick = baseline.load_quick(project, choice.split_id)
        if quick:  # the first answer, on a sample, while the full run goes on
            baseline.show_results(quick)
    elif job.cancelled:
        st.info(f"The baseline was {job.error}.")
    elif job.error:  # stays on screen until the next run is started
        st.error(f"The baseline did not finish: {plain(job.error)}")
    elif running:
        st.rerun()  # it has just finished: rerun the page to show the saved results


_progress()
results = project.load_baseline(choice.split_id) if choice.ready else None
if results:
    baseline.show_results(results)
    if results.get("task") == "classification" and not running:  # saved by the same job
        nav.link("model", "Try, batch-predict or export the chosen small classifier")
    nav.link("fine_tune", "Next: a trial fine-tune on the same split")
elif choice.ready and not running:  # nothing run yet
    st.info("No baseline yet for this split: run it (about a minute on two CPU cores).")
