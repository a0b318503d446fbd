"""Words and numbers for a budget owner, from a report's JSON (`Report.to_dict()`).

One home for how the terminal, the app and the memo say things: option names, money (never
"$-6,062"), months, break-even ranges, the verdict line, reasons grouped for and against.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

OPTION_NAMES = {
    "human": "Today's process",
    "prompting": "Prompting",
    "rag": "RAG",
    "fine_tune": "Fine-tuning",
}
IN_TEXT = {  # inside a sentence
    "human": "today's process",
    "prompting": "prompting",
    "rag": "RAG",
    "fine_tune": "fine-tuning",
}
# The app's charts and the memo's SVGs use the same colours.
OPTION_COLORS = {
    "human": "#7f7f7f",
    "prompting": "#6baed6",
    "rag": "#e07b39",
    "fine_tune": "#1f6f8b",
}
SYSTEM_COLORS = {
    "knn": "#e07b39",
    "rag": "#e07b39",
    "probe": "#99c1b9",
    "nearest": "#99c1b9",
    "classic": "#8e6bb5",
    "fine_tune": "#1f6f8b",
}
VERDICTS = {
    "prompting": "Stay with prompting",
    "rag": "Use RAG (retrieval-augmented generation)",
    "fine_tune": "Fine-tune a model",
}
PARTS = ("inference", "human", "operations", "retraining")
PART_NAMES = {
    "inference": "Model / API",
    "human": "People (review, errors)",
    "operations": "Upkeep",
    "retraining": "Retraining",
}


def usd(v: float | None, digits: int = 0) -> str:
    """$1,234; fractions of a cent with two significant digits; '—' for None."""
    if v is None:
        return "—"
    if 0 < abs(v) < 0.01:
        return f"${abs(v):.{1 - math.floor(math.log10(abs(v)))}f}"
    text = f"${abs(v):,.{digits}f}"
    return f"minus {text}" if v < 0 and text.strip("$0.,") else text


def usd_short(v: float) -> str:
    """$950, $25k, $1.2M: fits a metric tile."""
    a = abs(v)
    text = f"${a / 1e6:.1f}M" if a >= 1e6 else f"${a / 1e3:.0f}k" if a >= 1e4 else f"${a:,.0f}"
    return text


def saving(v: float) -> str:
    """A monthly difference in words: 'saves $1,200 a month' / 'costs $6,062 more a month'."""
    return f"saves {usd(v)} a month" if v >= 0 else f"costs {usd(-v)} more a month"


def months(v: float | None, horizon: int | None = None) -> str:
    if v is None:
        return "not within the horizon" if horizon is None else f"not within {horizon} months"
    return f"{v:.1f} months"


def verdict_title(report: Mapping[str, Any]) -> str:
    return VERDICTS.get(report["recommendation"], str(report["recommendation"]))


def break_even_line(row: Mapping[str, Any], horizon: int) -> str:
    """'RAG against today's process: 2.1 months (best 1.0, worst 4.5)'."""
    label = row["label"][0].upper() + row["label"][1:]
    if row["expected"] is None and row["best"] is None:
        return f"{label}: {months(None, horizon)} in any case"
    best, worst = row["best"], row["worst"]
    rng = f"best {months(best)}, worst " + (months(worst) if worst is not None else "never")
    return f"{label}: {months(row['expected'], horizon)} expected ({rng})"


def budget_line(budget: Mapping[str, Any]) -> str:
    name = OPTION_NAMES[budget["option"]]
    setup = budget["setup_usd"]
    head = f"Budget {usd(budget['total_budget_usd'])}; {name} set-up {usd(setup['expected'])}"
    if not budget["fits"]:
        return f"{head}: does not fit, short by {usd(budget['shortfall_usd'])}."
    if not budget["fits_high"]:
        return (
            f"{head}: fits as expected, but the high case ({usd(setup['high'])}) would be "
            f"{usd(budget['high_shortfall_usd'])} over."
        )
    return f"{head}: fits, even in the high case ({usd(setup['high'])})."


def reasons_by_stance(report: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    by_rule = {r["rule"]: r for r in report["reasons"]}
    return {
        "for": [by_rule[n] for n in report.get("reasons_for", []) if n in by_rule],
        "against": [by_rule[n] for n in report.get("reasons_against", []) if n in by_rule],
    }


def monthly_rows(report: Mapping[str, Any]) -> list[list[str]]:
    """Per option: name, each part, total (expected USD a month)."""
    rows = []
    for o, m in report["monthly_running_costs"].items():
        rows.append([OPTION_NAMES[o], *(usd(m["parts"][p]) for p in PARTS), usd(m["expected"])])
    return rows


def cost_rows(report: Mapping[str, Any]) -> list[list[str]]:
    """The first fine-tuning project's lines with their parts: name, low, expected, high."""
    c, det = report["costs"], report["cost_details"]
    rows = [
        ("Data preparation", c["data_preparation"]),
        ("  examples you have (review)", det["data_preparation"]["examples_you_have"]),
        ("  examples to label", det["data_preparation"]["examples_to_label"]),
        ("Compute", c["compute"]),
        ("  training runs", det["compute"]["training_runs"]),
        ("  experimentation allowance", det["compute"]["experimentation"]),
        ("Engineering", c["engineering"]),
        ("Total", c["total"]),
    ]
    return [[n, *(usd(r[k]) for k in ("low", "expected", "high"))] for n, r in rows]


def summary(d: Mapping[str, Any]) -> str:
    """The terminal report: verdict first, then why, money, break-even, plan, references."""
    rec, h = d["recommendation"], d["horizon_months"]
    lines = [f"Recommendation: {IN_TEXT[rec]}" + (
        " (fine-tuning is justified)" if d["fine_tune_justified"] else "")]  # fmt: skip
    if d.get("fallback"):
        lines.append(f"  Note: {d['fallback']}.")
    if d.get("evidence", {}).get("message"):
        lines.append(f"  Evidence: {d['evidence']['message']}")
    groups = reasons_by_stance(d)
    for stance, title in (("for", "For"), ("against", "Against, or ruled out")):
        if groups[stance]:
            lines.append(f"{title} {IN_TEXT[rec]}:" if stance == "for" else f"{title}:")
            lines += [f"  - {r['message']}" for r in groups[stance]]
    lines.append(budget_line(d["budget"]))
    lines.append("Break-even (best / expected / worst):")
    lines += [f"  {break_even_line(r, h)}" for r in d["break_even"]["rows"]]
    totals = ", ".join(f"{OPTION_NAMES[o]} {usd(v['expected'])}" for o, v in
                       d["horizon_costs"].items())  # fmt: skip
    lines.append(f"Cost over {h} months, expected: {totals}")
    lines.append("Monthly running cost once live, expected USD:")
    head = ["Option", *(PART_NAMES[p] for p in PARTS), "Total"]
    lines += _table([head, *monthly_rows(d)])
    p = d["plan"]
    s = d["serving"]
    where = "a managed endpoint" if s["count"] == 0 else f"{s['count']} x {s['device']}"
    lines.append(f"Fine-tuning plan: {p['label']}; serving on {where}, "
                 f"{usd(s['usd_per_month']['expected'])} a month.")  # fmt: skip
    lines.append("First fine-tuning project, USD (low / expected / high):")
    lines += _table(cost_rows(d))
    lines.append("The article's reference ranges beside this estimate:")
    for r in d["reference_ranges"]:
        lines.append("  " + reference_line(r))
    return "\n".join(lines)


def reference_line(r: Mapping[str, Any]) -> str:
    art, est = r["article"], r["estimate"]
    unit = r["unit"]
    fmt = usd if unit == "USD" else (lambda v: f"{v:g} months")
    ours = "never" if est is None else fmt(est["expected"])
    return (
        f"{r['item']}: article {fmt(art['low'])}–{fmt(art['high'])}, here {ours} "
        f"({r['position']}: {r['why']})"
    )


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  "
        + "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )  # fmt: skip
        for r in rows
    ]
