"""Altair chart builders. Each takes the plain dicts the packages return (advisor Report.to_dict(),
rag_baseline results, trainer metrics rows) and returns an `alt.Chart`; no streamlit here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd

from advisor.text import OPTION_COLORS as _COLORS
from advisor.text import OPTION_NAMES, PART_NAMES, PARTS, SYSTEM_COLORS

COST_PARTS = ("data_preparation", "compute", "engineering")
OPTION_COLORS = [_COLORS[o] for o in OPTION_NAMES]  # same order as OPTION_NAMES; memo too
SCENARIOS = ("low", "expected", "high")


def _title(text: str, subtitle: str = "") -> alt.TitleParams:
    """Left-anchored title; long text goes in the subtitle (lines), so nothing is clipped."""
    return alt.TitleParams(text, subtitle=subtitle or alt.Undefined, anchor="start")


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
        alt.Chart(pd.DataFrame(rows), title=_title("Fine-tuning set-up", "first project, USD"))
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


def cumulative_costs(
    series: Mapping[str, Sequence[float]],
    break_even: float | None,
    ruled_out: Sequence[str] = (),
    label: str = "fine-tuning against today's process",
    option: str = "fine_tune",
) -> alt.Chart:
    """Cumulative cost per option over the horizon; options the rules ruled out are dashed and
    named so; the break-even of `option` (`label`) is marked where the lines cross."""
    months = list(series["month"])
    names = {k: OPTION_NAMES.get(k, _label(k)) + (" (ruled out)" if k in ruled_out else "")
             for k in series if k != "month"}  # fmt: skip
    rows = [
        {"month": m, "option": names[k], "usd": float(v), "ruled_out": k in ruled_out}
        for k, values in series.items()
        if k != "month"
        for m, v in zip(months, values)
    ]
    frame = pd.DataFrame(rows)
    keys = [k for k in OPTION_NAMES if k in names]
    lines = (
        alt.Chart(frame)
        .mark_line()
        .encode(
            x=alt.X(
                "month:Q",
                title="Months from today",
                scale=alt.Scale(domain=[0, max(months) if months else 1], nice=False),
            ),
            y=alt.Y("usd:Q", title="Cumulative cost (USD)", axis=alt.Axis(format="$,.0f")),
            color=alt.Color(
                "option:N",
                title="Option",
                scale=alt.Scale(domain=[names[k] for k in keys], range=[_COLORS[k] for k in keys]),
                legend=alt.Legend(orient="bottom", columns=2, labelLimit=260),
            ),
            strokeDash=alt.StrokeDash("ruled_out:N", legend=None,
                                      scale=alt.Scale(domain=[False, True],
                                                      range=[[1, 0], [6, 4]])),
            tooltip=["option", "month", alt.Tooltip("usd:Q", format="$,.0f")],
        )
    )  # fmt: skip
    horizon = int(max(months)) if months else 0
    if break_even is None or break_even > horizon:
        return lines.properties(title=_title("Cumulative cost", f"{label}: no break-even "
                                             f"within {horizon} months"))  # fmt: skip
    values = list(series[option])
    lo = min(int(break_even), len(values) - 1)
    hi = min(lo + 1, len(values) - 1)
    at = values[lo] + (values[hi] - values[lo]) * (break_even - lo)  # on the line, between months
    marker = pd.DataFrame([{"month": break_even, "usd": at,
                            "text": f"break-even {break_even:.1f} months"}])  # fmt: skip
    rule = alt.Chart(marker).mark_rule(strokeDash=[4, 4], color="black").encode(x="month:Q")
    point = (
        alt.Chart(marker)
        .mark_point(size=120, filled=True, color="black")
        .encode(x="month:Q", y="usd:Q", tooltip=["text:N"])
    )
    text = (
        alt.Chart(marker)
        .mark_text(align="left", dx=8, dy=-10, color="black")
        .encode(x="month:Q", y="usd:Q", text="text:N")
    )
    subtitle = f"{label}: break-even at {break_even:.1f} months (dot)"
    return alt.layer(lines, rule, point, text).properties(title=_title("Cumulative cost", subtitle))


def monthly_breakdown(monthly: Mapping[str, Mapping[str, Any]]) -> alt.Chart:
    """Each option's monthly running cost, stacked by part (expected USD)."""
    rows = [
        {"option": OPTION_NAMES.get(o, o), "part": PART_NAMES[p], "usd": float(m["parts"][p])}
        for o, m in monthly.items()
        for p in PARTS
    ]
    return (
        alt.Chart(pd.DataFrame(rows), title=_title("Monthly running cost", "expected, USD"))
        .mark_bar()
        .encode(
            y=alt.Y("option:N", sort=[OPTION_NAMES[o] for o in monthly], title=None,
                    axis=alt.Axis(labelLimit=200)),
            x=alt.X("sum(usd):Q", title="USD a month", axis=alt.Axis(format="$,.0f")),
            color=alt.Color("part:N", title="Part", legend=alt.Legend(orient="bottom")),
            tooltip=["option", "part", alt.Tooltip("usd:Q", format="$,.0f")],
        )
    )  # fmt: skip


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
    title = _title("What moves break-even most", "months, each figure at its low and high")
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
                "key": r.get("key", r["system"]),
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
        color=alt.Color(
            "system:N",
            legend=None,
            scale=alt.Scale(
                domain=list(frame["system"]),
                range=[SYSTEM_COLORS.get(k, "#888888") for k in frame["key"]],
            ),
        ),
    )
    bars = base.mark_rule(strokeWidth=4).encode(
        x=alt.X("lo:Q", title=label, scale=alt.Scale(zero=False)), x2="hi:Q"
    )
    points = base.mark_point(filled=True, size=120).encode(
        x="value:Q", tooltip=["system", "value", "lo", "hi"]
    )
    # No explicit height: Streamlit squashes the rows of a layered chart that sets one.
    return alt.layer(bars, points).properties(title=_title(label, "with 95% interval"))


def confusion_heatmap(confusion: Mapping[str, Any]) -> alt.Chart:
    """Confusion matrix {"labels": [...], "matrix": [[...]]} as a heat map (rows = gold)."""
    labels = list(confusion["labels"])
    rows = [
        {"gold": g, "predicted": p, "count": int(n)}
        for g, row in zip(labels, confusion["matrix"])
        for p, n in zip(labels, row)
    ]
    # Full label names (no truncation) and the count written in every non-empty cell.
    base = alt.Chart(pd.DataFrame(rows), title="Confusion matrix (rows: gold label)").encode(
        x=alt.X("predicted:N", sort=labels, axis=alt.Axis(labelLimit=0, labelAngle=-40)),
        y=alt.Y("gold:N", sort=labels, axis=alt.Axis(labelLimit=0)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("count:Q", scale=alt.Scale(scheme="blues")),
        tooltip=["gold", "predicted", "count"],
    )
    high = max((r["count"] for r in rows), default=0) / 2
    counts = (
        base.mark_text(fontSize=11)
        .encode(
            text="count:Q",
            color=alt.condition(alt.datum.count > high, alt.value("white"), alt.value("#1f2937")),
        )
        .transform_filter(alt.datum.count > 0)
    )
    size = max(260, 28 * len(labels))
    return alt.layer(cells, counts).properties(width=size, height=size)


def loss_curve(rows: Sequence[Mapping[str, Any]]) -> alt.Chart:
    """Training loss per step and the held-out (validation) loss where it was measured, from
    the trainer's metrics.jsonl rows."""
    points = [
        {"step": r["step"], "loss": r[key], "series": name}
        for r in rows
        for key, name in (("loss", "training"), ("eval_loss", "held-out (validation)"))
        if r.get(key) is not None
    ]
    frame = pd.DataFrame(points, columns=["step", "loss", "series"])
    return (
        alt.Chart(frame, title="Loss: training and held-out")
        .mark_line(point=True)
        .encode(
            x=alt.X("step:Q", title="Step"),
            y=alt.Y("loss:Q", title="Loss"),
            color=alt.Color("series:N", title=None, legend=alt.Legend(orient="top", labelLimit=0)),
            tooltip=["series", "step", alt.Tooltip("loss:Q", format=".3f")],
        )
    )
