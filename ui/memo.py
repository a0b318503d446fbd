"""The decision memo for the budget owner, in Markdown and in self-contained HTML.

Built from the comparison (ui.compare.build) and the advisor's report recomputed with the
measured accuracy; both formats carry the same sections: verdict, measured numbers, paired test,
trial cost, costs and break-even, charts, assumptions with sources. Pure Python.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape as _escape
from typing import Any

from ui import svg
from ui.compare import conclusion, paired_table, system_table

OPTION_NAMES = {
    "human": "Today's process",
    "prompting": "Prompting",
    "rag": "RAG",
    "fine_tune": "Fine-tuning",
}
VERDICTS = {"prompting": "stay with prompting", "rag": "use RAG", "fine_tune": "fine-tune"}


def escape(text: str) -> str:
    """Text content: quotes need no escaping outside attributes."""
    return _escape(text, quote=False)


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    table: tuple[list[str], list[list[str]]] | None = None
    chart_svg: str = ""
    warning: str = ""


def _ci(v: float | None, ci: Sequence[float] | None) -> str:
    if v is None:
        return "—"
    return f"{v:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def usd(v: float | None, digits: int = 0) -> str:
    if v is None:
        return "—"
    if 0 < abs(v) < 0.01:  # fractions of a cent: two significant digits, no exponent
        return f"${v:.{1 - math.floor(math.log10(abs(v)))}f}"
    return f"${v:,.{digits}f}"


def _months(v: float | None) -> str:
    return "never (within the horizon)" if v is None else f"{v:.1f} months"


def sections(comp: Mapping[str, Any], report: Mapping[str, Any], project: str) -> list[Section]:
    """The memo's content. `report` is advisor Report.to_dict() with the measured accuracy."""
    roi = comp["roi"]
    out = [_verdict(comp, report, project), _measured(comp), _tests(comp), _trial(comp)]
    costs = report["costs"]
    assumed = _months(roi["assumed"]["break_even_months"])
    measured = _months(roi["measured"]["break_even_months"])
    out.append(
        Section(
            "Costs and break-even",
            [
                f"Budget {usd(report['budget']['total_budget_usd'])}: "
                + (
                    "the expected cost fits."
                    if report["budget"]["fits"]
                    else f"short by {usd(report['budget']['shortfall_usd'])}."
                ),
                f"Break-even against today's process: {assumed} with assumed accuracy; "
                f"{measured} with the accuracy measured on your data.",
            ],
            table=(
                ["Part", "Low", "Expected", "High"],
                [
                    [
                        p.replace("_", " ").capitalize(),
                        *(usd(costs[p][s]) for s in ("low", "expected", "high")),
                    ]
                    for p in costs
                ],
            ),
            chart_svg=svg.line_chart(
                roi["measured"]["series"],
                OPTION_NAMES,
                "Cumulative cost, with measured accuracy",
                roi["measured"]["break_even_months"],
            ),
        )
    )
    out.append(_assumptions(report))
    return out


def _verdict(comp: Mapping[str, Any], report: Mapping[str, Any], project: str) -> Section:
    paras = [
        f"Project **{project}**, {date.today().isoformat()}.",
        f"**Advisor's verdict: {VERDICTS.get(report['recommendation'], report['recommendation'])}"
        f"** (fine-tuning {'is' if report['fine_tune_justified'] else 'is not'} justified by the "
        "answers).",
        f"**Measured:** {conclusion(comp)}",
        "Why: " + " ".join(f"{r['message']}" for r in report["reasons"]),
    ]
    warning = ""
    if comp["gate_override"]:
        warning = (
            "This fine-tune was run against the advisor's verdict (gate overridden by hand). "
            "Its results are an experiment, not a recommendation."
        )
    return Section("Verdict", paras, warning=warning)


def _measured(comp: Mapping[str, Any]) -> Section:
    rows = system_table(comp)
    return Section(
        "Measured on your data",
        [
            f"Same held-out split for every system (split {comp['split_id']}, "
            f"{comp['n_paired']} items scored by all). Brackets: 95% bootstrap intervals. "
            "Cost per 1,000 predictions: measured time per item x the device's hourly price.",
            *comp["warnings"],
        ],
        table=(list(rows[0]), [list(r.values()) for r in rows]),
        chart_svg=svg.interval_chart(
            comp["systems"], "score", f"{comp['metric_labels'][0]} with 95% interval"
        ),
    )


def _tests(comp: Mapping[str, Any]) -> Section:
    rows = paired_table(comp)
    return Section(
        "Paired significance test (McNemar)",
        ["Counts of held-out items only one of the two systems got right."],
        table=(list(rows[0]) if rows else [], [list(r.values()) for r in rows]),
    )


def _trial(comp: Mapping[str, Any]) -> Section:
    t = comp["trial"]
    fmt = lambda s: "—" if s is None else f"{s:,.0f} s"  # noqa: E731
    return Section(
        "Trial fine-tune: predicted against actual",
        [f"Run {comp.get('run_id') or '—'} on {t['device']}."],
        table=(
            ["", "Predicted", "Actual"],
            [
                ["Training time", fmt(t["predicted_train_s"]), fmt(t["train_s"])],
                ["Compute cost", usd(t["predicted_usd"], 4), usd(t["actual_usd"], 4)],
            ],
        ),
    )


def _assumptions(report: Mapping[str, Any]) -> Section:
    rows = []
    for key, a in report.get("assumptions_used", {}).items():
        v = a.get("value")
        if isinstance(v, dict):
            v = f"{v['low']:g} / {v['expected']:g} / {v['high']:g}"
        elif isinstance(v, list):
            v = ", ".join(map(str, v))
        rows.append([key, str(v), a.get("unit", ""), a.get("source", ""), a.get("as_of", "")])
    return Section(
        "Assumptions (low / expected / high) and their sources",
        table=(["Figure", "Value", "Unit", "Source", "As of"], rows),
    )


# --- rendering --------------------------------------------------------------------------------


def to_markdown(secs: Sequence[Section]) -> str:
    lines = ["# Decision memo: fine-tune, RAG or prompting?", ""]
    for s in secs:
        lines += [f"## {s.title}", ""]
        if s.warning:
            lines += [f"> **Warning:** {s.warning}", ""]
        for p in s.paragraphs:
            lines += [p, ""]
        if s.table:
            head, rows = s.table
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "---|" * len(head))
            lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
            lines.append("")
        if s.chart_svg:
            data = base64.b64encode(s.chart_svg.encode()).decode()
            lines += [f"![{s.title}](data:image/svg+xml;base64,{data})", ""]
    return "\n".join(lines)


def _inline_md(text: str) -> str:
    """The memo's only inline Markdown is **bold**; escape everything else."""
    parts = escape(text).split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))


def to_html(secs: Sequence[Section]) -> str:
    body = []
    for s in secs:
        body.append(f"<h2>{escape(s.title)}</h2>")
        if s.warning:
            body.append(f'<p class="warning"><strong>Warning:</strong> {escape(s.warning)}</p>')
        body += [f"<p>{_inline_md(p)}</p>" for p in s.paragraphs]
        if s.table:
            head, rows = s.table
            body.append(
                "<table><thead><tr>"
                + "".join(f"<th>{escape(h)}</th>" for h in head)
                + "</tr></thead><tbody>"
                + "".join(
                    "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows
                )
                + "</tbody></table>"
            )
        if s.chart_svg:
            body.append(f"<figure>{s.chart_svg}</figure>")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>Decision memo</title><style>"
        "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
        "padding:.25em .5em;text-align:left;font-size:.9em}th{background:#f2f2f2}"
        ".warning{background:#fff3cd;border:1px solid #e0b000;padding:.5em}"
        "</style></head><body><h1>Decision memo: fine-tune, RAG or prompting?</h1>"
        + "".join(body)
        + "</body></html>"
    )
