"""The sidebar: choose or create a project (each a folder of the workspace)."""

from __future__ import annotations

import streamlit as st

from ui import background, state
from ui.safe import plain


def _create() -> None:
    name = st.session_state.get("new_project", "")
    try:
        state.switch_project(name)
    except ValueError as exc:
        st.session_state["new_project_error"] = str(exc)
        return
    st.session_state["new_project_error"] = ""
    st.session_state["new_project"] = ""
    st.session_state["project_select"] = state.get_state().project


def _switch() -> None:
    state.switch_project(st.session_state["project_select"])


def project_picker() -> None:
    # Every page passes here first: the place to make sure Ctrl+C stops this server promptly.
    background.guard_shutdown()
    s = state.get_state()
    projects = state.workspace().projects()
    if s.project not in projects:
        projects.append(s.project)
    # The widget's value comes from session state only (a default `index` as well would make
    # Streamlit warn, with a stack trace, after "Create" set the state).
    if st.session_state.get("project_select") != s.project:
        st.session_state["project_select"] = s.project
    with st.sidebar:
        st.selectbox(
            "Project",
            projects,
            key="project_select",
            on_change=_switch,
            help="Each project keeps its own answers, data, results and runs on disk.",
        )
        with st.expander("New project"):
            st.text_input("Name", key="new_project", placeholder="claims-routing")
            st.button("Create", on_click=_create, key="create_project")
            if st.session_state.get("new_project_error"):
                st.error(plain(st.session_state["new_project_error"]))
        st.caption(f"Workspace: `{state.workspace().root}`")
