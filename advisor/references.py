"""The article's reference ranges beside this estimate, and why they differ."""

from __future__ import annotations

from typing import Any

from advisor.answers import Answers
from advisor.assumptions import Assumptions
from advisor.breakeven import Economics
from advisor.ranges import Range


def reference_ranges(answers: Answers, a: Assumptions, e: Economics) -> list[dict[str, Any]]:
    """Rows: item, unit, article {low, high}, estimate {low, expected, high}, position
    ("below" | "within" | "above" | "never"), why (one sentence)."""
    up = e.upfront
    rows = [
        _row("First iteration (fine-tuning)", "seed.first_iteration_usd", up.total, a,
             _why_total(answers, e)),
        _row("Data preparation", "seed.data_preparation_usd", up.data_preparation, a,
             _why_data(answers)),
        _row("Compute", "seed.compute_usd", up.compute, a, _why_compute(e)),
        _row("Engineering", "seed.engineering_first_project_usd", up.engineering, a,
             f"weeks of an ML engineer for a {e.plan.size_text} {e.plan.kind_text} (the article: "
             "'depending on team size and model complexity')"
             + ("; an in-house ML team needs a share" if answers.in_house_ml_team else "")),
    ]  # fmt: skip
    months = e.break_even_months
    fig = a["seed.break_even_months"]
    lo, hi = e.break_even_range
    rows.append(
        {
            "item": "Break-even of fine-tuning against today's process",
            "unit": "months",
            "article": {"low": fig.low, "high": fig.high},
            "estimate": None
            if months is None
            else {"low": _r(lo), "expected": round(months, 2), "high": _r(hi)},
            "position": "never" if months is None else _position(months, fig.low, fig.high),
            "why": (
                f"{answers.monthly_volume:,} items a month at "
                f"${e.monthly['human'].total.expected:,.0f} of human work; the article assumes "
                "production scale"
            ),
        }
    )
    return rows


def _row(item: str, key: str, est: Range, a: Assumptions, why: str) -> dict[str, Any]:
    fig = a[key]
    return {
        "item": item,
        "unit": "USD",
        "article": {"low": fig.low, "high": fig.high},
        "estimate": est.to_dict(0),
        "position": _position(est.expected, fig.low, fig.high),
        "why": why,
    }


def _position(v: float, lo: float, hi: float) -> str:
    return "below" if v < lo else "above" if v > hi else "within"


def _why_total(answers: Answers, e: Economics) -> str:
    return f"the sum of the three lines below, for {e.plan.label}"


def _why_data(answers: Answers) -> str:
    return (
        f"{answers.labeled_examples:,} examples you have are reviewed, "
        f"{answers.examples_to_label:,} are labelled from scratch; the article's low end is a "
        "floor (guidelines, QA)"
    )


def _why_compute(e: Economics) -> str:
    t = e.training
    return (
        f"{e.plan.params_b:g}B parameters on {t.gpu_count} x {t.gpu}: "
        f"{t.runs.expected:g} training runs plus an experimentation allowance; the article's "
        "range spans small open models to large runs"
    )


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 2)
