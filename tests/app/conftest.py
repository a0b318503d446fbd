"""Fixtures for the app tests: a fresh workspace per test and an AppTest of app.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui.nav import PAGES

REPO = Path(__file__).resolve().parents[2]
ENTRY = Path(__file__).resolve().parent / "app_entry.py"  # runs app.py; see its docstring
TIMEOUT = 60  # seconds per script run: the first import of sklearn/scipy is slow on 2 cores


@pytest.fixture
def workspace_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "workspace"
    monkeypatch.setenv("ADVISOR_WORKSPACE", str(ws))
    return ws


@pytest.fixture
def app(workspace_dir: Path) -> Callable[[str], AppTest]:
    """open_page("costs") -> an AppTest that has run app.py and switched to that page."""

    def open_page(page: str | None = None) -> AppTest:
        at = AppTest.from_file(str(ENTRY), default_timeout=TIMEOUT).run()
        assert not at.exception, at.exception
        if page:
            go(at, page)
        return at

    return open_page


def go(at: AppTest, page: str) -> AppTest:
    """Navigate to a page by its key in ui.nav.PAGES and run it."""
    at.switch_page(f"../../pages/{PAGES[page][0]}").run()
    assert not at.exception, at.exception
    return at


def errors(at: AppTest) -> list[str]:
    """The error messages' Markdown source (user strings arrive escaped by ui.safe.plain)."""
    return [e.value for e in at.error]


def shown_errors(at: AppTest) -> list[str]:
    """The error messages as the user reads them (Markdown escapes removed)."""
    return [unescape(e.value) for e in at.error]


def unescape(text: str) -> str:
    """Text passed through ui.safe.plain, as displayed."""
    import re

    return re.sub(r"\\(.)", r"\1", text)


def charts(at: AppTest) -> list:
    return list(at.get("vega_lite_chart"))


def app_state(at: AppTest):
    """The app's typed session state (ui.state.AppState) inside an AppTest."""
    from ui.state import _KEY

    return at.session_state[_KEY]
