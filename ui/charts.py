"""Altair chart builders. Each takes the plain dicts the packages return (advisor Report.to_dict(),
rag_baseline results, trainer metrics rows) and returns an `alt.Chart`; no streamlit here."""

from __future__ import annotations

import textwrap
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


# The plot's own height; the page's width. Streamlit's default autosize ("fit") squeezes the
# title, legend and axes into the chart's height, which left the lines a thin band.
COST_PLOT_PX = 320
FIT_X = alt.AutoSizeParams(type="fit-x", contains="padding")
LOG_SPREAD = 8.0  # largest total over the median total from which a linear axis squashes lines
BREAK_EVEN_LABEL_Y = -8  # pixels: the break-even label sits above the plot, clear of the lines


def cost_scale(series: Mapping[str, Sequence[float]]) -> dict[str, Any]:
    """The y scale of the cumulative-cost chart from the value range: logarithmic when one
    option's total dwarfs the rest (today's $5.4M over options near $0.3M would squash every
    option into the bottom band), else linear from zero.

    Returns {"type": "log" | "linear", "spread": largest / median final total, "title"}."""
    finals = sorted(float(v[-1]) for k, v in series.items() if k != "month" and len(v))
    positive = [f for f in finals if f > 0]
    median = positive[len(positive) // 2] if positive else 0.0
    spread = positive[-1] / median if median else 1.0
    log = len(positive) >= 2 and spread >= LOG_SPREAD
    title = "Cumulative cost (USD, log scale)" if log else "Cumulative cost (USD)"
    return {"type": "log" if log else "linear", "spread": round(spread, 2), "title": title}


def cumulative_costs(
    series: Mapping[str, Sequence[float]],
    break_even: float | None,
    ruled_out: Sequence[str] = (),
    label: str = "fine-tuning against today's process",
    option: str = "fine_tune",
) -> alt.Chart:
    """Cumulative cost per option over the horizon; options the rules ruled out are dashed and
    named so; the break-even of `option` (`label`) is marked where the lines cross, its label
    above the plot. A log axis where one option dwarfs the rest (`cost_scale`)."""
    months = list(series["month"])
    names = {k: OPTION_NAMES.get(k, _label(k)) + (" (ruled out)" if k in ruled_out else "")
             for k in series if k != "month"}  # fmt: skip
    scale = cost_scale(series)
    log = scale["type"] == "log"
    rows = [
        {"month": m, "option": names[k], "usd": float(v), "ruled_out": k in ruled_out}
        for k, values in series.items()
        if k != "month"
        for m, v in zip(months, values)
        if not log or v > 0  # a log axis has no zero: month 0 of today's process is left out
    ]
    frame = pd.DataFrame(rows)
    keys = [k for k in OPTION_NAMES if k in names]
    y_scale = alt.Scale(type="log") if log else alt.Scale(zero=True)
    lines = (
        alt.Chart(frame)
        .mark_line()
        .encode(
            x=alt.X(
                "month:Q",
                title="Months from today",
                scale=alt.Scale(domain=[0, max(months) if months else 1], nice=False),
            ),
            y=alt.Y("usd:Q", title=scale["title"], scale=y_scale,
                    axis=alt.Axis(format="$~s" if log else "$,.0f")),
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
                                             f"within {horizon} months"),
                                height=COST_PLOT_PX, autosize=FIT_X)  # fmt: skip
    values = list(series[option])
    lo = min(int(break_even), len(values) - 1)
    hi = min(lo + 1, len(values) - 1)
    at = values[lo] + (values[hi] - values[lo]) * (break_even - lo)  # on the line, between months
    marker = pd.DataFrame([{"month": break_even, "usd": at,
                            "text": f"break-even {break_even:.1f} mo"}])  # fmt: skip
    rule = alt.Chart(marker).mark_rule(strokeDash=[4, 4], color="black").encode(x="month:Q")
    point = (
        alt.Chart(marker)
        .mark_point(size=120, filled=True, color="black")
        .encode(x="month:Q", y="usd:Q", tooltip=["text:N"])
    )
    # Above the plot at the top of the dashed rule: never on a line, whatever the scale.
    text = (
        alt.Chart(marker)
        .mark_text(align="center", baseline="bottom", color="black")
        .encode(x="month:Q", y=alt.value(BREAK_EVEN_LABEL_Y), text="text:N")
    )
    subtitle = f"{label}: break-even at {break_even:.1f} months (dot)"
    return alt.layer(lines, rule, point, text).properties(
        title=_title("Cumulative cost", subtitle), height=COST_PLOT_PX, autosize=FIT_X
    )


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


TORNADO_WRAP = 40  # characters a line of an assumption's name on the tornado's axis


def sensitivity_tornado(rows: Sequence[Mapping[str, Any]], base: float | None) -> alt.Chart:
    """Tornado: break-even months when each assumption is at its low vs high value.

    rows: {"label", "low", "high"} (months or None = never), biggest swing first.
    """
    horizon = max([r[k] for r in rows for k in ("low", "high") if r.get(k) is not None] + [1.0])
    data = []
    for r in rows:
        lo = horizon if r.get("low") is None else float(r["low"])
        hi = horizon if r.get("high") is None else float(r["high"])
        # Long assumption names wrap onto lines (Vega draws an array label one item a line)
        # instead of being cut with an ellipsis.
        wrapped = "\n".join(textwrap.wrap(r["label"], TORNADO_WRAP)) or r["label"]
        data.append(
            {"assumption": r["label"], "row": wrapped, "start": min(lo, hi), "end": max(lo, hi)}
        )
    frame = pd.DataFrame(data, columns=["assumption", "row", "start", "end"])
    order = list(frame["row"])
    lines = max([row.count("\n") + 1 for row in order] + [1])
    axis = alt.Axis(labelExpr="split(datum.label, '\\n')", labelLimit=0, labelPadding=6)
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("row:N", sort=order, title=None, axis=axis),
            x=alt.X("start:Q", title="Break-even (months)"),
            x2="end:Q",
            tooltip=["assumption", "start", "end"],
        )
    )
    title = _title("What moves break-even most", "months, each figure at its low and high")
    height = alt.Step(max(20, 14 * lines + 6))
    if base is None:
        return bars.properties(title=title, height=height)
    rule = alt.Chart(pd.DataFrame([{"x": base}])).mark_rule(color="black").encode(x="x:Q")
    return alt.layer(bars, rule).properties(title=title, height=height)


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


PAD = alt.AutoSizeParams(type="pad", contains="padding")
CONFUSION_PLOT_PX = 640  # the matrix's side at most: 40 labels at the smallest cell
CONFUSION_CELL_PX = (16, 36)  # smallest and largest cell: rows never squashed, nor huge
MAX_CONFUSION_LABELS = CONFUSION_PLOT_PX // CONFUSION_CELL_PX[0]  # beyond: a table instead


def confusion_layout(labels: Sequence[str]) -> dict[str, Any]:
    """Sizes of the confusion matrix from its label count: one cell per label pair, each at
    least 16 px (a label's line fits in a row, so every row and column keeps its label), the
    matrix at most 600 px; labels upright under the columns past 12 labels.

    {"cell", "size" (width = height, px), "font" (labels and counts), "x_angle", "counts"}."""
    n = max(len(labels), 1)
    low, high = CONFUSION_CELL_PX
    cell = max(low, min(high, CONFUSION_PLOT_PX // n))
    font = 11 if cell >= 24 else 10 if cell >= 18 else 9
    return {
        "cell": cell,
        "size": cell * n,
        "font": font,
        "x_angle": -40 if n <= 12 else -90,
        "counts": cell >= 18,  # a count written in every cell only where it fits
    }


def confusion_heatmap(confusion: Mapping[str, Any], of: str = "") -> alt.Chart:
    """Confusion matrix {"labels": [...], "matrix": [[...]]} as a heat map (rows = gold), sized
    from its label count (`confusion_layout`); `of` names the model in the subtitle."""
    labels = list(confusion["labels"])
    size = confusion_layout(labels)
    rows = [
        {"gold": g, "predicted": p, "count": int(n)}
        for g, row in zip(labels, confusion["matrix"])
        for p, n in zip(labels, row)
    ]
    # Whole label names, every one of them: Streamlit's theme turns labelOverlap on (it drops
    # every other label when they crowd) and flushes the end labels; both are turned off here.
    axis = {"labelLimit": 0, "labelOverlap": False, "labelFlush": False,
            "labelFontSize": size["font"], "labelPadding": 4}  # fmt: skip
    base = alt.Chart(pd.DataFrame(rows)).encode(
        x=alt.X("predicted:N", sort=labels, title="Predicted",
                axis=alt.Axis(labelAngle=size["x_angle"], **axis)),
        y=alt.Y("gold:N", sort=labels, title="Gold", axis=alt.Axis(**axis)),
    )  # fmt: skip
    cells = base.mark_rect().encode(
        color=alt.Color("count:Q", scale=alt.Scale(scheme="blues"), legend=None),
        tooltip=["gold", "predicted", "count"],
    )
    layers = [cells]
    if size["counts"]:
        high = max((r["count"] for r in rows), default=0) / 2
        layers.append(
            base.mark_text(fontSize=size["font"])
            .encode(
                text="count:Q",
                color=alt.condition(
                    alt.datum.count > high, alt.value("white"), alt.value("#1f2937")
                ),
            )
            .transform_filter(alt.datum.count > 0)
        )
    # Title on the layer, anchored at the left of the whole chart (labels included): centred
    # over a narrow plot it ran off the left edge.
    title = _title("Confusion matrix", ", ".join(filter(None, [of, "rows: gold label"])))
    # "pad": the plot keeps its size and the labels are added around it. Streamlit's default,
    # "fit", squeezed labels and plot together into width x height, squashing the rows.
    return alt.layer(*layers).properties(
        width=size["size"], height=size["size"], title=title, autosize=PAD
    )


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
