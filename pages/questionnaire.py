"""Questionnaire: every advisor answer, with its help text; the verdict updates as you answer.
Human speed in minutes per item or items per hour; the number of classes is read from the
uploaded data when not given; the plan shows its real model size and where it trains."""

from __future__ import annotations

import streamlit as st

from advisor import Answers
from ui import nav, state
from ui.safe import plain
from ui.verdict import current_report, plan_text, show_verdict
from ui.widgets import answer_widget, fill_classes_from_data, grouped, speed_widget

nav.require_app()

st.title("Should you fine-tune?")
st.caption(
    "Answer what you know; every question has a sensible default and a help text (?). "
    "The verdict on the right updates as you answer, and everything is saved to the project."
)

s = state.get_state()
fill_classes_from_data(state.answers(), s.data)
figures = state.assumptions()
specs = Answers.fields_help(
    gpu_choices=figures.gpu_names(), model_choices=list(figures.model_sizes())
)
report = current_report()
plan = report["plan"]
# Answers whose 0 means "not given": an empty box that says what applies, never a bare 0.00.
EMPTY = {
    "min_accuracy": "no hard bar",
    "base_model_params_b": f"{plan['size']} ({plan['base_model']})",
}
left, right = st.columns([3, 2], gap="large")
with left:
    groups = grouped(specs)
    for tab, (group, members) in zip(st.tabs(list(groups)), groups.items()):
        with tab:
            cols = st.columns(2)
            for i, spec in enumerate(members):
                with cols[i % 2]:
                    value = s.answers_draft.get(spec["name"], spec["default"])
                    if spec["name"] == "human_minutes_per_item":
                        speed_widget(spec, value)
                    else:
                        answer_widget(spec, value, EMPTY.get(spec["name"]))
            if group == "What you know so far":
                bar = state.answers().min_accuracy
                st.caption(
                    f"Accuracy bar: {bar:.0%} of items right." if bar > 0 else
                    "No hard accuracy bar: every error is costed as a person redoing the item."
                )  # fmt: skip
            if group == "The task" and s.data.ready and s.data.labels:
                st.caption(f"Your data has {len(s.data.labels):,} classes.")
            if group == "The fine-tuning plan":
                st.caption(
                    plain(
                        f"{plan_text(report)} Size: {plan['size']} parameters (a size of 0 "
                        f"above means the named model's own). {plan['trial_note']}"
                    )
                )

with right:
    if s.answers_error:
        st.error(
            f"{s.answers_error}. The verdict below uses your last valid answers; "
            "your entry is kept so you can correct it."
        )
    show_verdict(report)
    nav.link("costs", "See every option's costs, budget fit and break-even")
