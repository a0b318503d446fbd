"""The seed's "when to fine-tune" and "when not to" items as named rules, and the verdict.

The verdict climbs the ladder prompting -> RAG -> fine-tune: fine-tuning is justified only when
no blocking rule fired (the ladder rules block until prompting and RAG were tried and fell
short; the "when not to" rules block; so does having none of the reasons to fine-tune). Otherwise
the verdict is the rung the user should be on: prompting first, then RAG.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from advisor.answers import Answers
from advisor.assumptions import Assumptions
from advisor.breakeven import Economics

Verdict = Literal["prompting", "rag", "fine_tune"]
# The reasons to fine-tune; with none of them, fine-tuning has no business case.
FOR_FINE_TUNE = ("high_volume_narrow_task", "strict_format_at_scale", "private_infrastructure")


@dataclass(frozen=True)
class Context:
    answers: Answers
    assumptions: Assumptions
    economics: Economics


@dataclass(frozen=True)
class RuleResult:
    rule: str
    fired: bool
    message: str
    direction: Verdict  # the rung this rule pushes towards
    blocks_fine_tune: bool  # fired and stands in the way of fine-tuning

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "message": self.message,
            "direction": self.direction,
            "blocks_fine_tune": self.blocks_fine_tune,
        }


# A check returns (fired, message) or (fired, message, direction) when the push depends on answers.
Check = Callable[[Context], tuple[Any, ...]]


@dataclass(frozen=True)
class Rule:
    name: str
    direction: Verdict
    blocking: bool  # True: "when not to" / ladder rule; False: a reason to fine-tune
    check: Check

    def evaluate(self, ctx: Context) -> RuleResult:
        fired, message, *direction = self.check(ctx)
        push = direction[0] if direction else self.direction
        return RuleResult(self.name, fired, message, push, fired and self.blocking)


def _usd(x: float) -> str:
    return f"${x:,.0f}"


# --- reasons to fine-tune -------------------------------------------------------------------


def high_volume_narrow_task(c: Context) -> tuple[bool, str]:
    a, narrow = c.answers, c.assumptions.items("rules.narrow_tasks")
    threshold = c.assumptions.value("rules.high_volume_per_month")
    fired = a.task_type in narrow and a.monthly_volume >= threshold
    if fired:
        return True, (
            f"A narrow, well-defined task ({a.task_type}) at {a.monthly_volume:,} items a month: "
            "a small fine-tuned model does it consistently and cheaply per item."
        )
    return False, (
        f"Not a high-volume narrow task ({a.task_type}, {a.monthly_volume:,}/month; needs one "
        f"of {', '.join(narrow)} at {threshold:,.0f}+/month)."
    )


def strict_format_at_scale(c: Context) -> tuple[bool, str]:
    a = c.answers
    threshold = c.assumptions.value("seed.strict_format_min_volume")
    if a.needs_strict_format and a.monthly_volume >= threshold:
        return True, (
            f"A strict format, tone or terminology over {a.monthly_volume:,} requests a month: "
            "fine-tuning bakes it in where prompts drift."
        )
    return False, (
        f"No strict format needed at scale (needs a strict format and {threshold:,.0f}+ "
        "requests/month)."
    )


def private_infrastructure(c: Context) -> tuple[bool, str]:
    if c.answers.needs_private_infra:
        return True, (
            "Data may not leave your infrastructure: a small fine-tuned model you host yourself "
            "replaces a large third-party API."
        )
    return False, "Data may go to a third-party API, so a hosted LLM is an option."


def prompting_rag_inconsistent(c: Context) -> tuple[bool, str]:
    a = c.answers
    if a.tried_rag and not a.prior_results_acceptable:
        return True, (
            "Prompting and RAG were tried and did not meet the quality bar consistently: the "
            "next rung is fine-tuning."
        )
    return False, "Prompting and RAG have not both been tried and found wanting."


# --- the ladder ---------------------------------------------------------------------------------


def start_with_prompting(c: Context) -> tuple[bool, str]:
    a = c.answers
    if not a.tried_prompting and not a.tried_rag:
        return True, (
            "Nothing tried yet: start with prompting, the cheapest rung; measure it before "
            "paying for more."
        )
    return False, "Prompting has been tried."


def try_rag_next(c: Context) -> tuple[bool, str]:
    a = c.answers
    if a.tried_prompting and not a.tried_rag and not a.prior_results_acceptable:
        return True, (
            "Prompting fell short and RAG has not been tried: add retrieval of your own "
            "examples and documents before fine-tuning."
        )
    return False, "RAG is not the untried next step."


def prior_results_acceptable(c: Context) -> tuple[bool, str, Verdict]:
    a = c.answers
    rung: Verdict = "rag" if a.tried_rag else "prompting"
    if a.prior_results_acceptable and (a.tried_prompting or a.tried_rag):
        what = "RAG" if a.tried_rag else "Prompting"
        return True, f"{what} already meets the quality bar: keep it; fine-tuning adds cost.", rung
    return False, "Nothing tried so far meets the quality bar.", rung


# --- when not to --------------------------------------------------------------------------------


def pilot_stage(c: Context) -> tuple[bool, str]:
    stage = c.answers.stage
    if stage != "production":
        return True, (
            f"Still at the {stage} stage: requirements move; prompting and RAG change in "
            "minutes, a fine-tune needs a new training run. Fine-tune at production scale."
        )
    return False, "In production: requirements are settled enough to train on."


def data_changes_often(c: Context) -> tuple[bool, str]:
    change, often = c.answers.data_change, c.assumptions.items("rules.frequent_change")
    if change in often:
        return True, (
            f"The information changes {change}: keep it in a retrieval index (RAG) that updates "
            "at once, not in model weights that need retraining."
        )
    return False, f"The information changes {change}, slowly enough to train on."


def rag_for_changing_knowledge(c: Context) -> tuple[bool, str]:
    a = c.answers
    tasks, rates = (
        c.assumptions.items(k) for k in ("rules.knowledge_tasks", "rules.changing_knowledge")
    )
    if a.task_type in tasks and a.data_change in rates:
        return True, (
            f"A knowledge task ({a.task_type}) whose facts change {a.data_change}: retrieval "
            "supplies current facts; fine-tuning teaches behaviour, not facts."
        )
    return False, "Not a knowledge task with changing facts."


def too_few_examples(c: Context) -> tuple[bool, str]:
    n = c.answers.labeled_examples
    least = c.assumptions.value("rules.min_labeled_examples")
    if n < least:
        return True, (
            f"Only {n:,} labelled examples (fewer than {least:,.0f}): too few to fine-tune on; "
            "use them as retrieved few-shot examples instead."
        )
    return False, f"{n:,} labelled examples are enough to train on."


def budget_under_10k(c: Context) -> tuple[bool, str]:
    budget = c.answers.total_budget_usd
    floor = c.assumptions.value("seed.budget_floor_usd")
    if budget < floor:
        return True, (
            f"A budget of {_usd(budget)} is under {_usd(floor)}: not enough for a fine-tuning "
            "project; get the most out of prompting and RAG."
        )
    return False, f"The budget of {_usd(budget)} is at least {_usd(floor)}."


def budget_does_not_fit(c: Context) -> tuple[bool, str]:
    budget, total = c.answers.total_budget_usd, c.economics.upfront.total.expected
    if total > budget:
        return True, (
            f"The expected first fine-tuning project costs {_usd(total)}, over the "
            f"{_usd(budget)} budget by {_usd(total - budget)}."
        )
    return False, f"The expected cost {_usd(total)} fits the {_usd(budget)} budget."


def no_payback(c: Context) -> tuple[bool, str]:
    e = c.economics
    months, horizon = e.break_even_months, e.horizon_months
    saving = e.monthly_saving.expected
    if months is None:
        return True, (
            f"Fine-tuning never pays back: it saves {_usd(saving)} a month against today's process."
        )
    if months > horizon:
        return True, (
            f"Fine-tuning pays back only after {months:.0f} months, beyond the {horizon}-month "
            "horizon."
        )
    return False, f"Fine-tuning pays back in {months:.1f} months."


def no_reason_to_fine_tune(c: Context) -> tuple[bool, str]:
    reasons = [r.name for r in RULES if r.name in FOR_FINE_TUNE and r.check(c)[0]]
    if not reasons:
        return True, (
            "None of the reasons to fine-tune applies (a high-volume narrow task, a strict "
            "format at scale, private infrastructure)."
        )
    return False, f"Reasons to fine-tune: {', '.join(reasons)}."


RULES: tuple[Rule, ...] = (
    Rule("start_with_prompting", "prompting", True, start_with_prompting),
    Rule("try_rag_next", "rag", True, try_rag_next),
    Rule("prior_results_acceptable", "rag", True, prior_results_acceptable),
    Rule("prompting_rag_inconsistent", "fine_tune", False, prompting_rag_inconsistent),
    Rule("high_volume_narrow_task", "fine_tune", False, high_volume_narrow_task),
    Rule("strict_format_at_scale", "fine_tune", False, strict_format_at_scale),
    Rule("private_infrastructure", "fine_tune", False, private_infrastructure),
    Rule("no_reason_to_fine_tune", "rag", True, no_reason_to_fine_tune),
    Rule("pilot_stage", "prompting", True, pilot_stage),
    Rule("data_changes_often", "rag", True, data_changes_often),
    Rule("rag_for_changing_knowledge", "rag", True, rag_for_changing_knowledge),
    Rule("too_few_examples", "rag", True, too_few_examples),
    Rule("budget_under_10k", "prompting", True, budget_under_10k),
    Rule("budget_does_not_fit", "rag", True, budget_does_not_fit),
    Rule("no_payback", "rag", True, no_payback),
)
RULE_NAMES = tuple(r.name for r in RULES)


def evaluate_rules(ctx: Context) -> list[RuleResult]:
    return [rule.evaluate(ctx) for rule in RULES]


def decide(answers: Answers, results: list[RuleResult]) -> tuple[Verdict, bool]:
    """(verdict, fine_tune_justified) from the rule results."""
    if not any(r.blocks_fine_tune for r in results):
        return "fine_tune", True
    a = answers
    if not (a.tried_prompting or a.tried_rag):
        return "prompting", False
    if a.prior_results_acceptable and not a.tried_rag:
        return "prompting", False  # prompting works: stay on the bottom rung
    return "rag", False
