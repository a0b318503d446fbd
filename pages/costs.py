"""Costs & ROI: cost breakdown, budget fit, break-even, sensitivity; assumptions editable."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from advisor import Answers, estimate, sensitivity
from ui import charts, nav, state
from ui.assumption_table import overrides_from, table
from ui.verdict import months_text, short_usd, verdict_title

nav.require_app()


@st.cache_data(show_spinner="Testing each assumption at its low and high value…", max_entries=32)
def _sensitivity(answers_json: str, overrides_json: str) -> list[dict]:
    # Cached on the JSON of answers + overrides: ~100 estimates, worth not repeating per rerun.
    a = state.base_assumptions().with_overrides(json.loads(overrides_json))
    return sensitivity(Answers.from_json(answers_json), a)


st.title("Costs & ROI")
s = state.get_state()
answers, assumptions = state.answers(), state.assumptions()
if s.answers_error:
    st.error(f"{s.answers_error}. Showing your last valid answers; fix it on the Questionnaire.")
if s.overrides_error and not state.valid_overrides():
    st.error(f"Saved assumption overrides are invalid and were ignored: {s.overrides_error}")
report = estimate(answers, assumptions).to_dict()
costs, budget = report["costs"], report["budget"]

st.subheader(f"Verdict: {verdict_title(report)}")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Up-front cost, expected", f"${costs['total']['expected']:,.0f}")
c2.metric("Range", f"{short_usd(costs['total']['low'])} – {short_usd(costs['total']['high'])}")
c3.metric(
    "Budget fit",
    "fits" if budget["fits"] else f"short by ${budget['shortfall_usd']:,.0f}",
    help=f"Your budget: ${budget['total_budget_usd']:,.0f}",
)
c4.metric("Break-even vs today's process", months_text(report["break_even_months"]))

left, right = st.columns(2)
with left:
    st.altair_chart(charts.cost_bars(costs), width="stretch")
    frame = pd.DataFrame(costs).T
    frame.index = [charts.part_label(p) for p in frame.index]
    st.dataframe(frame.style.format("${:,.0f}"), width="stretch")
with right:
    st.altair_chart(
        charts.cumulative_costs(report["series"], report["break_even_months"]), width="stretch"
    )
    monthly = {k: v["expected"] for k, v in report.get("monthly_running_costs", {}).items()}
    st.caption(
        "Monthly running cost, expected: "
        + ", ".join(f"{charts.OPTION_NAMES.get(k, k)} ${v:,.0f}" for k, v in monthly.items())
    )

rows = _sensitivity(answers.to_json(), json.dumps(state.valid_overrides(), sort_keys=True))[:10]
tornado = [
    {"label": r["label"], "low": r["break_even_low"], "high": r["break_even_high"]} for r in rows
]
if tornado:
    st.altair_chart(
        charts.sensitivity_tornado(tornado, report["break_even_months"]), width="stretch"
    )
    st.caption(
        "Bars span break-even with each assumption at its low and high value; "
        "'never' is drawn at the planning horizon."
    )
else:
    st.info("Fine-tuning does not break even for any assumption in its range: nothing to rank.")

with st.expander("Assumptions (editable, with sources)", expanded=False):
    base = state.base_assumptions()
    with st.form("assumptions_form"):
        edited = st.data_editor(
            table(assumptions),
            key="assumptions_editor",
            disabled=["key", "label", "unit", "source", "as_of"],
            hide_index=True,
            width="stretch",
        )
        apply = st.form_submit_button("Apply assumptions")
    if apply:
        try:
            state.set_overrides(overrides_from(edited, base, s.overrides))
            st.rerun()
        except ValueError as exc:
            st.error(f"Not applied: {exc}. Your edits are still in the table; correct and apply.")
    if s.overrides:
        st.caption(f"{len(s.overrides)} figure(s) overridden in this project.")
        if st.button("Reset all assumptions to the packaged figures"):
            state.set_overrides({})
            st.rerun()
