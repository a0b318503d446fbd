"""Questionnaire: every advisor answer, with its help text; the verdict updates as you answer."""

from __future__ import annotations

import streamlit as st

from advisor import Answers
from ui import nav, state
from ui.verdict import current_report, show_verdict
from ui.widgets import answer_widget, grouped

nav.require_app()

st.title("Should you fine-tune?")
st.caption(
    "Answer what you know; every question has a sensible default and a help text (?). "
    "The verdict on the right updates as you answer, and everything is saved to the project."
)

s = state.get_state()
figures = state.assumptions()
specs = Answers.fields_help(
    gpu_choices=figures.gpu_names(), model_choices=list(figures.model_sizes())
)
left, right = st.columns([3, 2], gap="large")
with left:
    groups = grouped(specs)
    for tab, (group, members) in zip(st.tabs(list(groups)), groups.items()):
        with tab:
            cols = st.columns(2)
            for i, spec in enumerate(members):
                with cols[i % 2]:
                    answer_widget(spec, s.answers_draft.get(spec["name"], spec["default"]))

with right:
    if s.answers_error:
        st.error(
            f"{s.answers_error}. The verdict below uses your last valid answers; "
            "your entry is kept so you can correct it."
        )
    show_verdict(current_report())
    nav.link("costs", "See costs, budget fit and break-even")
