"""How accurate each automated option is, and how we know: assumed, stated or measured.

    assumed   a prior by task type (and, for a fine-tuned LLM, model size) from the assumptions,
              as a range: `accuracy.<task>.<option>` minus `accuracy.llm_size_penalty.*`
    stated    the user says what they tried already meets the bar: the prior, lifted to the bar
    measured  accuracy on the user's held-out split (the baseline, the trial), a point

`measured_by` names what measured a figure; a figure that stands in for another system (kNN for
an LLM RAG) says "proxy" there, and the report carries that word.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from advisor.answers import Answers
from advisor.assumptions import Assumptions
from advisor.plan import Plan
from advisor.ranges import Range

Source = Literal["assumed", "stated", "measured"]
AUTOMATED = ("prompting", "rag", "classifier", "fine_tune")


@dataclass(frozen=True)
class Accuracy:
    range: Range
    source: Source
    note: str = ""  # what measured it (and how far a proxy carries), or what the user stated

    def to_dict(self) -> dict:
        return {**self.range.to_dict(3), "source": self.source, "note": self.note}


def prior(answers: Answers, a: Assumptions, plan: Plan, option: str) -> Range:
    """The assumed accuracy of `option` for this task (the classifier exists for
    classification only; for another task its figure is the classification one, ruled out)."""
    task = "classification" if option == "classifier" else answers.task_type
    r = a.range(f"accuracy.{task}.{option}")
    if option == "fine_tune" and plan.kind == "llm" and plan.params_b < 7:
        size = "under_1b" if plan.params_b < 1 else "under_7b"
        r = (r - a.range(f"accuracy.llm_size_penalty.{size}")).clamp(lo=0.0)
    return r


def option_accuracy(
    answers: Answers,
    a: Assumptions,
    plan: Plan,
    measured: Mapping[str, float] | None = None,
    measured_by: Mapping[str, str] | None = None,
) -> dict[str, Accuracy]:
    """Accuracy per automated option: measured, else stated, else assumed."""
    measured, by = dict(measured or {}), dict(measured_by or {})
    check_measured(measured)
    bar = answers.min_accuracy
    stated = _stated(answers)
    out = {}
    for o in AUTOMATED:
        if o in measured:
            out[o] = Accuracy(Range.point(measured[o]), "measured", by.get(o, ""))
        elif o in stated:
            r = prior(answers, a, plan, o)
            note = "you said what you tried meets your quality bar"
            out[o] = Accuracy(r.clamp(lo=bar) if bar > 0 else r, "stated", note)
        else:
            out[o] = Accuracy(prior(answers, a, plan, o), "assumed")
    return out


def check_measured(measured: Mapping[str, float]) -> None:
    for key, v in measured.items():
        if key not in AUTOMATED:
            raise ValueError(
                f"measured_accuracy.{key}: unknown option; allowed: {', '.join(AUTOMATED)}"
            )
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        if not ok or not 0 <= v <= 1:
            raise ValueError(f"measured_accuracy.{key}: must be a fraction 0-1 (got {v!r})")


def _stated(answers: Answers) -> set[str]:
    """What the user tried and said meets the bar (the last rung tried: RAG if tried)."""
    if not answers.prior_results_acceptable:
        return set()
    if answers.tried_rag:
        return {"rag"}
    return {"prompting"} if answers.tried_prompting else set()


def is_proxy(note: str) -> bool:
    return "proxy" in note.lower()
