"""The article's "when to fine-tune" and "when not to" as named rules: constraints + explanations.

A rule that fires is a reason. Each reason says which option it is about (`option`), whether it
argues for or against it (`stance`), which option it points to (`direction`), and which options
it rules out (`excludes`; "quality" when an option falls short of the quality bar, "rule" when
the article forbids it). The verdict itself is made in advisor/decision.py: the cheapest option
over the horizon among those no reason rules out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from advisor.accuracy import prior
from advisor.answers import Answers
from advisor.assumptions import Assumptions
from advisor.breakeven import Economics

Verdict = Literal["human", "prompting", "rag", "classifier", "fine_tune"]
Stance = Literal["for", "against"]
AUTOMATED: tuple[Verdict, ...] = ("prompting", "rag", "classifier", "fine_tune")
NAMES = {"human": "today's process", "prompting": "prompting", "rag": "RAG",
         "classifier": "the small classifier", "fine_tune": "fine-tuning"}  # fmt: skip
# The article's reasons to fine-tune; with none of them, fine-tuning has no business case.
FOR_FINE_TUNE = (
    "high_volume_narrow_task",
    "strict_format_at_scale",
    "private_infrastructure",
    "prompting_rag_inconsistent",
)


@dataclass(frozen=True)
class Context:
    answers: Answers
    assumptions: Assumptions
    economics: Economics
    measured: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """What a check found: the message, and what the reason does when it fires."""

    fired: bool
    message: str
    option: str = "fine_tune"
    stance: Stance = "for"
    direction: Verdict = "fine_tune"
    excludes: tuple[str, ...] = ()
    kind: Literal["rule", "quality"] = "rule"


@dataclass(frozen=True)
class RuleResult:
    rule: str
    fired: bool
    message: str
    direction: Verdict  # the option this reason points to
    option: str = "fine_tune"  # the option it is about
    stance: Stance = "for"  # for or against `option`
    excludes: tuple[str, ...] = ()  # options it rules out
    kind: Literal["rule", "quality", "cost", "evidence"] = "rule"

    @property
    def blocks_fine_tune(self) -> bool:
        return self.fired and "fine_tune" in self.excludes

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "message": self.message,
            "direction": self.direction,
            "option": self.option,
            "stance": self.stance,
            "excludes": list(self.excludes),
            "kind": self.kind,
            "blocks_fine_tune": self.blocks_fine_tune,
        }


Check = Callable[[Context], Finding]


def _usd(x: float) -> str:
    return f"${x:,.0f}"


def _tried_short(a: Answers) -> bool:
    return (a.tried_prompting or a.tried_rag) and not a.prior_results_acceptable


# --- the article's reasons to fine-tune -----------------------------------------------------------


def high_volume_narrow_task(c: Context) -> Finding:
    a, narrow = c.answers, c.assumptions.items("rules.narrow_tasks")
    threshold = c.assumptions.value("rules.high_volume_per_month")
    if a.task_type in narrow and a.monthly_volume >= threshold:
        return Finding(True, (
            f"A narrow, well-defined task ({a.task_type.replace('_', ' ')}) at "
            f"{a.monthly_volume:,} items a month: a small fine-tuned model does it consistently "
            "and cheaply per item."))  # fmt: skip
    return Finding(False, f"Not a high-volume narrow task (needs one of {', '.join(narrow)} at "
                   f"{threshold:,.0f}+ a month).")  # fmt: skip


def strict_format_at_scale(c: Context) -> Finding:
    a = c.answers
    threshold = c.assumptions.value("seed.strict_format_min_volume")
    if (a.needs_strict_format or a.task_type == "style") and a.monthly_volume >= threshold:
        return Finding(True, (
            f"A strict format, tone or terminology over {a.monthly_volume:,} requests a month: "
            "fine-tuning bakes it into the model where prompts drift."))  # fmt: skip
    return Finding(False, f"No strict format or style needed at {threshold:,.0f}+ a month.")


def private_infrastructure(c: Context) -> Finding:
    if c.answers.needs_private_infra:
        return Finding(True, (
            "The data may not leave your infrastructure: a fine-tuned open model you host "
            "yourself replaces a large third-party API."))  # fmt: skip
    return Finding(False, "The data may go to a third-party API.")


def prompting_rag_inconsistent(c: Context) -> Finding:
    a = c.answers
    if a.tried_prompting and a.tried_rag and not a.prior_results_acceptable:
        return Finding(True, (
            "Prompting and RAG were both tried and stay inconsistent: the article's case for "
            "fine-tuning on its own."))  # fmt: skip
    return Finding(False, "Prompting and RAG have not both been tried and found wanting.")


# --- what was tried, and the quality bar ---------------------------------------------------------


def meets_bar_measured(c: Context, option: str) -> bool:
    """A measured figure lifts "tried and fell short" only when it meets the user's bar (with no
    bar stated: the accuracy assumed for the option), so a poor measurement never helps."""
    if option not in c.measured:
        return False
    prior_ = prior(c.answers, c.assumptions, c.economics.plan, option).expected
    return c.measured[option] >= max(c.answers.min_accuracy, prior_)


def tried_and_fell_short(c: Context) -> Finding:
    """Options the user tried that fell short fail the quality bar, unless measured since at
    the bar or better."""
    a = c.answers
    tried = [o for o, t in (("prompting", a.tried_prompting), ("rag", a.tried_rag)) if t]
    short = tuple(o for o in tried if not meets_bar_measured(c, o)) if _tried_short(a) else ()
    if short:
        what = " and ".join(NAMES[o] for o in short)
        they, are = ("they", "they are") if len(short) > 1 else ("it", "it is")
        return Finding(
            True,
            f"You tried {what} and {they} fell short of your quality bar: {are} out unless "
            "accuracy measured on your data meets the bar.",
            option=short[0],
            stance="against",
            direction="fine_tune",
            excludes=short,
            kind="quality",
        )
    return Finding(False, "Nothing tried has fallen short.", option="prompting", stance="against")


def retrieval_does_not_fix_format(c: Context) -> Finding:
    """RAG supplies facts, not tone: where prompting failed a format/style need, so would RAG."""
    a = c.answers
    style = a.needs_strict_format or a.task_type == "style"
    fired = (style and a.tried_prompting and not a.tried_rag and not a.prior_results_acceptable
             and not meets_bar_measured(c, "rag"))  # fmt: skip
    if fired:
        return Finding(True, (
            "Prompting fell short of a strict format or style. Retrieval adds facts, not tone or "
            "format, so RAG would fall short the same way; it is no step to try first."),
            option="rag", stance="against", direction="fine_tune", excludes=("rag",),
            kind="quality")  # fmt: skip
    return Finding(False, "RAG is not ruled out on format grounds.", option="rag", stance="against")


def prior_results_acceptable(c: Context) -> Finding:
    a = c.answers
    rung: Verdict = "rag" if a.tried_rag else "prompting"
    if a.prior_results_acceptable and (a.tried_prompting or a.tried_rag):
        return Finding(True, (
            f"{NAMES[rung].capitalize()} already meets your quality bar: anything else has to "
            "beat it on cost."), option=rung, direction=rung)  # fmt: skip
    return Finding(False, "Nothing tried so far meets the quality bar.", option=rung)


def below_quality_bar(c: Context) -> Finding:
    bar = c.answers.min_accuracy
    acc = {o: c.economics.acc(o) for o in AUTOMATED}
    short = tuple(o for o in AUTOMATED if bar > 0 and acc[o].expected < bar)
    if short:
        parts = ", ".join(
            f"{NAMES[o]} {acc[o].expected:.2f}{' (measured)' if o in c.measured else ''}"
            for o in short
        )
        return Finding(True, f"Below the accuracy you need ({bar:.2f}): {parts}.",
                       option=short[0], stance="against", direction="fine_tune", excludes=short,
                       kind="quality")  # fmt: skip
    return Finding(False, "Every option meets the accuracy bar.", option="prompting")


# --- the article's "when not to" -----------------------------------------------------------------


def start_with_prompting(c: Context) -> Finding:
    a = c.answers
    if not a.tried_prompting and not a.tried_rag:
        return Finding(True, (
            "Nothing tried yet: measure a prompt and the RAG baseline on your own data before "
            "paying for more; the measured accuracy replaces these assumptions."),
            option="fine_tune", stance="against", direction="prompting")  # fmt: skip
    return Finding(False, "Prompting has been tried.", stance="against", direction="prompting")


def pilot_stage(c: Context) -> Finding:
    stage = c.answers.stage
    if stage != "production":
        return Finding(True, (
            f"Still at the {stage} stage: requirements move; prompting and RAG change in minutes, "
            "a fine-tune needs a new training run. The article: start with prompting or RAG."),
            stance="against", direction="prompting", excludes=("fine_tune",))  # fmt: skip
    return Finding(False, "In production.", stance="against", direction="prompting")


def data_changes_often(c: Context) -> Finding:
    """About facts the model must hold: a task whose facts arrive in the input (a style or
    format task, a classifier of what it reads) holds none in its weights."""
    change, often = c.answers.data_change, c.assumptions.items("rules.frequent_change")
    in_input = c.answers.task_type in c.assumptions.items("rules.facts_in_input_tasks")
    if change in often and in_input:
        return Finding(False, (
            f"The information changes {change}, but a {c.answers.task_type.replace('_', ' ')} "
            "task reads its facts from the input: nothing to keep in the weights."),
            stance="against", direction="rag")  # fmt: skip
    if change in often:
        return Finding(True, (
            f"The information changes {change}: keep it in a retrieval index (RAG) that updates "
            "at once, not in model weights that need retraining."),
            stance="against", direction="rag", excludes=("fine_tune",))  # fmt: skip
    return Finding(False, f"The information changes {change}.", stance="against", direction="rag")


def knowledge_needs_retrieval(c: Context) -> Finding:
    a = c.answers
    if a.task_type in c.assumptions.items("rules.knowledge_tasks"):
        return Finding(True, (
            "Answering from your own documents needs them in the prompt: a general LLM does not "
            "know them, so prompting alone is out; retrieval (RAG) supplies them."),
            option="prompting", stance="against", direction="rag",
            excludes=("prompting",))  # fmt: skip
    return Finding(False, "Not a knowledge task.", option="prompting", stance="against")


def rag_for_changing_knowledge(c: Context) -> Finding:
    a = c.answers
    tasks, rates = (
        c.assumptions.items(k) for k in ("rules.knowledge_tasks", "rules.changing_knowledge")
    )
    if a.task_type in tasks and a.data_change in rates:
        return Finding(True, (
            f"A knowledge task whose facts change {a.data_change}: retrieval supplies current "
            "facts; fine-tuning teaches behaviour, not facts."),
            stance="against", direction="rag", excludes=("fine_tune",))  # fmt: skip
    return Finding(False, "Not a knowledge task with changing facts.", stance="against")


def too_few_examples(c: Context) -> Finding:
    a = c.answers
    n = a.labeled_examples + a.examples_to_label
    least = c.assumptions.value("rules.min_labeled_examples")
    if n < least:
        return Finding(True, (
            f"Only {n:,} training examples (fewer than {least:,.0f}): too few to fine-tune on; "
            "use them as retrieved few-shot examples instead."),
            stance="against", direction="rag", excludes=("fine_tune",))  # fmt: skip
    return Finding(False, f"{n:,} training examples.", stance="against", direction="rag")


def budget_under_10k(c: Context) -> Finding:
    budget = c.answers.total_budget_usd
    floor = c.assumptions.value("seed.budget_floor_usd")
    if budget < floor:
        return Finding(True, (
            f"A budget of {_usd(budget)} is under {_usd(floor)}: the article says RAG gives most "
            "of the value there, not fine-tuning."),
            stance="against", direction="rag", excludes=("fine_tune",))  # fmt: skip
    return Finding(False, f"The budget is at least {_usd(floor)}.", stance="against")


def budget_does_not_fit(c: Context) -> Finding:
    """Options whose first-year AI spend (expected) is over the budget: a reason against them,
    never a silent exclusion (the budget line names the shortfall and what fits instead)."""
    budget, e = c.answers.total_budget_usd, c.economics
    over = [o for o in AUTOMATED if e.first_year(o).expected > budget]
    if over:
        parts = ", ".join(f"{NAMES[o]} {_usd(e.first_year(o).expected)}" for o in over)
        fits = [o for o in AUTOMATED if o not in over]
        left: Verdict = min(fits, key=lambda o: e.horizon_cost(o).expected) if fits else "human"
        return Finding(True, f"First-year AI spend over the {_usd(budget)} budget: {parts}.",
                       option=over[0], stance="against", direction=left)  # fmt: skip
    return Finding(False, "Every option's first year fits the budget.", stance="against")


def classifier_fits_task(c: Context) -> Finding:
    """The small classifier picks one of your labels; it needs a classification task and
    labelled examples to learn from."""
    a = c.answers
    n = a.labeled_examples + a.examples_to_label
    least = c.assumptions.value("rules.min_labeled_examples")
    if a.task_type != "classification":
        why = f"a {a.task_type.replace('_', ' ')} task needs generated output, not a label"
    elif n < least:
        why = f"only {n:,} labelled examples (fewer than {least:,.0f}) to learn from"
    else:
        return Finding(False, "A classification task with labels to learn from.",
                       option="classifier", stance="against", direction="classifier")  # fmt: skip
    return Finding(True, f"The small classifier picks one of your labels: {why}.",
                   option="classifier", stance="against", direction="rag",
                   excludes=("classifier",))  # fmt: skip


def no_reason_to_fine_tune(c: Context) -> Finding:
    found = [name for name, check in _CHECKS.items() if name in FOR_FINE_TUNE and check(c).fired]
    if not found:
        return Finding(True, (
            "None of the article's reasons to fine-tune applies (a high-volume narrow task, a "
            "strict format at scale, private infrastructure, prompting and RAG tried and "
            "inconsistent)."), stance="against", direction="rag",
            excludes=("fine_tune",))  # fmt: skip
    return Finding(False, "Some reason to fine-tune applies.", stance="against")


_CHECKS: dict[str, Check] = {
    "prompting_rag_inconsistent": prompting_rag_inconsistent,
    "high_volume_narrow_task": high_volume_narrow_task,
    "strict_format_at_scale": strict_format_at_scale,
    "private_infrastructure": private_infrastructure,
    "prior_results_acceptable": prior_results_acceptable,
    "tried_and_fell_short": tried_and_fell_short,
    "retrieval_does_not_fix_format": retrieval_does_not_fix_format,
    "below_quality_bar": below_quality_bar,
    "start_with_prompting": start_with_prompting,
    "no_reason_to_fine_tune": no_reason_to_fine_tune,
    "pilot_stage": pilot_stage,
    "data_changes_often": data_changes_often,
    "knowledge_needs_retrieval": knowledge_needs_retrieval,
    "rag_for_changing_knowledge": rag_for_changing_knowledge,
    "too_few_examples": too_few_examples,
    "budget_under_10k": budget_under_10k,
    "budget_does_not_fit": budget_does_not_fit,
    "classifier_fits_task": classifier_fits_task,
}
RULE_NAMES = tuple(_CHECKS)


def evaluate_rules(ctx: Context) -> list[RuleResult]:
    out = []
    for name, check in _CHECKS.items():
        f = check(ctx)
        out.append(
            RuleResult(
                name,
                f.fired,
                f.message,
                f.direction,
                f.option,
                f.stance,
                f.excludes if f.fired else (),
                f.kind,
            )  # fmt: skip
        )
    return out
