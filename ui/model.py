"""The model in hand (the Model page): a finished run's model loaded once per server process
(st.cache_resource), the playground, batch predictions on an uploaded file, and the export zips.
The work itself is trainer.predict / trainer.export; this module only adapts it to Streamlit."""

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

    return load_predictor(Path(run_dir))


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


def show_answer(result: Mapping[str, Any], task: str) -> None:
    if task != "classification":
        st.markdown("**Output**")
        st.code(result["label"] or "(empty)", language=None, wrap_lines=True)
        return
    c1, c2 = st.columns([2, 1])
    c1.metric("Predicted label", result["label"])
    c2.metric(
        "Confidence",
        f"{result['confidence']:.0%}",
        help="The model's probability for this label (softmax over the classes). Check "
        "low-confidence answers by hand.",
    )
    st.dataframe(
        pd.DataFrame(result["top"]).style.format({"probability": "{:.1%}"}),
        hide_index=True,
        width="stretch",
    )
    if result["nearest"]:
        st.markdown("**Nearest training examples** (by the fine-tuned encoder, cosine)")
        st.dataframe(
            pd.DataFrame(result["nearest"]).style.format({"similarity": "{:.2f}"}),
            hide_index=True,
            width="stretch",
        )


def predict_upload(pred: Any, name: str, data: bytes, text_col: str | None) -> pd.DataFrame:
    """Predictions for every row of an uploaded file (id, text, pred[, confidence]).
    Raises DataError / ValueError with a message for the user."""
    import re

    from core.data import DataError
    from trainer.predict import predict_rows

    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).name).strip("._") or "upload.csv"
    with tempfile.TemporaryDirectory(prefix="batch-") as tmp:
        path = Path(tmp) / safe  # errors name the file as the user uploaded it
        path.write_bytes(data)
        try:
            return pd.DataFrame(predict_rows(pred, path, text_col or None))
        except DataError as exc:
            raise DataError(
                str(exc).replace("use --text-col", "name it under Text column")
            ) from None


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

    text = model_card(Path(run_dir), read_meta(Path(run_dir)), merged)
    # Shown inside the page: its headings one level below the page's own.
    return "\n".join("###" + line if line.startswith("#") else line for line in text.splitlines())
