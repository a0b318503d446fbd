"""Altair chart builders. Each takes the plain dicts the packages return (advisor Report.to_dict(),
rag_baseline results, trainer metrics rows) and returns an `alt.Chart`; no streamlit here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd

COST_PARTS = ("data_preparation", "compute", "engineering")
OPTION_NAMES = {
    "human": "Today's human process",
    "prompting": "Prompting",
    "rag": "RAG",
    "fine_tune": "Fine-tuning",
}
OPTION_COLORS = ["#7f7f7f", "#9ecae1", "#e07b39", "#1f6f8b"]  # same order as OPTION_NAMES
SCENARIOS = ("low", "expected", "high")


def _label(name: str) -> str:
    return {"macro_f1": "Macro-F1"}.get(name, name.replace("_", " ").capitalize())


def part_label(name: str) -> str:
    """'data_preparation' -> 'Data preparation'."""
    return _label(name)


def cost_bars(costs: Mapping[str, Mapping[str, float]]) -> alt.Chart:
    """Stacked bars of the up-front cost parts, one bar per scenario (low / expected / high)."""
    rows = [
        {"scenario": s, "part": _label(p), "usd": float(costs[p][s])}
        for s in SCENARIOS
        for p in COST_PARTS
        if p in costs
    ]
    return (
        alt.Chart(pd.DataFrame(rows), title="Up-front cost of a first fine-tuning project")
        .mark_bar()
        .encode(
            x=alt.X("scenario:N", sort=list(SCENARIOS), title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("sum(usd):Q", title="USD", axis=alt.Axis(format="$,.0f")),
            color=alt.Color(
                "part:N", title="Part", scale=alt.Scale(range=["#1f6f8b", "#e07b39", "#99c1b9"])
            ),
            tooltip=["scenario", "part", alt.Tooltip("usd:Q", format="$,.0f")],
        )
    )


def cumulative_costs(series: Mapping[str, Sequence[float]], break_even: float | None) -> alt.Chart:
    """Cumulative cost per option over the horizon, with the fine-tune break-even marked."""
    months = list(series["month"])
    rows = [
        {"month": m, "option": OPTION_NAMES.get(k, _label(k)), "usd": float(v)}
        for k, values in series.items()
        if k != "month"
        for m, v in zip(months, values)
    ]
    frame = pd.DataFrame(rows)
    lines = (
        alt.Chart(frame)
        .mark_line()
        .encode(
            x=alt.X("month:Q", title="Months from today"),
            y=alt.Y("usd:Q", title="Cumulative cost (USD)", axis=alt.Axis(format="$,.0f")),
            color=alt.Color(
                "option:N",
                title="Option",
                scale=alt.Scale(domain=list(OPTION_NAMES.values()), range=OPTION_COLORS),
            ),
            tooltip=["option", "month", alt.Tooltip("usd:Q", format="$,.0f")],
        )
    )
    title = f"Cumulative cost over {int(max(months)) if months else 0} months"
    if break_even is None:
        return lines.properties(title=title + " (fine-tuning does not break even)")
    marker = pd.DataFrame([{"month": break_even, "text": f"break-even {break_even:.1f} mo"}])
    rule = alt.Chart(marker).mark_rule(strokeDash=[4, 4], color="black").encode(x="month:Q")
    text = (
        alt.Chart(marker)
        .mark_text(align="left", dx=4, dy=-120, color="black")
        .encode(x="month:Q", text="text:N")
    )
    return alt.layer(lines, rule, text).properties(title=title)


def sensitivity_tornado(rows: Sequence[Mapping[str, Any]], base: float | None) -> alt.Chart:
    """Tornado: break-even months when each assumption is at its low vs high value.

    rows: {"label", "low", "high"} (months or None = never), biggest swing first.
    """
    horizon = max([r[k] for r in rows for k in ("low", "high") if r.get(k) is not None] + [1.0])
    data = []
    for r in rows:
        lo = horizon if r.get("low") is None else float(r["low"])
        hi = horizon if r.get("high") is None else float(r["high"])
        data.append({"assumption": r["label"], "start": min(lo, hi), "end": max(lo, hi)})
    frame = pd.DataFrame(data, columns=["assumption", "start", "end"])
    order = list(frame["assumption"])
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("assumption:N", sort=order, title=None, axis=alt.Axis(labelLimit=320)),
            x=alt.X("start:Q", title="Break-even (months)"),
            x2="end:Q",
            tooltip=["assumption", "start", "end"],
        )
    )
    title = "Which assumption moves break-even most"
    if base is None:
        return bars.properties(title=title)
    rule = alt.Chart(pd.DataFrame([{"x": base}])).mark_rule(color="black").encode(x="x:Q")
    return alt.layer(bars, rule).properties(title=title)


def accuracy_with_ci(
    rows: Sequence[Mapping[str, Any]], metric: str = "accuracy", label: str | None = None
) -> alt.Chart:
    """Point + 95% interval per system. rows: {"system", metric, f"{metric}_ci95": [lo, hi]};
    `label` names the metric on the chart (default: from `metric`)."""
    label = label or _label(metric)
    frame = pd.DataFrame(
        [
            {
                "system": r["system"],
                "value": r[metric],
                "lo": r[f"{metric}_ci95"][0],
                "hi": r[f"{metric}_ci95"][1],
            }
            for r in rows
        ]
    )
    # The title goes on the layer, not on its children: a titled child squashes the rows.
    base = alt.Chart(frame).encode(
        y=alt.Y("system:N", title=None, sort=None, axis=alt.Axis(labelLimit=320)),
        color=alt.Color("system:N", legend=None),
    )
    bars = base.mark_rule(strokeWidth=4).encode(
        x=alt.X("lo:Q", title=label, scale=alt.Scale(zero=False)), x2="hi:Q"
    )
    points = base.mark_point(filled=True, size=120).encode(
        x="value:Q", tooltip=["system", "value", "lo", "hi"]
    )
    # No explicit height: Streamlit squashes the rows of a layered chart that sets one.
    return alt.layer(bars, points).properties(title=f"{label} with 95% interval")


def confusion_heatmap(confusion: Mapping[str, Any]) -> alt.Chart:
    """Confusion matrix {"labels": [...], "matrix": [[...]]} as a heat map (rows = gold)."""
    labels = list(confusion["labels"])
    rows = [
        {"gold": g, "predicted": p, "count": int(n)}
        for g, row in zip(labels, confusion["matrix"])
        for p, n in zip(labels, row)
    ]
    return (
        alt.Chart(pd.DataFrame(rows), title="Confusion matrix (rows: gold label)")
        .mark_rect()
        .encode(
            x=alt.X("predicted:N", sort=labels),
            y=alt.Y("gold:N", sort=labels),
            color=alt.Color("count:Q", scale=alt.Scale(scheme="blues")),
            tooltip=["gold", "predicted", "count"],
        )
    )


def loss_curve(rows: Sequence[Mapping[str, Any]]) -> alt.Chart:
    """Training loss per step from the trainer's metrics.jsonl rows."""
    frame = pd.DataFrame(
        [{"step": r["step"], "loss": r["loss"]} for r in rows if r.get("loss") is not None]
    )
    if frame.empty:
        frame = pd.DataFrame({"step": pd.Series(dtype=int), "loss": pd.Series(dtype=float)})
    return (
        alt.Chart(frame, title="Training loss")
        .mark_line(point=True)
        .encode(x=alt.X("step:Q", title="Step"), y=alt.Y("loss:Q", title="Loss"))
    )
