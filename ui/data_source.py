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
from ui.safe import plain
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


COLUMN_WIDGETS = ("text_col", "label_col", "task")  # widget keys re-detected for a new file


def update(**changes: Any) -> None:
    """Change the data choice; anything but a new split id invalidates the validated split.
    A new training file clears the columns (and their widgets) so they are detected again."""
    current = state.get_state().data
    if all(getattr(current, k) == v for k, v in changes.items()):
        return
    if changes.get("train", current.train) != current.train:
        changes.setdefault("text_col", "")
        changes.setdefault("label_col", "")
        for key in COLUMN_WIDGETS:
            st.session_state.pop(key, None)
    if "split_id" not in changes:
        changes.update(
            split_id="", split_task="", mean_words=0.0, n_train=0, n_test=0, labels=[], warnings=[]
        )
    state.set_data_choice(dataclasses.replace(current, **changes))


def use_demo() -> None:
    update(train=str(demo_path()), test="", is_demo=True, text_col="text", label_col="category")


def use_uploads() -> None:
    """The user chose to upload: the demo stops being the data at once (nothing validates it
    while a file is still on its way); the newest upload of the project is selected, if any."""
    if not state.get_state().data.is_demo:
        return
    files = state.current_project().uploads()
    newest = max(files, key=lambda p: p.stat().st_mtime) if files else None
    update(train=str(newest) if newest else "", test="", is_demo=False)


def source_index(choice: DataChoice) -> int | None:
    """Which source radio option reflects `choice`: 0 demo, 1 uploads, None nothing chosen yet
    (a new project starts with neither)."""
    if choice.is_demo:
        return 0
    if choice.train or state.current_project().uploads():
        return 1
    return None


def sync_widget(key: str, value: str, options: list[str]) -> None:
    """Drive a selectbox from the data choice through session state (never also an `index`,
    which makes Streamlit warn)."""
    if value in options and st.session_state.get(key) != value:
        st.session_state[key] = value


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
            st.error(plain(str(exc)))
            continue
        seen.add(f.file_id)
        # The new file becomes the selected one (its picker follows: see sync_widget).
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
