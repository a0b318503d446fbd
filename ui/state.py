"""The one typed home of the app's session state.

Streamlit drops a widget's state when the user navigates to another page, so everything the user
entered lives here (and on disk in the project folder), never only in widget keys. The project
name also sits in the URL (?project=...), so a browser refresh comes back to the same project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from advisor import Answers, Assumptions, load_assumptions
from ui.workspace import (
    DEFAULT_PROJECT,
    DataChoice,
    Project,
    Workspace,
    check_project_name,
    workspace_root,
)

_KEY = "_advisor_app_state"
_KEEP_ON_SWITCH = {_KEY, "project_select", "new_project", "new_project_error"}


@dataclass
class AppState:
    """Per-browser-session state. Drafts may be invalid; what is valid is also saved to disk."""

    project: str = DEFAULT_PROJECT
    answers_draft: dict[str, Any] = field(default_factory=dict)  # raw widget values
    answers_error: str = ""  # ValueError of the draft, '' when valid
    overrides: dict[str, Any] = field(default_factory=dict)  # assumption overrides
    overrides_error: str = ""
    data: DataChoice = field(default_factory=DataChoice)
    selected_run: str = ""  # trainer run id shown on Fine-tune / Compare / Model
    loaded: bool = False  # drafts read from the project folder


def workspace() -> Workspace:
    """The Workspace at $ADVISOR_WORKSPACE (default ./workspace), one object per root."""
    return _workspace(str(workspace_root()))


@st.cache_resource
def _workspace(root: str) -> Workspace:
    return Workspace(Path(root))


def get_state() -> AppState:
    """This session's AppState, loaded from the project folder the first time."""
    state = st.session_state.get(_KEY)
    if not isinstance(state, AppState):
        state = AppState(project=_project_from_url())
        st.session_state[_KEY] = state
    if not state.loaded:
        _load(state)
    return state


def _project_from_url() -> str:
    """?project=... when the URL names one, else the project used last (survives a restart)."""
    try:
        if "project" in st.query_params:
            return check_project_name(st.query_params["project"])
    except ValueError:
        return DEFAULT_PROJECT
    return workspace().last_project()


def _load(state: AppState) -> None:
    project = current_project(state)
    state.answers_draft = {**Answers().to_dict(), **project.load_answers()}
    state.overrides = project.load_overrides()
    state.data = project.load_data_choice()
    state.answers_error = state.overrides_error = ""
    state.selected_run = ""
    state.loaded = True


def switch_project(name: str) -> None:
    """Make `name` (created when new) the current project; raises ValueError on a bad name."""
    state = get_state()
    state.project = check_project_name(name)
    workspace().project(state.project)
    workspace().remember_project(state.project)
    st.query_params["project"] = state.project
    # Widgets keep their own values; drop them so the pages show the new project's values.
    for key in list(st.session_state):
        if key not in _KEEP_ON_SWITCH:
            del st.session_state[key]
    state.loaded = False
    _load(state)


def current_project(state: AppState | None = None) -> Project:
    return workspace().project((state or get_state()).project)


# --- questionnaire ----------------------------------------------------------------------------


def update_answer(name: str, value: Any) -> None:
    """Record one answer; save the whole set when it is valid, else keep the error to show."""
    state = get_state()
    state.answers_draft[name] = value
    try:
        answers = Answers.from_dict(state.answers_draft)
    except ValueError as exc:
        state.answers_error = str(exc)
        return
    state.answers_error = ""
    current_project(state).save_answers(answers.to_dict())


def answers() -> Answers:
    """The current answers when valid, else the last valid ones saved (or the defaults)."""
    state = get_state()
    try:
        return Answers.from_dict(state.answers_draft)
    except ValueError:
        try:
            return Answers.from_dict(current_project(state).load_answers())
        except ValueError:
            return Answers()


# --- assumptions ------------------------------------------------------------------------------


@st.cache_resource
def base_assumptions() -> Assumptions:
    """The packaged figures (parsed once per process)."""
    return load_assumptions()


def assumptions() -> Assumptions:
    """Packaged figures with this project's overrides (ignored if they became invalid)."""
    overrides = valid_overrides()
    return base_assumptions().with_overrides(overrides) if overrides else base_assumptions()


def valid_overrides() -> dict[str, Any]:
    """The project's overrides when they apply cleanly, else {} (the error is kept to show)."""
    state = get_state()
    try:
        base_assumptions().with_overrides(state.overrides)
    except ValueError as exc:
        state.overrides_error = str(exc)
        return {}
    return state.overrides


def set_overrides(overrides: dict[str, Any]) -> None:
    """Apply and save assumption overrides; raises ValueError (nothing saved) when invalid."""
    state = get_state()
    base_assumptions().with_overrides(overrides)  # validates
    state.overrides = overrides
    state.overrides_error = ""
    current_project(state).save_overrides(overrides)


# --- data -------------------------------------------------------------------------------------


def set_data_choice(choice: DataChoice) -> None:
    state = get_state()
    state.data = choice
    current_project(state).save_data_choice(choice)
