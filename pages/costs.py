"""Costs & ROI: the verdict first and what it rests on (swap point, measure first); every option
(today's process, prompting, RAG, the small classifier, fine-tuning) costed the same way with its
accuracy and source; first-year budget fit of the recommendation; break-even as a range; monthly
running cost broken down; the fine-tuning project beside the article's ranges; sensitivity;
assumptions."""

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
    inference_name,
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
    plan_text,
    short_usd,
    show_break_even,
    show_headline,
    show_options,
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
options = report["options"]
project = report["fine_tune_project"]

show_headline(report)
rows = report["break_even"]["rows"]
headline = rows[0] if rows else None
spend = budget["first_year_usd"]
c1, c2, c3, c4 = st.columns(4)
spend_help = (
    "AI spend: set-up, model or API, upkeep, retraining over the first 12 months. Range "
    f"{short_usd(spend['low'])} – {short_usd(spend['high'])} (best – worst case)"
)
c1.metric(f"First year, {IN_TEXT[rec]}", short_usd(spend["expected"]), help=spend_help)
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
    f"Break-even vs {IN_TEXT[headline['against']]}" if headline else "Break-even",
    months_text(headline["expected"]) if headline else "—",
    help=plain(break_even_line(headline, h)) if headline else "Nothing to pay back.",
)
c4.metric(f"Cost over {h} months", short_usd(options[rec]["horizon_usd"]["expected"]))
st.markdown(plain(budget_line(budget)))
if report.get("labelling"):
    st.markdown(plain(report["labelling"]["message"]))

st.subheader("Every option, costed the same way")
show_options(report, key="costs_options")
show_break_even(report)
show_reasons(report)
st.caption(plain(f"{plan_text(report)} {report['plan']['trial_note']}"))

ruled_out = [o for o, v in options.items() if v["ruled_out_by"]]
st.altair_chart(
    charts.cumulative_costs(
        report["series"], headline["expected"] if headline else None, ruled_out,
        label=headline["label"] if headline else IN_TEXT[rec],
        option=headline["option"] if headline else rec,
    ),
    width="stretch",
)  # fmt: skip

st.subheader("Monthly running cost, per option")
monthly = {o: {"parts": v["monthly_parts"]} for o, v in options.items()}
st.altair_chart(charts.monthly_breakdown(monthly), width="stretch")
st.dataframe(
    pd.DataFrame(monthly_rows(report), columns=["Option", inference_name(report),
                                                *(PART_NAMES[p] for p in PARTS[1:]), "Total"]),
    hide_index=True,
    width="stretch",
)  # fmt: skip
serving, small = project["serving"], report["classifier_serving"]
where = "a managed endpoint" if serving["count"] == 0 else (
    f"{serving['count']} x {serving['device']}")  # fmt: skip
st.caption(
    plain(f"The fine-tuned model serves on {where}: the cheapest device that holds "
          f"{report['plan']['base_model']} and answers in time at your volume. The small "
          f"classifier serves on {small['count']} x {small['device']}.")
)  # fmt: skip

st.subheader("A first fine-tuning project")
left, right = st.columns(2)
with left:
    st.altair_chart(charts.cost_bars(project["costs"]), width="stretch")
with right:
    st.dataframe(pd.DataFrame(cost_rows(report), columns=["Part", "Low", "Expected", "High"]),
                 hide_index=True, width="stretch")  # fmt: skip
st.markdown("**The article's reference ranges beside this estimate**")
st.markdown("\n".join(f"- {plain(reference_line(r))}" for r in project["reference_ranges"]))

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
    ft_row = next(r for r in project["reference_ranges"] if r["unit"] == "months")
    ft_break_even = (ft_row["estimate"] or {}).get("expected")  # fine-tuning vs today's
    st.altair_chart(charts.sensitivity_tornado(tornado, ft_break_even), width="stretch")
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
