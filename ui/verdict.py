"""Rendering of the advisor's verdict (shared by Questionnaire, Costs and Fine-tune)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

VERDICT_TEXT = {
    "prompting": "Stay with prompting",
    "rag": "Use RAG (retrieval-augmented generation)",
    "fine_tune": "Fine-tune a model",
}

# Which way a rule pushes the verdict (rules carry "direction" in the advisor's report).
DIRECTION_ICON = {
    "prompting": ":grey-background[prompting]",
    "rag": ":blue-background[RAG]",
    "fine_tune": ":green-background[fine-tune]",
}


def verdict_title(report: Mapping[str, Any]) -> str:
    return VERDICT_TEXT.get(report["recommendation"], str(report["recommendation"]))


def short_usd(v: float) -> str:
    """$950, $25.0k, $1.2M: fits a metric tile."""
    if abs(v) >= 1e6:
        return f"${v / 1e6:.1f}M"
    if abs(v) >= 1e4:
        return f"${v / 1e3:.0f}k"
    return f"${v:,.0f}"


def months_text(months: float | None) -> str:
    return "never (within the horizon)" if months is None else f"{months:.1f} months"


def show_verdict(report: Mapping[str, Any]) -> None:
    """Verdict, whether fine-tuning is justified, and every rule that fired."""
    st.subheader(f"Verdict: {verdict_title(report)}")
    if report["fine_tune_justified"]:
        st.success("Fine-tuning is justified by your answers.", icon=":material/check_circle:")
    else:
        st.info(
            "Fine-tuning is not justified yet: the Fine-tune page stays locked unless you "
            "override it explicitly.",
            icon=":material/lock:",
        )
    st.markdown("**Why**")
    for reason in report["reasons"]:
        arrow = DIRECTION_ICON.get(reason.get("direction", ""), "")
        st.markdown(f"- {arrow} **{reason['rule'].replace('_', ' ')}**: {reason['message']}")
    costs, budget = report["costs"]["total"], report["budget"]
    fit = "fits" if budget["fits"] else f"short by ${budget['shortfall_usd']:,.0f}"
    st.markdown(
        f"| Fine-tuning cost (expected) | Budget | Break-even |\n|---|---|---|\n"
        f"| ${costs['expected']:,.0f} | {fit} | {months_text(report['break_even_months'])} |"
    )
