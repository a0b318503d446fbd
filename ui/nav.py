"""The app's pages in one place: app.py registers them, pages link to each other through them
(absolute paths, so links work whatever the main script's folder is)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parents[1] / "pages"
# key -> (file in pages/, title, icon); the first is the default page. Emoji, never
# ":material/...:": a page opened by its own URL on a fresh server runs once before app.py's
# page config, and Streamlit 1.67 makes its icon the favicon, fetched from fonts.gstatic.com for
# a material one. An emoji favicon is an inline SVG: nothing leaves the browser.
PAGES: dict[str, tuple[str, str, str]] = {
    "questionnaire": ("questionnaire.py", "Questionnaire", "📝"),
    "costs": ("costs.py", "Costs & ROI", "💰"),
    "data": ("data_baseline.py", "Data & baseline", "🗂️"),
    "fine_tune": ("fine_tune.py", "Fine-tune", "🛠️"),
    "compare": ("compare.py", "Compare", "⚖️"),
    "model": ("model.py", "Model", "🤖"),
    "runs": ("runs.py", "Runs", "🕘"),
}
LINK_ICON = "➡️"


_run = threading.local()  # a script run executes app.py and its page in one thread


_PINNED: set[str] = set()  # module state: lives across script runs, which re-execute app.py


def pin_script_folder(script: str) -> None:
    """Keep the main script's folder on sys.path for good (call it on every run).

    Streamlit inserts that folder at sys.path[0] for each script run and removes it afterwards
    (`modified_sys_path`). Python's import walks the live sys.path list, so a background job
    thread importing a module for the first time while a rerun removes index 0 can skip the
    next entry, site-packages: "No module named 'sentence_transformers'" in a baseline job
    (seen once in a fresh clone's test run). With a second copy pinned, later runs find the
    folder already there and leave sys.path alone.
    """
    folder = os.path.dirname(os.path.abspath(script))
    if folder not in _PINNED:
        sys.path.insert(0, folder)
        _PINNED.add(folder)


@contextmanager
def app_running() -> Iterator[None]:
    """app.py wraps `navigation.run()` in this, so pages know they run inside the app."""
    _run.active = True
    try:
        yield
    finally:
        _run.active = False


def require_app() -> None:
    """First line of every page: make sure app.py ran (its sidebar, page config, navigation).

    With a `pages/` folder next to app.py, Streamlit starts in its legacy multipage mode, and a
    fresh server asked for /costs runs pages/costs.py alone. Registering the pages here leaves
    that mode for good, and the rerun goes through app.py.
    """
    if getattr(_run, "active", False):
        return
    st.navigation([page(key) for key in PAGES], position="hidden")
    st.rerun()


def page(key: str) -> st.Page:
    file, title, icon = PAGES[key]
    return st.Page(PAGES_DIR / file, title=title, icon=icon, default=key == "questionnaire")


def link(key: str, label: str) -> None:
    st.page_link(page(key), label=label, icon=LINK_ICON)
