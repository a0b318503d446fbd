"""Rendering of the advisor's verdict (shared by Questionnaire, Costs and Fine-tune).

Words and numbers come from advisor.text, so the app says what the CLI and the memo say."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from advisor.text import (
    IN_TEXT,
    VERDICTS,
    break_even_line,
    budget_line,
    reasons_by_stance,
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
    """The advisor's report for the current project, with its measured accuracy: the one
    verdict that the Questionnaire, Costs, Fine-tune and Compare pages all show."""
    from advisor import estimate
    from comparison.project import measured_evidence
    from ui import state

    s = state.get_state()
    split = s.data.split_id if s.data.ready else ""
    accuracy, by = measured_evidence(state.current_project().root, split)
    return estimate(state.answers(), state.assumptions(), accuracy, by).to_dict()


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


def show_headline(report: Mapping[str, Any]) -> None:
    """The verdict, then what evidence or fallback shaped it (one block, verdict first)."""
    st.subheader(f"Verdict: {verdict_title(report)}")
    if report.get("evidence", {}).get("message"):
        st.info(md(report["evidence"]["message"]), icon=":material/science:")
    if report.get("fallback"):
        st.warning(md(f"Note: {report['fallback']}."))


def show_reasons(report: Mapping[str, Any]) -> None:
    """Reasons grouped for and against the verdict, in plain words."""
    groups = reasons_by_stance(report)
    name = IN_TEXT[report["recommendation"]]
    for stance, title in (("for", f"Why {name}"), ("against", "Against, or ruled out")):
        if groups[stance]:
            st.markdown(f"**{title}**")
            st.markdown("\n".join(f"- {md(r['message'])}" for r in groups[stance]))


def show_break_even(report: Mapping[str, Any]) -> None:
    rows = report["break_even"]["rows"]
    h = report["break_even"]["horizon_months"]
    st.markdown("**Break-even** (best / expected / worst)")
    st.markdown("\n".join(f"- {md(break_even_line(r, h))}" for r in rows))


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
    show_break_even(report)
    st.caption(md(f"Fine-tuning plan: {report['plan']['label']}."))
    show_reasons(report)
