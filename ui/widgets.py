"""Widgets generated from field metadata (advisor.Answers.fields_help()), so the questions, help
text and units are written once, in the advisor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from ui import state

# How the questionnaire is grouped on screen; fields not listed land in "Other".
GROUPS: dict[str, tuple[str, ...]] = {
    "The task": (
        "task_type",
        "labeled_examples",
        "examples_to_label",
        "avg_input_tokens",
        "avg_output_tokens",
        "data_change",
        "stage",
    ),
    "What you know so far": (
        "tried_prompting",
        "tried_rag",
        "prior_results_acceptable",
        "min_accuracy",
        "needs_private_infra",
        "needs_strict_format",
    ),
    "Volume and money": (
        "monthly_volume",
        "human_minutes_per_item",
        "human_hourly_cost_usd",
        "total_budget_usd",
        "in_house_ml_team",
    ),
    "The fine-tuning plan": ("base_model", "base_model_params_b", "method", "gpu", "epochs"),
}


def widget_key(name: str) -> str:
    return f"q_{name}"


def _on_change(name: str) -> None:
    state.update_answer(name, st.session_state[widget_key(name)])


def _label(spec: Mapping[str, Any]) -> str:
    """'Monthly volume (items/month)'; no unit when the label already says it ('Epochs')."""
    unit, label = spec.get("unit") or "", spec["label"]
    if not unit or unit.lower().rstrip("s") in label.lower():
        return label
    return f"{label} ({unit})"


def answer_widget(spec: Mapping[str, Any], value: Any) -> None:
    """One input for one Answers field. No min_value: the advisor validates and explains."""
    name, key = spec["name"], widget_key(spec["name"])
    common = {"key": key, "help": spec["help"], "on_change": _on_change, "args": (name,)}
    label = _label(spec)
    if spec["type"] == "bool":
        st.toggle(label, value=bool(value), **common)
    elif spec["type"] == "choice":
        choices = list(spec["choices"] or [])
        if value not in choices:
            choices.append(value)
        st.selectbox(label, choices, index=choices.index(value), **common)
    elif spec["type"] == "int":
        st.number_input(label, value=int(value), step=1, **common)
    elif spec["type"] == "str":
        st.text_input(label, value=str(value), **common)
    else:
        step = 0.01 if spec.get("unit") == "fraction" else _float_step(float(value))
        st.number_input(label, value=float(value), step=step, **common)


def _float_step(value: float) -> float:
    """A step that suits the magnitude (0.5 for minutes, 1,000 for a budget)."""
    magnitude = abs(value)
    if magnitude >= 10_000:
        return 1000.0
    if magnitude >= 100:
        return 10.0
    if magnitude >= 10:
        return 1.0
    return 0.5


def grouped(specs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Specs per on-screen group, in the advisor's order within a group."""
    by_name = {s["name"]: s for s in specs}
    out: dict[str, list[dict[str, Any]]] = {}
    placed: set[str] = set()
    for group, names in GROUPS.items():
        out[group] = [by_name[n] for n in names if n in by_name]
        placed.update(names)
    rest = [s for s in specs if s["name"] not in placed]
    if rest:
        out["Other"] = rest
    return {g: s for g, s in out.items() if s}
