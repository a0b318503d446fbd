"""What each option costs per month once running, and what it costs to set up.

Options: "human" (today's process), "prompting", "rag", "fine_tune". An automated option still
pays people: every item gets a short review, and each wrong item (1 - accuracy) is redone by
hand. Accuracies come from the assumptions or, once measured, from the user's own data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from advisor.answers import Answers
from advisor.assumptions import Assumptions
from advisor.costs import engineering_hourly_rate
from advisor.plan import resolve_plan
from advisor.ranges import Range
from advisor.serving import serving_estimate

OPTIONS = ("human", "prompting", "rag", "fine_tune")
WEEKS_PER_MONTH = 52 / 12
AUTOMATED = OPTIONS[1:]


@dataclass(frozen=True)
class MonthlyCost:
    option: str
    inference: Range  # USD/month: API tokens or hosting
    human: Range  # USD/month: people's time that remains
    operations: Range  # USD/month: engineering upkeep
    retraining: Range  # USD/month: later iterations, spread over their interval

    @property
    def total(self) -> Range:
        return self.inference + self.human + self.operations + self.retraining

    def to_dict(self) -> dict[str, Any]:
        parts = ("inference", "human", "operations", "retraining")
        return {
            **self.total.to_dict(),
            "parts": {p: round(getattr(self, p).expected, 2) for p in parts},
        }


def option_accuracy(
    a: Assumptions, measured: Mapping[str, float] | None = None
) -> dict[str, Range]:
    """Accuracy per automated option: the assumption, or the measured figure where given."""
    measured = dict(measured or {})
    for key, v in measured.items():
        if key not in AUTOMATED:
            raise ValueError(
                f"measured_accuracy.{key}: unknown option; allowed: {', '.join(AUTOMATED)}"
            )
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        if not ok or not 0 <= v <= 1:
            raise ValueError(f"measured_accuracy.{key}: must be a fraction 0-1 (got {v!r})")
    return {
        o: Range.point(measured[o]) if o in measured else a.range(f"automation.accuracy.{o}")
        for o in AUTOMATED
    }


def monthly_costs(
    answers: Answers,
    a: Assumptions,
    accuracy: Mapping[str, Range],
    later_iteration: Range,
    serving: Range | None = None,
) -> dict[str, MonthlyCost]:
    """serving: USD/month of serving the fine-tuned model (default: `serving_estimate`)."""
    if serving is None:
        serving = serving_estimate(answers, a, resolve_plan(answers, a)).usd_per_month
    v = answers.monthly_volume
    zero = Range.point(0)
    human_rate = Range.point(answers.human_hourly_cost_usd / 60)  # USD/minute
    today = Range.point(v * answers.human_minutes_per_item) * human_rate
    out = {"human": MonthlyCost("human", zero, today, zero, zero)}
    eng_rate = engineering_hourly_rate(a)
    for o in AUTOMATED:
        # Minutes of people per item: review every item, redo the wrong ones.
        minutes = a.range("automation.review_minutes_per_item") + accuracy[
            o
        ].complement() * a.range("automation.error_rework_factor").scale(
            answers.human_minutes_per_item
        )
        out[o] = MonthlyCost(
            option=o,
            inference=serving if o == "fine_tune" else _inference(o, answers, a),
            human=minutes.scale(v) * human_rate,
            operations=a.range(f"{o}.ops_hours_per_month") * eng_rate,
            retraining=_retraining(o, answers, a, later_iteration),
        )
    return out


def setup_costs(answers: Answers, a: Assumptions, fine_tune_upfront: Range) -> dict[str, Range]:
    """One-off cost of putting each option in place (USD)."""
    rate = a.range("engineering.weekly_rate_usd")
    return {
        "human": Range.point(0),
        "prompting": a.range("prompting.setup_weeks") * rate,
        "rag": a.range("rag.setup_weeks") * rate,
        "fine_tune": fine_tune_upfront,
    }


def build_months(answers: Answers, a: Assumptions) -> dict[str, Range]:
    """Months from the start until each option is live (today's process runs meanwhile)."""
    ft_weeks = a.range("engineering.weeks_first_project")
    if answers.in_house_ml_team:
        ft_weeks = ft_weeks * a.range("engineering.in_house_factor")
    return {
        "human": Range.point(0),
        "prompting": a.range("prompting.setup_weeks").scale(1 / WEEKS_PER_MONTH),
        "rag": a.range("rag.setup_weeks").scale(1 / WEEKS_PER_MONTH),
        "fine_tune": ft_weeks.scale(1 / WEEKS_PER_MONTH),
    }


def _inference(option: str, answers: Answers, a: Assumptions) -> Range:
    v = answers.monthly_volume
    per_m = 1e-6 * v  # USD per 1M tokens -> USD per month per token of one request
    store = a.range("rag.vector_store_usd_per_month") if option == "rag" else Range.point(0)
    if answers.needs_private_infra:
        # Data may not leave: a general LLM has to be hosted privately, whatever the volume.
        return a.range("llm.private_hosting_usd_per_month") + store
    prompt = a.range("prompting.instruction_tokens") + answers.avg_input_tokens
    cost = (prompt * a.range("llm.input_usd_per_1m_tokens")).scale(per_m) + a.range(
        "llm.output_usd_per_1m_tokens"
    ).scale(answers.avg_output_tokens * per_m)
    if option == "rag":
        context = a.range("rag.context_tokens") * a.range("llm.input_usd_per_1m_tokens")
        embed = a.range("embedding.usd_per_1m_tokens").scale(answers.avg_input_tokens)
        cost = cost + (context + embed).scale(per_m) + store
    return cost


def _retraining(option: str, answers: Answers, a: Assumptions, later: Range) -> Range:
    if option != "fine_tune" or answers.data_change == "never":
        return Range.point(0)
    return later / a.range(f"retraining.months_between.{answers.data_change}")
