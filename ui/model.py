"""The models in hand (the Model page): the trial fine-tune's model and the small classifier the
baseline chose, each loaded once per server process (st.cache_resource); the playground, batch
predictions on an uploaded file (the user's columns kept) and the export zips. The work itself
is trainer.predict / trainer.export and rag_baseline.deploy; this module adapts it to Streamlit.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from ui import training
from ui.safe import plain

NEAREST = 3  # training examples shown beside a playground answer
PLAY = "play_answer"  # session key: {"model", "text", "result"} of the last answer shown
BATCH = "batch_result"  # session key: {"model", "file", "frame"} of the last file predicted


def completed_runs(project: Any) -> list[dict[str, Any]]:
    """Runs of the project that finished and exported an adapter, newest first."""
    jobs = training.manager(str(project.runs_dir))
    return [
        r
        for r in jobs.list_runs()
        if r.get("state") == "completed"
        and (Path(project.runs_dir) / r["run_id"] / "adapter" / "trainer_meta.json").exists()
    ]


@st.cache_resource(show_spinner="Loading the trained model…", max_entries=2)
def predictor(run_dir: str, stamp: float) -> Any:
    """The run's model rebuilt from its adapter; `stamp` (the adapter's mtime) keys the cache."""
    from trainer.predict import load_predictor

    pred = load_predictor(Path(run_dir))
    if pred.task == "classification":  # the nearest-example vectors now, not on the first click
        try:
            pred.nearest(["warm up"], k=1)
        except Exception:  # noqa: BLE001, S110 - a click on Predict says what is wrong
            pass
    return pred


def load(run_dir: Path) -> Any:
    meta = Path(run_dir) / "adapter" / "trainer_meta.json"
    return predictor(str(run_dir), meta.stat().st_mtime)


def summary(run_dir: Path, final: Mapping[str, Any] | None) -> str:
    """One line: base model, task, data, split and the held-out score."""
    from trainer.predict import read_meta

    meta, final = read_meta(run_dir), final or {}
    score = (
        f"held-out accuracy {final['accuracy']:.3f}"
        if final.get("accuracy") is not None
        else f"held-out exact match {final.get('exact_match', float('nan')):.3f}"
    )
    return (
        f"**{plain(meta['task']).capitalize()}** with {plain(meta['base_model'])} "
        f"({plain(meta.get('method'))}) · {final.get('n_train', '?')} training examples · "
        f"split {plain(meta.get('split_id'))} · "
        f"{score}"
    )


# --- the small classifier -----------------------------------------------------------------------


def classifier_folder(project: Any, split_id: str) -> Path:
    from ui.baseline import classifier_dir

    return classifier_dir(project, split_id)


@st.cache_resource(show_spinner="Loading the small classifier…", max_entries=2)
def _classifier(folder: str, stamp: float) -> Any:
    from rag_baseline.deploy import load as load_classifier
    from ui.baseline import embedder

    model = load_classifier(Path(folder))
    if model.method != "classic" or model.texts:  # its embedder, shared with the baseline
        model.embedder = embedder(model.meta["embedder"], model.meta["precision"], "cpu")
    return model


def load_classifier(folder: Path) -> Any:
    """The saved classifier (ValueError with one line when the folder is damaged)."""
    from rag_baseline.deploy import META_FILE

    return _classifier(str(folder), (Path(folder) / META_FILE).stat().st_mtime)


def prepare_classifier(results: Mapping[str, Any], folder: Path) -> None:
    """Fit and save the classifier of baseline results saved before models were kept."""
    from rag_baseline.config import EvalConfig
    from rag_baseline.deploy_fit import save_from_result
    from ui.baseline import embedder

    config = EvalConfig.from_dict(results["config"])
    save_from_result(dict(results), folder, embedder(config.embedder, config.precision, "cpu"))


def classifier_summary(meta: Mapping[str, Any]) -> str:
    held = meta.get("held_out") or {}
    ci = held.get("accuracy_ci95")
    interval = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
    sample = " (fitted on a stratified sample)" if meta.get("quick") else ""
    return (
        f"**Small classifier**: {plain(meta.get('name'))} · {meta.get('n_train', '?')} training "
        f"examples{sample} · split {plain(meta.get('split_id'))} · held-out accuracy "
        f"{held.get('accuracy', float('nan')):.3f}{interval}, measured on the saved model"
    )


def download_classifier(folder: Path) -> None:
    from rag_baseline.deploy import export_zip

    try:
        data = export_zip(folder)
    except (OSError, ValueError) as exc:
        st.error(plain(f"Could not export the small classifier: {exc}"))
        return
    st.download_button(
        f"Download the small classifier (.zip, {len(data) / 1e6:,.1f} MB)",
        data,
        file_name=f"{folder.parent.name}-classifier.zip",
        mime="application/zip",
        key="dl_classifier",
        on_click="ignore",
    )


def classifier_card(meta: Mapping[str, Any]) -> str:
    from rag_baseline.deploy_card import model_card

    return _shifted(model_card(dict(meta), knn=meta.get("method") == "knn"))


# --- playground and batch predictions, for either model -----------------------------------------


def try_text(pred: Any, text: str) -> dict[str, Any]:
    """The playground's answer for one text: label (or output), confidence, runner-up labels
    and the nearest training examples."""
    answer = pred.predict([text])[0]
    return {
        "label": answer.label,
        "confidence": answer.confidence,
        "top": [{"label": label, "probability": p} for label, p in answer.top],
        "nearest": pred.nearest([text], k=NEAREST)[0],
    }


def playground(pred: Any, model_key: str, nearest_by: str) -> None:
    """A form (Predict is live while typing: the text goes with the click), the answer kept
    with the text and model it answers, and shown only under that same text."""
    with st.form("play_form", border=False):  # Ctrl+Enter in the box submits it too
        text = st.text_area(
            "Text", key="play_text", placeholder="Type a ticket, as your users would write it"
        )
        go = st.form_submit_button("Predict", type="primary", key="play_go")
    if go and not text.strip():
        st.session_state.pop(PLAY, None)
        st.warning("Type a text first, then press Predict.")
    elif go:
        try:
            with st.spinner("Predicting…"):
                result = try_text(pred, text)
        except Exception as exc:  # noqa: BLE001 - one line on screen, never a silent click
            st.session_state.pop(PLAY, None)
            st.error(plain(f"Could not predict this text: {type(exc).__name__}: {exc}"))
            return
        st.session_state[PLAY] = {"model": model_key, "text": text, "result": result}
    shown = st.session_state.get(PLAY)
    if shown and shown["model"] == model_key and shown["text"] == text:
        show_answer(shown["result"], pred.task, nearest_by)


def show_answer(result: Mapping[str, Any], task: str, nearest_by: str) -> None:
    if task != "classification":
        st.markdown("**Output**")
        st.code(result["label"] or "(empty)", language=None, wrap_lines=True)
        return
    c1, c2 = st.columns([2, 1])
    c1.metric("Predicted label", result["label"])
    c2.metric(
        "Confidence",
        f"{result['confidence']:.0%}",
        help="The model's probability for this label. Check low-confidence answers by hand.",
    )
    st.dataframe(
        pd.DataFrame(result["top"]).style.format({"probability": "{:.1%}"}),
        hide_index=True,
        width="stretch",
    )
    if result["nearest"]:
        st.markdown(f"**Nearest training examples** ({nearest_by}, cosine)")
        st.dataframe(
            pd.DataFrame(result["nearest"]).style.format({"similarity": "{:.2f}"}),
            hide_index=True,
            width="stretch",
        )


def batch(pred: Any, model_key: str) -> None:
    """Upload a file, predict every row, show and download it with the user's columns."""
    from core.data import DataError
    from rag_baseline.deploy import csv_text

    upload = st.file_uploader(
        "File to predict (CSV, TSV, JSONL or Parquet)",
        type=["csv", "tsv", "jsonl", "ndjson", "parquet"],
        key="batch_file",
    )
    text_col = st.text_input(
        "Text column (empty: the model's own, else detected)", key="batch_text_col"
    )
    file_key = None if upload is None else (upload.name, upload.size, text_col)
    if st.button("Predict every row", key="batch_go", disabled=upload is None):
        try:
            with st.spinner("Predicting…"):
                frame = predict_upload(pred, upload.name, upload.getvalue(), text_col)
            st.session_state[BATCH] = {"model": model_key, "file": file_key, "frame": frame}
        except (DataError, ValueError) as exc:
            st.session_state.pop(BATCH, None)
            st.error(plain(str(exc)))
    done = st.session_state.get(BATCH)
    if done and done["model"] == model_key and done["file"] == file_key:
        frame, name = done["frame"], file_key[0]
        st.caption(plain(f"{len(frame):,} predictions for {name}, your columns kept."))
        st.dataframe(frame.head(200), hide_index=True, width="stretch")
        st.download_button(
            "Download predictions (CSV)",
            csv_text(frame),
            file_name=f"{Path(name).stem}-predictions.csv",
            mime="text/csv",
            key="batch_download",
            on_click="ignore",
        )


def predict_upload(pred: Any, name: str, data: bytes, text_col: str | None) -> pd.DataFrame:
    """Every row and column of an uploaded file with `pred` (and `confidence`) added.
    Raises DataError / ValueError with a message for the user."""
    import re

    from core.data import DataError
    from rag_baseline.deploy import predict_table

    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).name).strip("._") or "upload.csv"
    with tempfile.TemporaryDirectory(prefix="batch-") as tmp:
        path = Path(tmp) / safe  # errors name the file as the user uploaded it
        path.write_bytes(data)
        try:
            return predict_table(pred, path, text_col or None)
        except DataError as exc:
            raise DataError(
                str(exc).replace("use --text-col", "name it under Text column")
            ) from None


# --- the trial model's export ---------------------------------------------------------------------


def download_export(run_dir: Path, merged: bool) -> None:
    """A download button for the adapter (exported on the first visit) or the merged model
    (exported when asked: it is the size of the base model). The zip stays in the run folder."""
    from trainer.export import export_zip, zip_path

    kind = "merged model" if merged else "adapter"
    key = "merged" if merged else "adapter"
    path = zip_path(Path(run_dir), merged)
    if not path.exists():
        if merged and not st.button(f"Prepare the {kind} (.zip)", key=f"build_{key}"):
            st.caption("The base model with the adapter folded in: no peft needed to load it.")
            return
        try:
            with st.spinner(f"Exporting the {kind}…"):
                export_zip(Path(run_dir), merged=merged)
        except (OSError, ValueError) as exc:
            st.error(plain(f"Could not export the {kind}: {exc}"))
            return
    st.download_button(
        f"Download {kind} (.zip, {path.stat().st_size / 1e6:,.1f} MB)",
        path.read_bytes(),
        file_name=path.name,
        mime="application/zip",
        key=f"dl_{key}",
        on_click="ignore",  # a download does not rerun the page
    )


def card(run_dir: Path, merged: bool = False) -> str:
    from trainer.export import model_card
    from trainer.predict import read_meta

    return _shifted(model_card(Path(run_dir), read_meta(Path(run_dir)), merged))


def _shifted(text: str) -> str:
    """A card shown inside the page: its headings one level below the page's own."""
    return "\n".join("###" + line if line.startswith("#") else line for line in text.splitlines())
