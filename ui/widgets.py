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
        "n_classes",
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


SPEED_UNITS = ("minutes per item", "items per hour")
SPEED_KEY = "q_speed_unit"
_SPEED_PREF = "_q_speed_unit"  # survives page switches (widget keys do not)


def widget_key(name: str) -> str:
    return f"q_{name}"


def _on_rate(_name: str) -> None:
    """Items per hour -> the advisor's minutes per item (0 items an hour is no answer)."""
    per_hour = st.session_state[widget_key("items_per_hour")]
    value = 60.0 / per_hour if per_hour and per_hour > 0 else per_hour
    state.update_answer("human_minutes_per_item", value)


def speed_widget(spec: Mapping[str, Any], value: Any) -> None:
    """Human speed in the user's unit: minutes per item or items per hour, either way."""
    pref = st.session_state.get(_SPEED_PREF, SPEED_UNITS[0])
    unit = st.radio(
        "Human speed in",
        SPEED_UNITS,
        index=SPEED_UNITS.index(pref),
        horizontal=True,
        key=SPEED_KEY,
        help="Say it as you count it; the advisor works in minutes per item.",
    )
    st.session_state[_SPEED_PREF] = unit
    if unit == SPEED_UNITS[0]:
        answer_widget(spec, value)
        return
    minutes = float(value) if isinstance(value, int | float) else 0.0
    per_hour = round(60.0 / minutes, 2) if minutes > 0 else 0.0
    st.number_input("Items a specialist handles per hour", value=per_hour, step=1.0,
                    key=widget_key("items_per_hour"), on_change=_on_rate,
                    args=("items_per_hour",), help=spec["help"])  # fmt: skip


def _on_change(name: str) -> None:
    value = st.session_state[widget_key(name)]
    # An emptied number box is the answer's "not given" (0: no accuracy bar, the named size).
    state.update_answer(name, 0.0 if value is None else value)


def _label(spec: Mapping[str, Any]) -> str:
    """'Monthly volume (items/month)'; no unit when the label already says it ('Epochs')."""
    unit, label = spec.get("unit") or "", spec["label"]
    if not unit or unit.lower().rstrip("s") in label.lower():
        return label
    return f"{label} ({unit})"


def answer_widget(spec: Mapping[str, Any], value: Any, placeholder: str | None = None) -> None:
    """One input for one Answers field. No min_value: the advisor validates and explains.
    `placeholder`: a number whose 0 means "not given" shows an empty box with this text
    instead of a bare 0.00 (no accuracy bar; the named model's size)."""
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
        fraction = spec.get("unit") == "fraction"
        step = 0.01 if fraction else _float_step(float(value))
        empty = placeholder is not None and float(value) == 0
        st.number_input(label, value=None if empty else float(value), step=step,
                        placeholder=placeholder, **common,
                        **({"format": "%.2f"} if fraction else {}))  # fmt: skip


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


def fill_classes_from_data(answers: Any, data: Any) -> None:
    """Read the number of classes from the validated upload when the user has not given it."""
    labels = getattr(data, "labels", None) or []
    ready = getattr(data, "ready", False) and getattr(data, "split_task", "") == "classification"
    if ready and labels and answers.task_type == "classification" and answers.n_classes == 0:
        state.update_answer("n_classes", len(labels))
        st.session_state.pop(widget_key("n_classes"), None)  # show the value read
