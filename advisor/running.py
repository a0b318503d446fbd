"""What each option costs per month once running, and what it costs to set up.

Options: "human" (today's process), "prompting" and "rag" (LLM systems), "classifier" (the small
model the baseline trained on your labels: embeddings + kNN / probe / TF-IDF, served on a CPU) and
"fine_tune" (the plan's model, trained and served). An automated option still pays people: the
low-confidence share of items is reviewed (never longer per item than doing it by hand), and each
wrong item (1 - accuracy) is redone by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from advisor.accuracy import AUTOMATED
from advisor.answers import Answers
from advisor.assumptions import Assumptions
from advisor.costs import data_preparation_parts, engineering_hourly_rate, engineering_weeks
from advisor.plan import Plan
from advisor.ranges import Range

OPTIONS = ("human", *AUTOMATED)
WEEKS_PER_MONTH = 52 / 12
PARTS = ("inference", "human", "operations", "retraining")


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

    @property
    def ai_spend(self) -> Range:
        """What the AI budget pays a month: everything but people's time."""
        return self.inference + self.operations + self.retraining

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.total.to_dict(),
            "parts": {p: round(getattr(self, p).expected, 2) for p in PARTS},
        }


def people_minutes(answers: Answers, a: Assumptions, accuracy: Range) -> Range:
    """Minutes of people per automated item: review of the routed share (each review capped at
    the time of doing the item by hand) plus the wrong share redone."""
    by_hand = answers.human_minutes_per_item
    review = a.range("automation.review_minutes_per_item").clamp(hi=by_hand)
    rework = a.range("automation.error_rework_factor").scale(by_hand)
    return a.range("automation.review_share") * review + accuracy.complement() * rework


def monthly_costs(
    answers: Answers,
    a: Assumptions,
    accuracy: Mapping[str, Range],
    later_iteration: Range,
    serving: Mapping[str, Range],
) -> dict[str, MonthlyCost]:
    """serving: USD/month of hosting the trained models, {"fine_tune": ..., "classifier": ...}."""
    v = answers.monthly_volume
    zero = Range.point(0)
    human_rate = Range.point(answers.human_hourly_cost_usd / 60)  # USD/minute
    today = Range.point(v * answers.human_minutes_per_item) * human_rate
    out = {"human": MonthlyCost("human", zero, today, zero, zero)}
    eng_rate = engineering_hourly_rate(a)
    for o in AUTOMATED:
        out[o] = MonthlyCost(
            option=o,
            inference=serving[o] if o in serving else _inference(o, answers, a),
            human=people_minutes(answers, a, accuracy[o]).scale(v) * human_rate,
            operations=a.range(f"{o}.ops_hours_per_month") * eng_rate,
            retraining=_retraining(o, answers, a, later_iteration),
        )
    return out


def classifier_setup(answers: Answers, a: Assumptions) -> Range:
    """Days of integration, plus labelling the examples still missing (no floor: the baseline
    already trained on the labels you have)."""
    _, to_label = data_preparation_parts(answers, a)
    return a.range("classifier.setup_weeks") * a.range("engineering.weekly_rate_usd") + to_label


def setup_costs(
    answers: Answers, a: Assumptions, fine_tune_upfront: Range, plan: Plan
) -> dict[str, Range]:
    """One-off cost of putting each option in place (USD)."""
    rate = a.range("engineering.weekly_rate_usd")
    return {
        "human": Range.point(0),
        "prompting": a.range("prompting.setup_weeks") * rate,
        "rag": a.range("rag.setup_weeks") * rate,
        "classifier": classifier_setup(answers, a),
        "fine_tune": fine_tune_upfront,
    }


def build_months(answers: Answers, a: Assumptions, plan: Plan) -> dict[str, Range]:
    """Months from the start until each option is live (today's process runs meanwhile)."""
    return {
        "human": Range.point(0),
        "prompting": a.range("prompting.setup_weeks").scale(1 / WEEKS_PER_MONTH),
        "rag": a.range("rag.setup_weeks").scale(1 / WEEKS_PER_MONTH),
        "classifier": a.range("classifier.setup_weeks").scale(1 / WEEKS_PER_MONTH),
        "fine_tune": engineering_weeks(answers, a, plan.params_b).scale(1 / WEEKS_PER_MONTH),
    }


def prompt_tokens(answers: Answers, a: Assumptions) -> Range:
    """Instructions, few-shot examples and (for classification) the label list, plus the input."""
    tokens = a.range("prompting.instruction_tokens") + answers.avg_input_tokens
    if answers.task_type == "classification" and answers.n_classes:
        tokens = tokens + a.range("prompting.tokens_per_class").scale(answers.n_classes)
    return tokens


def _inference(option: str, answers: Answers, a: Assumptions) -> Range:
    v = answers.monthly_volume
    per_m = 1e-6 * v  # USD per 1M tokens -> USD per month per token of one request
    store = a.range("rag.vector_store_usd_per_month") if option == "rag" else Range.point(0)
    if answers.needs_private_infra:
        # Data may not leave: a general LLM has to be hosted privately, whatever the volume.
        return a.range("llm.private_hosting_usd_per_month") + store
    cost = (prompt_tokens(answers, a) * a.range("llm.input_usd_per_1m_tokens")).scale(
        per_m
    ) + a.range("llm.output_usd_per_1m_tokens").scale(answers.avg_output_tokens * per_m)
    if option == "rag":
        context = a.range("rag.context_tokens") * a.range("llm.input_usd_per_1m_tokens")
        embed = a.range("embedding.usd_per_1m_tokens").scale(answers.avg_input_tokens)
        cost = cost + (context + embed).scale(per_m) + store
    return cost


def _retraining(option: str, answers: Answers, a: Assumptions, later: Range) -> Range:
    if option not in ("fine_tune", "classifier") or answers.data_change == "never":
        return Range.point(0)
    interval = a.range(f"retraining.months_between.{answers.data_change}")
    if option == "classifier":  # retrains in minutes on a CPU: an engineer checks and redeploys
        return a.range("classifier.retrain_hours") * engineering_hourly_rate(a) / interval
    return later / interval
