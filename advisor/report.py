"""`estimate()`: answers + assumptions (+ measured accuracy) -> the advisor's report: the verdict
and its reasons, every option's costs, the plan, budget fit, break-even, reference ranges."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from advisor.answers import Answers
from advisor.assumptions import Assumptions, load_assumptions
from advisor.breakeven import Economics, economics
from advisor.decision import Decision, decide, evidence
from advisor.references import reference_ranges
from advisor.rules import NAMES, Context, RuleResult, Verdict, evaluate_rules
from advisor.running import AUTOMATED, OPTIONS

_FINE_TUNING_TYPE = {"style": "style", "domain_qa": "domain"}  # everything else: instruction


@dataclass(frozen=True)
class Report:
    answers: Answers
    assumptions: Assumptions
    economics: Economics
    rules: list[RuleResult]
    decision: Decision
    measured_accuracy: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def recommendation(self) -> Verdict:
        return self.decision.recommendation

    @property
    def fine_tune_justified(self) -> bool:
        return self.recommendation == "fine_tune"

    @property
    def reasons(self) -> list[RuleResult]:
        """Every fired rule, then the cost reason that points to the verdict."""
        return [*(r for r in self.rules if r.fired), self.decision.cost_reason]

    @property
    def break_even_months(self) -> float | None:
        return self.economics.break_even_months

    @property
    def fine_tuning_type(self) -> str:
        return _FINE_TUNING_TYPE.get(self.answers.task_type, "instruction")

    def grouped_reasons(self) -> dict[str, list[RuleResult]]:
        """{"for": reasons that back the verdict, "against": reasons that argue otherwise}.

        For the verdict: reasons for it, and reasons that ruled an alternative out. Against it:
        reasons against it, and reasons for an option that lost.
        """
        rec, out = self.recommendation, {"for": [], "against": []}
        for r in self.reasons:
            backs = (r.option == rec) == (r.stance == "for") and rec not in r.excludes
            out["for" if backs else "against"].append(r)
        return out

    def budget(self) -> dict[str, Any]:
        """Does the recommended option's set-up fit the budget (expected; high flagged)?"""
        budget = self.answers.total_budget_usd
        setup = self.economics.setup[self.recommendation]
        return {
            "total_budget_usd": budget,
            "fits": setup.expected <= budget,
            "shortfall_usd": round(max(0.0, setup.expected - budget), 2),
            "option": self.recommendation,
            "setup_usd": setup.to_dict(),
            "fits_high": setup.high <= budget,
            "high_shortfall_usd": round(max(0.0, setup.high - budget), 2),
        }

    def break_even(self) -> dict[str, Any]:
        """The verdict's break-even as a range, against today's process (and, for a fine-tune,
        against prompting and RAG): best / expected / worst months, None = not in the horizon."""
        e, rec = self.economics, self.recommendation
        against = ["human"] + (["prompting", "rag"] if rec == "fine_tune" else [])
        rows = []
        for o in against:
            ends = [e.break_even_between(rec, o, end) for end in ("low", "expected", "high")]
            known = sorted(v for v in ends if v is not None)
            rows.append(
                {
                    "against": o,
                    "label": f"{NAMES[rec]} against {NAMES[o]}",
                    "best": _round(known[0]) if known else None,
                    "expected": _round(ends[1]),
                    "worst": _round(known[-1]) if len(known) == 3 else None,
                }
            )
        return {"option": rec, "horizon_months": e.horizon_months, "rows": rows}

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON: the contract keys first, then extras for the app."""
        e = self.economics
        lo, hi = e.break_even_range
        groups = self.grouped_reasons()
        return {
            "recommendation": self.recommendation,
            "fine_tune_justified": self.fine_tune_justified,
            "reasons": [r.to_dict() for r in self.reasons],
            "costs": e.upfront.to_dict(),
            "budget": self.budget(),
            "break_even_months": _round(e.break_even_months),
            "training_estimate": e.training.to_dict(),
            # --- extras ---
            "plan": e.plan.to_dict(),
            "evidence": self.evidence,
            "fallback": self.decision.fallback,
            "reasons_for": [r.rule for r in groups["for"]],
            "reasons_against": [r.rule for r in groups["against"]],
            "excluded": {o: v for o, v in self.decision.excluded.items() if v},
            "break_even": self.break_even(),
            "break_even_months_range": {
                "low": _round(lo),
                "expected": _round(e.break_even_months),
                "high": _round(hi),
            },
            "break_even_vs": {
                o: _round(e.break_even_against(o)) for o in ("human", "prompting", "rag")
            },
            "horizon_months": e.horizon_months,
            "horizon_costs": {o: e.horizon_cost(o).to_dict() for o in OPTIONS},
            "cost_details": e.upfront.details(),
            "serving": e.serving.to_dict(),
            "later_iteration_cost": e.upfront.later_iteration.to_dict(),
            "setup_costs": {o: e.setup[o].to_dict() for o in OPTIONS},
            "build_months": {o: e.build[o].to_dict() for o in OPTIONS},
            "monthly_running_costs": {o: e.monthly[o].to_dict() for o in OPTIONS},
            "monthly_saving_usd": e.monthly_saving.to_dict(),
            "accuracy": {
                o: {**e.accuracy[o].to_dict(3), "measured": o in self.measured_accuracy}
                for o in AUTOMATED
            },
            "reference_ranges": reference_ranges(self.answers, self.assumptions, e),
            "series": e.series(),
            "fine_tuning_type": self.fine_tuning_type,
            "rules": [{**r.to_dict(), "fired": r.fired} for r in self.rules],
            "answers": self.answers.to_dict(),
            "assumptions_used": _assumptions_used(self.assumptions),
        }

    def summary(self) -> str:
        from advisor.text import summary

        return summary(self.to_dict())


def estimate(
    answers: Answers | Mapping[str, Any],
    assumptions: Assumptions | None = None,
    measured_accuracy: Mapping[str, float] | None = None,
    measured_by: Mapping[str, str] | None = None,
) -> Report:
    """Run the advisor. `answers` may be a dict (validated like the CLI's JSON file).

    measured_accuracy: accuracy measured on the user's data per option, e.g.
    {"rag": 0.91, "fine_tune": 0.94}; it replaces the assumed accuracy, the verdict is
    recomputed, and `evidence` says whether it changed. measured_by: what measured each,
    e.g. {"rag": "Linear probe on embeddings"}, named in the evidence sentence.
    Raises ValueError naming the key.
    """
    if not isinstance(answers, Answers):
        answers = Answers.from_dict(answers)
    a = assumptions or load_assumptions()
    measured = dict(measured_accuracy or {})
    econ, results, decision = _decide(answers, a, measured)
    assumed = decision.recommendation
    if measured:
        assumed = _decide(answers, a, {})[2].recommendation
    return Report(
        answers=answers,
        assumptions=a,
        economics=econ,
        rules=results,
        decision=decision,
        measured_accuracy=measured,
        evidence=evidence(assumed, decision.recommendation, measured, sources=measured_by),
    )


def _decide(
    answers: Answers, a: Assumptions, measured: dict[str, float]
) -> tuple[Economics, list[RuleResult], Decision]:
    econ = economics(answers, a, measured)
    results = evaluate_rules(Context(answers, a, econ, measured))
    return econ, results, decide(econ, results)


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


def _assumptions_used(a: Assumptions) -> dict[str, dict[str, Any]]:
    out = {}
    for key in a.keys():
        fig = a[key]
        value: Any = list(fig.items or ()) if fig.is_list else fig.range.to_dict(6)
        out[key] = {
            "label": fig.label,
            "value": value,
            "unit": fig.unit,
            "source": fig.source,
            "as_of": fig.as_of,
        }
    return out
