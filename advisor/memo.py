"""The decision memo for the budget owner, in Markdown and in self-contained HTML. Pure Python.

Built from the advisor's report (`Report.to_dict()`, recomputed with the measured accuracy when
there is a comparison) and, optionally, the comparison's JSON (`comparison.Comparison.to_dict()`).
It opens with one recommendation, the same one the app and `python -m advisor estimate` give;
then why, the measured numbers, the trial, the costs and break-even, and the figures used.

    python -m advisor memo answers.json [--comparison comparison.json] [--html] > memo.md
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape as _escape
from typing import Any

from advisor import svg
from advisor.text import (
    OPTION_HEAD,
    OPTION_NAMES,
    PART_NAMES,
    PARTS,
    break_even_line,
    cost_rows,
    headline_lines,
    inference_name,
    monthly_rows,
    option_rows,
    reason_groups,
    recommendation_line,
    reference_line,
    usd,
)

TITLE = "Decision memo: fine-tune, RAG or prompting?"


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
    bullets: list[str] = field(default_factory=list)


def sections(
    report: Mapping[str, Any], comp: Mapping[str, Any] | None, project: str
) -> list[Section]:
    """The memo's content. With a comparison, `report` must be `comp["report"]` (same verdict)."""
    if comp is not None and comp["report"]["recommendation"] != report["recommendation"]:
        raise ValueError("memo: the report and the comparison disagree on the verdict")
    out = [_recommendation(report, comp, project), _options(report), *_why(report)]
    if comp is not None:
        out += [_measured(comp), _tests(comp), _trial(comp)]
    out += [_costs(report), _references(report), _assumptions(report)]
    return [s for s in out if s.paragraphs or s.table or s.bullets or s.chart_svg]


def _recommendation(report: Mapping, comp: Mapping | None, project: str) -> Section:
    """The recommendation first; an override warning comes right after it, never above it."""
    h = report["horizon_months"]
    paras = [f"**{recommendation_line(report)}.**"]
    if comp is not None and comp.get("gate_override"):
        paras.append(
            "**Warning:** the trial fine-tune was run against the advisor's verdict (gate "
            "overridden by hand). Its results are an experiment, not a recommendation."
        )
    paras.append(f"Project {project}, {date.today().isoformat()}.")
    paras += headline_lines(report)
    if comp is not None:
        paras.append(f"Measured: {comp['conclusion']}")
    paras += [break_even_line(r, h) + "." for r in report["break_even"]["rows"]]
    plan = report["plan"]
    paras.append(f"Fine-tuning plan: {plan['label']}, trained on {plan['trains_on']}.")
    return Section("Recommendation", paras)


def _options(report: Mapping) -> Section:
    h = report["horizon_months"]
    return Section(
        "Every option, costed the same way",
        [f"Expected USD; over {h} months including today's process until each option is live. "
         "Accuracy: assumed (a prior), stated by you, or measured on your data (a proxy stands "
         "in for the system it names)."],
        table=(OPTION_HEAD, option_rows(report)),
    )  # fmt: skip


def _why(report: Mapping) -> list[Section]:
    return [Section(title, bullets=messages) for title, messages in reason_groups(report)]


def _measured(comp: Mapping) -> Section:
    from_rows = _system_rows(comp)
    return Section(
        "Measured on your data",
        [
            f"Same held-out split for every system (split {comp['split_id']}, "
            f"{comp['n_paired']} items scored by all). Brackets: 95% bootstrap intervals. "
            "Cost per 1,000 predictions: measured time per item x the device's hourly price.",
            *comp["warnings"],
        ],
        table=from_rows,
        chart_svg=svg.interval_chart(
            comp["systems"], "score", f"{comp['metric_labels'][0]} with 95% interval"
        ),
    )


def _system_rows(comp: Mapping) -> tuple[list[str], list[list[str]]]:
    first, second = comp["metric_labels"]
    head = ["System", f"{first} [95% CI]", f"{second} [95% CI]", "ms / item", "USD / 1,000"]
    rows = []
    for s in comp["systems"]:
        rows.append([s["system"], _ci(s["score"], s["score_ci95"]),
                     _ci(s["second"], s["second_ci95"]),
                     "—" if s["ms_per_item"] is None else f"{s['ms_per_item']:.2f}",
                     usd(s["usd_per_1000"], 4)])  # fmt: skip
    return head, rows


def _tests(comp: Mapping) -> Section:
    names = {s["key"]: s["system"] for s in comp["systems"]}
    rows = [
        [f"{names[t['a']]} vs {names[t['b']]}", str(t["a_only"]), str(t["b_only"]),
         f"{t['p_value']:.3g}", "yes" if t["significant"] else "no"]
        for t in comp["tests"]
    ]  # fmt: skip
    head = ["Comparison", "Only the fine-tune right", "Only the baseline right", "p",
            "Significant (p < 0.05)"]  # fmt: skip
    return Section(
        "Paired significance test (McNemar)",
        ["Counts of held-out items only one of the two systems got right."] if rows else [],
        table=(head, rows) if rows else None,
    )


def _trial(comp: Mapping) -> Section:
    t = comp["trial"]

    def secs(s: float | None) -> str:
        return "—" if s is None else f"{s:,.0f} s"

    paras = [f"Run {comp.get('run_id') or '—'} on {t['device']}."]
    if t.get("note"):
        paras.append(t["note"])
    return Section(
        "Trial fine-tune: predicted against actual",
        paras,
        table=(
            ["", "Predicted", "Actual"],
            [
                ["Training time", secs(t["predicted_train_s"]), secs(t["train_s"])],
                ["Compute cost", usd(t["predicted_usd"], 4), usd(t["actual_usd"], 4)],
            ],
        ),
    )


def _costs(report: Mapping) -> Section:
    h = report["horizon_months"]
    ruled = [o for o, v in report["options"].items() if v["ruled_out_by"]]
    rows = report["break_even"]["rows"]
    marker = rows[0]["expected"] if rows else None
    head = ["Option", inference_name(report), *(PART_NAMES[p] for p in PARTS[1:]), "Total"]
    return Section(
        "Costs and break-even",
        ["Monthly running cost once live (expected USD):"],
        table=(head, monthly_rows(report)),
        chart_svg=svg.line_chart(
            report["series"],
            OPTION_NAMES,
            f"Cumulative cost over {h} months (expected)",
            marker,
            ruled,
        ),
    )


def _references(report: Mapping) -> Section:
    ft = report["fine_tune_project"]
    return Section(
        "A first fine-tuning project, and the article's reference ranges",
        [reference_line(r) + "." for r in ft["reference_ranges"]],
        table=(["Part", "Low", "Expected", "High"], cost_rows(report)),
    )


def _assumptions(report: Mapping) -> Section:
    rows = []
    for a in report.get("assumptions_used", {}).values():
        v = a.get("value")
        if isinstance(v, dict):
            v = f"{v['expected']:g}" if v["low"] == v["high"] else (
                f"{v['low']:g} / {v['expected']:g} / {v['high']:g}")  # fmt: skip
        elif isinstance(v, list):
            v = ", ".join(map(str, v))
        rows.append([a.get("label", ""), str(v), a.get("unit", ""), a.get("source", ""),
                     a.get("as_of", "")])  # fmt: skip
    return Section(
        "Appendix: the figures used (low / expected / high) and their sources",
        table=(["Figure", "Value", "Unit", "Source", "As of"], rows),
    )


def _ci(v: float | None, ci: Sequence[float] | None) -> str:
    if v is None:
        return "—"
    return f"{v:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


# --- rendering --------------------------------------------------------------------------------


def render(secs: Sequence[Section], fmt: str = "md") -> str:
    return to_html(secs) if fmt == "html" else to_markdown(secs)


def to_markdown(secs: Sequence[Section]) -> str:
    lines = [f"# {TITLE}", ""]
    for s in secs:
        lines += [f"## {s.title}", ""]
        if s.warning:
            lines += [f"> **Warning:** {s.warning}", ""]
        for p in s.paragraphs:
            lines += [p, ""]
        if s.bullets:
            lines += [f"- {b}" for b in s.bullets] + [""]
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
        if s.bullets:
            body.append("<ul>" + "".join(f"<li>{escape(b)}</li>" for b in s.bullets) + "</ul>")
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
        f"<title>{escape(TITLE)}</title><style>"
        "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
        "padding:.25em .5em;text-align:left;font-size:.9em}th{background:#f2f2f2}"
        ".warning{background:#fff3cd;border:1px solid #e0b000;padding:.5em}"
        f"</style></head><body><h1>{escape(TITLE)}</h1>" + "".join(body) + "</body></html>"
    )
