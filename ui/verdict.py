"""Rendering of the advisor's verdict (shared by Questionnaire, Costs, Fine-tune and Compare).

Words and numbers come from advisor.text, so the app says what the CLI and the memo say."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from advisor.text import (
    OPTION_HEAD,
    OPTION_NAMES,
    VERDICTS,
    break_even_line,
    budget_line,
    option_rows,
    reason_groups,
    usd_short,
)
from advisor.text import months as _months
from ui.safe import plain

VERDICT_TEXT = VERDICTS


def measured() -> dict[str, float]:
    """Accuracy measured on the current project's saved split (baseline; trial fine-tune from
    the last comparison), {} before any measurement."""
    from comparison.project import measured_accuracy
    from ui import state

    s = state.get_state()
    split = s.data.split_id if s.data.ready else ""
    return measured_accuracy(state.current_project().root, split)


def current_report() -> dict[str, Any]:
    """The advisor's report for the current project, with its measured accuracy (the small
    classifier and kNN as RAG's proxy from the baseline, the trial from the last comparison)
    and the baseline's learning curve, with the intervals and paired tests behind them: the one
    verdict every page shows."""
    from comparison.project import project_report
    from ui import state

    s = state.get_state()
    split = s.data.split_id if s.data.ready else ""
    root = state.current_project().root
    return project_report(root, split, state.answers(), state.assumptions())


def md(text: str) -> str:
    """Advisor text for st.markdown, shown verbatim ('$' would start LaTeX)."""
    return plain(text)


def verdict_title(report: Mapping[str, Any]) -> str:
    return VERDICT_TEXT.get(report["recommendation"], str(report["recommendation"]))


def short_usd(v: float) -> str:
    """$950, $25k, $1.2M: fits a metric tile."""
    return usd_short(v)


def months_text(months: float | None) -> str:
    return _months(months, None)


def headline_text(report: Mapping[str, Any]) -> str:
    """'Verdict: Deploy the small classifier trained on your labels — measure first'."""
    first = " — measure first" if report.get("measure_first") else ""
    return f"Verdict: {verdict_title(report)}{first}"


def show_headline(report: Mapping[str, Any]) -> None:
    """The verdict, then what it rests on: measure first, the swap point, the evidence, a
    fallback (one block, verdict first)."""
    st.subheader(headline_text(report))
    if report.get("measure_first"):
        st.warning(md(report["measurement"]["message"]), icon=":material/straighten:")
    if report.get("swap", {}).get("message"):
        st.caption(md(f"Where the verdict would change: {report['swap']['message']}."))
    if report.get("evidence", {}).get("message"):
        st.info(md(report["evidence"]["message"]), icon=":material/science:")
    if report.get("fallback"):
        st.warning(md(f"Note: {report['fallback']}."))


def show_options(report: Mapping[str, Any], key: str = "options") -> None:
    """Every option costed the same way, with its accuracy and where that comes from."""
    frame = pd.DataFrame(option_rows(report), columns=OPTION_HEAD)
    frame = frame.rename(columns={"Over the horizon": f"Over {report['horizon_months']} months"})
    st.dataframe(frame, hide_index=True, width="stretch", key=key)
    for o, v in report["options"].items():
        if v.get("proxy"):  # say what stands in for the option, and how far it carries
            st.caption(md(f"{OPTION_NAMES[o]} accuracy, {v['accuracy_note']}."))


def show_reasons(report: Mapping[str, Any]) -> None:
    """Reasons for the verdict, against it, and about the other options, each labelled."""
    for title, messages in reason_groups(report):
        st.markdown(f"**{md(title)}**")
        st.markdown("\n".join(f"- {md(m)}" for m in messages))


def show_break_even(report: Mapping[str, Any]) -> None:
    rows = report["break_even"]["rows"]
    h = report["break_even"]["horizon_months"]
    if not rows:
        st.markdown("**Break-even**: nothing to pay back (no automated option is allowed).")
        return
    st.markdown("**Break-even** (best / expected / worst)")
    st.markdown("\n".join(f"- {md(break_even_line(r, h))}" for r in rows))


def plan_text(report: Mapping[str, Any]) -> str:
    p = report["plan"]
    return f"Fine-tuning plan: {p['label']}, trained on {p['trains_on']}."


def show_verdict(report: Mapping[str, Any]) -> None:
    """Verdict first, then budget fit, break-even, the plan and the reasons."""
    show_headline(report)
    if report["fine_tune_justified"]:
        st.success("Fine-tuning is the recommendation.", icon=":material/check_circle:")
    else:
        st.caption(
            "The Fine-tune page stays locked unless you override it explicitly; a trial on your "
            "data still tells you what fine-tuning would add."
        )
    st.markdown(md(budget_line(report["budget"])))
    if report.get("labelling"):
        st.caption(md(report["labelling"]["message"]))
    show_break_even(report)
    st.caption(md(plan_text(report)))
    show_reasons(report)
