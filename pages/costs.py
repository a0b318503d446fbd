"""Costs & ROI: the verdict first; budget fit of the recommended option; break-even as a range
against today's process (and the alternatives); every option's monthly running cost broken down;
the fine-tuning project's cost lines beside the article's ranges; sensitivity; assumptions."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from advisor import Answers, sensitivity
from advisor.text import (
    IN_TEXT,
    PART_NAMES,
    PARTS,
    break_even_line,
    budget_line,
    cost_rows,
    monthly_rows,
    reference_line,
)
from ui import charts, nav, state
from ui.assumption_table import overrides_from, table
from ui.safe import plain
from ui.verdict import (
    current_report,
    measured,
    months_text,
    short_usd,
    show_break_even,
    show_headline,
    show_reasons,
)

nav.require_app()


@st.cache_data(show_spinner="Testing each assumption at its low and high value…", max_entries=32)
def _sensitivity(answers_json: str, overrides_json: str, measured_json: str) -> list[dict]:
    # Cached on the JSON of answers + overrides + measured: ~100 estimates per call.
    a = state.base_assumptions().with_overrides(json.loads(overrides_json))
    return sensitivity(Answers.from_json(answers_json), a, json.loads(measured_json))


st.title("Costs & ROI")
s = state.get_state()
answers, assumptions = state.answers(), state.assumptions()
if s.answers_error:
    st.error(
        f"{plain(s.answers_error)}. Showing your last valid answers; fix it on the Questionnaire."
    )
if s.overrides_error and not state.valid_overrides():
    st.error(f"Saved assumption overrides are invalid and were ignored: {plain(s.overrides_error)}")
evidence = measured()
report = current_report()
rec, budget, h = report["recommendation"], report["budget"], report["horizon_months"]
costs = report["costs"]

show_headline(report)
headline = report["break_even"]["rows"][0]
c1, c2, c3, c4 = st.columns(4)
c1.metric(f"Set-up, {IN_TEXT[rec]}", f"${budget['setup_usd']['expected']:,.0f}",
          help=f"Range {short_usd(budget['setup_usd']['low'])} – "
          f"{short_usd(budget['setup_usd']['high'])} (best – worst case)")  # fmt: skip
if not budget["fits"]:
    fit, risk = f"short by {short_usd(budget['shortfall_usd'])}", None
else:
    fit = "fits"
    risk = (
        None if budget["fits_high"] else f"high case {short_usd(budget['high_shortfall_usd'])} over"
    )
c2.metric("Budget fit", fit, delta=risk, delta_color="inverse", delta_arrow="off",
          help=plain(budget_line(budget)))  # fmt: skip
c3.metric(
    f"Break-even vs {IN_TEXT[headline['against']]}",
    months_text(headline["expected"]),
    help=plain(break_even_line(headline, h)),
)
c4.metric(f"Cost over {h} months", short_usd(report["horizon_costs"][rec]["expected"]))
st.markdown(plain(budget_line(budget)))
show_break_even(report)
show_reasons(report)
st.caption(plain(f"Fine-tuning plan: {report['plan']['label']}. {report['plan']['trial_note']}"))

ruled_out = [o for o, why in report["excluded"].items() if why]
st.altair_chart(
    charts.cumulative_costs(
        report["series"], headline["expected"], ruled_out,
        label=headline["label"], option=rec,
    ),
    width="stretch",
)  # fmt: skip

st.subheader("Monthly running cost, per option")
st.altair_chart(charts.monthly_breakdown(report["monthly_running_costs"]), width="stretch")
st.dataframe(
    pd.DataFrame(monthly_rows(report), columns=["Option", *(PART_NAMES[p] for p in PARTS),
                                                "Total"]),
    hide_index=True,
    width="stretch",
)  # fmt: skip
serving = report["serving"]
where = "a managed endpoint" if serving["count"] == 0 else (
    f"{serving['count']} x {serving['device']}")  # fmt: skip
st.caption(
    plain(f"The fine-tuned model serves on {where}: the cheapest device that holds "
          f"{report['plan']['base_model']} and answers in time at your volume.")
)  # fmt: skip

st.subheader("A first fine-tuning project")
left, right = st.columns(2)
with left:
    st.altair_chart(charts.cost_bars(costs), width="stretch")
with right:
    st.dataframe(pd.DataFrame(cost_rows(report), columns=["Part", "Low", "Expected", "High"]),
                 hide_index=True, width="stretch")  # fmt: skip
st.markdown("**The article's reference ranges beside this estimate**")
st.markdown("\n".join(f"- {plain(reference_line(r))}" for r in report["reference_ranges"]))

st.subheader("What moves fine-tuning's break-even most")
rows = _sensitivity(
    answers.to_json(),
    json.dumps(state.valid_overrides(), sort_keys=True),
    json.dumps(evidence, sort_keys=True),
)[:10]
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
    st.info("Fine-tuning does not break even for any figure in its range: nothing to rank.")

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
            st.error(
                f"Not applied: {plain(str(exc))}. Your edits are still in the table; correct and "
                "apply."
            )
    if s.overrides:
        st.caption(f"{len(s.overrides)} figure(s) overridden in this project.")
        if st.button("Reset all assumptions to the packaged figures"):
            state.set_overrides({})
            st.rerun()
