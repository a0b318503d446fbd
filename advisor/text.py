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
    "classifier": "Small classifier",
    "fine_tune": "Fine-tuning",
}
IN_TEXT = {  # inside a sentence
    "human": "today's process",
    "prompting": "prompting",
    "rag": "RAG",
    "classifier": "the small classifier",
    "fine_tune": "fine-tuning",
}
# The app's charts and the memo's SVGs use the same colours.
OPTION_COLORS = {
    "human": "#7f7f7f",
    "prompting": "#6baed6",
    "rag": "#e07b39",
    "classifier": "#3a9d5d",
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
    "human": "Keep today's process",
    "classifier": "Deploy the small classifier trained on your labels",
    "prompting": "Stay with prompting",
    "rag": "Use RAG (retrieval-augmented generation)",
    "fine_tune": "Fine-tune a model",
}
PARTS = ("inference", "human", "operations", "retraining")
PART_NAMES = {
    "inference": "Model, API or hosting",
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
    if v == 0:
        return "from the start"
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
    """The recommendation's first-year AI spend against the budget, and what fits instead."""
    name, spend = IN_TEXT[budget["option"]], budget["first_year_usd"]
    if budget["option"] == "human":
        return (f"Budget {usd(budget['total_budget_usd'])}: today's process needs no AI spend "
                f"(its people cost {usd(budget['human_first_year_usd'])} a year).")  # fmt: skip
    head = (
        f"Budget {usd(budget['total_budget_usd'])}; first-year AI spend of {name} "
        f"{usd(spend['expected'])} (set-up, model or API, upkeep, retraining; range "
        f"{usd(spend['low'])}–{usd(spend['high'])})"
    )
    if not budget["fits"]:
        alt = budget.get("cheapest_fitting")
        instead = (f"; the cheapest option that fits is {IN_TEXT[alt]}" if alt else
                   "; no automated option fits")  # fmt: skip
        return (f"{head}: does not fit, short by {usd(budget['shortfall_usd'])}{instead}, or "
                f"keep today's process.")  # fmt: skip
    if not budget["fits_high"]:
        return f"{head}: fits as expected; the high case would be {usd(budget['high_shortfall_usd'])} over."  # noqa: E501
    return f"{head}: fits, even in the high case."


def reasons_by_stance(report: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    """{"for", "against", "other"}: reasons for the verdict, against it, and about the other
    options (their messages labelled 'For X:' / 'Against X:')."""
    by_rule = {r["rule"]: r for r in report["reasons"]}
    out: dict[str, list[Mapping[str, Any]]] = {}
    for key in ("for", "against", "other"):
        out[key] = [by_rule[n] for n in report.get(f"reasons_{key}", []) if n in by_rule]
    out["other"] = [{**r, "message": f"{_about(r)}: {r['message']}"} for r in out["other"]]
    return out


def _about(r: Mapping[str, Any]) -> str:
    """'Against prompting, RAG and the small classifier' / 'For fine-tuning'."""
    names = [IN_TEXT.get(o, o) for o in (r.get("excludes") or [r["option"]])]
    joined = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{r['stance'].capitalize()} {joined}"


def reason_groups(report: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """(title, messages) for each non-empty group, in the order every page shows them."""
    name = IN_TEXT[report["recommendation"]]
    g = reasons_by_stance(report)
    titles = (("for", f"Why {name}"), ("against", f"Against {name}"),
              ("other", "About the other options"))  # fmt: skip
    return [(t, [r["message"] for r in g[k]]) for k, t in titles if g[k]]


def monthly_rows(report: Mapping[str, Any]) -> list[list[str]]:
    """Per option: name, each part, total (expected USD a month)."""
    rows = []
    for o, m in report["options"].items():
        parts = m["monthly_parts"]
        rows.append([OPTION_NAMES[o], *(usd(parts[p]) for p in PARTS),
                     usd(m["monthly_usd"]["expected"])])  # fmt: skip
    return rows


def inference_name(report: Mapping[str, Any]) -> str:
    """The 'Model / API' column's name: no third-party API where the data must stay private."""
    private = report.get("answers", {}).get("needs_private_infra")
    return "Model hosting (private)" if private else PART_NAMES["inference"]


def option_rows(report: Mapping[str, Any]) -> list[list[str]]:
    """Per option: name, accuracy (source), set-up, monthly, over the horizon, status."""
    rows = []
    rec = report["recommendation"]
    for o, m in report["options"].items():
        acc = m["accuracy"]
        src = m["accuracy_source"] + (", proxy" if m.get("proxy") else "")
        shown = "—" if acc is None else (
            f"{acc['expected']:.2f} ({src})" if acc["low"] == acc["high"]
            else f"{acc['low']:.2f}–{acc['high']:.2f} ({src})")  # fmt: skip
        status = "recommended" if o == rec else (
            "ruled out: " + ", ".join(x.replace("_", " ") for x in m["ruled_out_by"])
            if m["ruled_out_by"] else
            "cheapest within noise: measure more rows"
            if m.get("why_not", "").startswith("cheapest within noise") else
            "cheapest on a guess: measure first" if m.get("why_not", "").startswith("cheapest")
            else "")  # fmt: skip
        rows.append([OPTION_NAMES[o], shown, usd(m["setup_usd"]["expected"]),
                     usd(m["monthly_usd"]["expected"]), usd(m["horizon_usd"]["expected"]),
                     status])  # fmt: skip
    return rows


OPTION_HEAD = ["Option", "Accuracy (source)", "Set-up", "A month", "Over the horizon", "Status"]


def cost_rows(report: Mapping[str, Any]) -> list[list[str]]:
    """The first fine-tuning project's lines with their parts: name, low, expected, high."""
    p = report["fine_tune_project"]
    c, det = p["costs"], p["details"]
    data = "Data preparation" + (" (the article's $5,000 floor applies)"
                                 if p.get("data_floor_applied") else "")  # fmt: skip
    rows = [
        (data, c["data_preparation"]),
        ("  examples you have (review)", det["data_preparation"]["examples_you_have"]),
        ("  examples to label", det["data_preparation"]["examples_to_label"]),
        ("Compute", c["compute"]),
        ("  training runs", det["compute"]["training_runs"]),
        ("  experimentation allowance", det["compute"]["experimentation"]),
        ("Engineering", c["engineering"]),
        ("Total", c["total"]),
    ]
    return [[n, *(usd(r[k]) for k in ("low", "expected", "high"))] for n, r in rows]


def headline_lines(d: Mapping[str, Any]) -> list[str]:
    """What the verdict rests on, in the order every page and the memo show it: measure first,
    the swap point, the evidence, a fallback, the budget, labelling."""
    lines = []
    if d.get("measure_first"):
        lines.append(d["measurement"]["message"])
    if d.get("swap", {}).get("message"):
        lines.append(f"Where the verdict would change: {d['swap']['message']}.")
    if d.get("evidence", {}).get("message"):
        lines.append(f"Evidence: {d['evidence']['message']}")
    if evidence_line(d):
        lines.append(evidence_line(d))
    if d.get("fallback"):
        lines.append(f"Note: {d['fallback']}.")
    lines.append(budget_line(d["budget"]))
    if d.get("labelling"):
        lines.append(d["labelling"]["message"])
    return lines


def evidence_line(d: Mapping[str, Any]) -> str:
    """One line on what the measured differences can bear: a lead within noise (the verdict
    kept the cheaper set-up; how many rows would settle it) or a significant one, then whether
    the verdict holds across the 95% intervals. '' when nothing measured has an interval."""
    noise = d.get("noise") or {}
    parts = [noise.get("message", ""), noise.get("robust_message", "")]
    text = " ".join(p for p in parts if p)
    return f"Noise check: {text}" if text else ""


def recommendation_line(d: Mapping[str, Any]) -> str:
    first = " (measure first)" if d.get("measure_first") else ""
    return f"Recommendation: {IN_TEXT[d['recommendation']]}{first}"


def summary(d: Mapping[str, Any]) -> str:
    """The terminal report: verdict first, then what it rests on, why, money, break-even."""
    h = d["horizon_months"]
    lines = [recommendation_line(d)]
    lines += [f"  {x}" for x in headline_lines(d)]
    for title, messages in reason_groups(d):
        lines.append(f"{title}:")
        lines += [f"  - {m}" for m in messages]
    lines.append(f"Every option over {h} months, expected USD:")
    lines += _table([OPTION_HEAD, *option_rows(d)])
    if d["break_even"]["rows"]:
        lines.append("Break-even (best / expected / worst):")
        lines += [f"  {break_even_line(r, h)}" for r in d["break_even"]["rows"]]
    else:
        lines.append("Break-even against today's process: nothing to pay back (no automated "
                     "option is allowed).")  # fmt: skip
    lines.append("Monthly running cost once live, expected USD:")
    head = ["Option", inference_name(d), *(PART_NAMES[p] for p in PARTS[1:]), "Total"]
    lines += _table([head, *monthly_rows(d)])
    p, ft = d["plan"], d["fine_tune_project"]
    s = ft["serving"]
    where = "a managed endpoint" if s["count"] == 0 else f"{s['count']} x {s['device']}"
    lines.append(f"Fine-tuning plan: {p['label']}, trained on {p['trains_on']}; serving on "
                 f"{where}, {usd(s['usd_per_month']['expected'])} a month.")  # fmt: skip
    lines.append("First fine-tuning project, USD (low / expected / high):")
    lines += _table(cost_rows(d))
    lines.append("The article's reference ranges beside the fine-tuning estimate:")
    for r in ft["reference_ranges"]:
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
