"""Choosing the data on the Data & baseline page: the built-in demo or the user's uploads, the
columns, the task, and validating the held-out split with core.split.prepare_dataset."""

from __future__ import annotations

import dataclasses
import importlib.resources
from pathlib import Path
from typing import Any

import streamlit as st

from core.data import DataError, detect_columns, load_table
from core.spec import DataSpec
from core.split import prepare_dataset
from ui import state
from ui.workspace import DataChoice

SPLIT_TRAIN = "(split the training file: 20% held out, stratified, seed 0)"
DEMO_LABEL = "Built-in demo: support tickets of a software company → 13 queues"


def demo_path() -> Path:
    """The demo CSV shipped inside the rag_baseline package."""
    return Path(str(importlib.resources.files("core").joinpath("demo/support_tickets.csv")))


@st.cache_data(show_spinner=False, max_entries=16)
def table_preview(path: str, mtime: float) -> tuple[list[str], list[dict], str | None, str | None]:
    """(columns, first rows, detected text column, detected label column); DataError passes up.

    `mtime` is part of the cache key so a re-uploaded file is read again.
    """
    table = load_table(path)
    text, label = detect_columns(table)
    return list(table.frame.columns), table.frame.head(8).to_dict("records"), text, label


def preview(path: str) -> tuple[list[str], list[dict], str | None, str | None]:
    return table_preview(path, Path(path).stat().st_mtime)


def update(**changes: Any) -> None:
    """Change the data choice; anything but a new split id invalidates the validated split."""
    current = state.get_state().data
    if all(getattr(current, k) == v for k, v in changes.items()):
        return
    if "split_id" not in changes:
        changes.update(
            split_id="", split_task="", mean_words=0.0, n_train=0, n_test=0, labels=[], warnings=[]
        )
    state.set_data_choice(dataclasses.replace(current, **changes))


def use_demo() -> None:
    update(train=str(demo_path()), test="", is_demo=True, text_col="text", label_col="category")


def save_uploads(files: list, role: str) -> None:
    """Store newly uploaded files in the project; select the last one for `role` (train/test)."""
    project = state.current_project()
    seen = st.session_state.setdefault("_saved_uploads", set())
    for f in files:
        if f is None or f.file_id in seen:
            continue
        try:
            path = project.save_upload(f.name, f.getvalue())
        except ValueError as exc:
            st.error(str(exc))
            continue
        seen.add(f.file_id)
        update(**{role: str(path), "is_demo": False})


def validate(choice: DataChoice) -> DataChoice:
    """Load, validate and split; the result (split id, sizes, warnings) is saved with the choice.

    Raises DataError / ValueError with a message for the user.
    """
    if not choice.train:
        raise DataError("choose the demo or upload a training file first.")
    spec = DataSpec(
        train=choice.train,
        test=choice.test or None,
        text_col=choice.text_col or None,
        label_col=choice.label_col or None,
        task=choice.task or None,
        split_dir=str(state.current_project().splits_dir),
    )
    ds = prepare_dataset(spec)
    done = dataclasses.replace(
        choice,
        text_col=ds.text_col,
        label_col=ds.label_col,
        split_task=ds.task,
        split_id=ds.split_id,
        n_train=len(ds.train_texts),
        mean_words=sum(len(t.split()) for t in ds.train_texts) / max(len(ds.train_texts), 1),
        n_test=len(ds.test_texts),
        labels=ds.labels if ds.task == "classification" else [],
        warnings=list(ds.warnings),
    )
    state.set_data_choice(done)
    return done
