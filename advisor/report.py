"""`estimate()`: answers + assumptions -> the advisor's report (verdict, reasons, costs,
budget fit, break-even, training estimate, monthly costs and cumulative series)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from advisor.answers import Answers
from advisor.assumptions import Assumptions, load_assumptions
from advisor.breakeven import Economics, economics
from advisor.rules import Context, RuleResult, Verdict, decide, evaluate_rules
from advisor.running import AUTOMATED, OPTIONS

_FINE_TUNING_TYPE = {"style": "style", "domain_qa": "domain"}  # everything else: instruction


@dataclass(frozen=True)
class Report:
    answers: Answers
    assumptions: Assumptions
    economics: Economics
    rules: list[RuleResult]
    recommendation: Verdict
    fine_tune_justified: bool
    measured_accuracy: dict[str, float] = field(default_factory=dict)

    @property
    def reasons(self) -> list[RuleResult]:
        return [r for r in self.rules if r.fired]

    @property
    def break_even_months(self) -> float | None:
        return self.economics.break_even_months

    @property
    def fine_tuning_type(self) -> str:
        return _FINE_TUNING_TYPE.get(self.answers.task_type, "instruction")

    def budget(self) -> dict[str, Any]:
        budget = self.answers.total_budget_usd
        total = self.economics.upfront.total.expected
        return {
            "total_budget_usd": budget,
            "fits": total <= budget,
            "shortfall_usd": round(max(0.0, total - budget), 2),
        }

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON: the contract keys first, then extras for the app."""
        e = self.economics
        lo, hi = e.break_even_range
        return {
            "recommendation": self.recommendation,
            "fine_tune_justified": self.fine_tune_justified,
            "reasons": [r.to_dict() for r in self.reasons],
            "costs": e.upfront.to_dict(),
            "budget": self.budget(),
            "break_even_months": _round(e.break_even_months),
            "training_estimate": e.training.to_dict(),
            # --- extras ---
            "break_even_months_range": {
                "low": _round(lo),
                "expected": _round(e.break_even_months),
                "high": _round(hi),
            },
            "break_even_vs": {o: _round(e.break_even_against(o)) for o in ("prompting", "rag")},
            "horizon_months": e.horizon_months,
            "later_iteration_cost": e.upfront.later_iteration.to_dict(),
            "setup_costs": {o: e.setup[o].to_dict() for o in OPTIONS},
            "build_months": {o: e.build[o].to_dict() for o in OPTIONS},
            "monthly_running_costs": {o: e.monthly[o].to_dict() for o in OPTIONS},
            "monthly_saving_usd": e.monthly_saving.to_dict(),
            "accuracy": {
                o: {**e.accuracy[o].to_dict(3), "measured": o in self.measured_accuracy}
                for o in AUTOMATED
            },
            "series": e.series(),
            "fine_tuning_type": self.fine_tuning_type,
            "rules": [{**r.to_dict(), "fired": r.fired} for r in self.rules],
            "answers": self.answers.to_dict(),
            "assumptions_used": _assumptions_used(self.assumptions),
        }

    def summary(self) -> str:
        """A short human-readable report for the terminal."""
        e, b = self.economics, self.budget()
        verdict = self.recommendation.replace("_", "-")
        lines = [
            f"Recommendation: {verdict}"
            + (" (fine-tuning is justified)" if self.fine_tune_justified else ""),
            "Why:",
            *(f"  - {r.rule}: {r.message}" for r in self.reasons),
            "Cost of a first fine-tuning project, USD (low / expected / high):",
        ]
        for part in ("data_preparation", "compute", "engineering", "total"):
            r = e.upfront.total if part == "total" else getattr(e.upfront, part)
            label = part.replace("_", " ")
            lines.append(f"  {label:<17}{r.low:>11,.0f} {r.expected:>11,.0f} {r.high:>11,.0f}")
        fit = "fits" if b["fits"] else f"short by ${b['shortfall_usd']:,.0f}"
        lines.append(f"Budget: ${b['total_budget_usd']:,.0f} ({fit})")
        months = e.break_even_months
        lines.append(
            "Break-even against today's process: "
            + ("never" if months is None else f"{months:.1f} months")
        )
        t = e.training
        lines.append(
            f"Training: {t.gpu_count} x {t.gpu}, {t.gpu_memory_gb:,.1f} GB needed, "
            f"{t.train_hours.expected:,.2f} h per run, compute ${t.compute_usd.expected:,.0f} "
            f"for {t.runs.expected:g} runs"
        )
        return "\n".join(lines)


def estimate(
    answers: Answers | Mapping[str, Any],
    assumptions: Assumptions | None = None,
    measured_accuracy: Mapping[str, float] | None = None,
) -> Report:
    """Run the advisor. `answers` may be a dict (validated like the CLI's JSON file).

    measured_accuracy: accuracy measured on the user's data per option, e.g.
    {"rag": 0.91, "fine_tune": 0.94}; it replaces the assumed accuracy in the running costs and
    break-even. Raises ValueError naming the key on bad input.
    """
    if not isinstance(answers, Answers):
        answers = Answers.from_dict(answers)
    a = assumptions or load_assumptions()
    econ = economics(answers, a, measured_accuracy)
    results = evaluate_rules(Context(answers, a, econ))
    verdict, justified = decide(answers, results)
    return Report(
        answers=answers,
        assumptions=a,
        economics=econ,
        rules=results,
        recommendation=verdict,
        fine_tune_justified=justified,
        measured_accuracy=dict(measured_accuracy or {}),
    )


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


def _assumptions_used(a: Assumptions) -> dict[str, dict[str, Any]]:
    out = {}
    for key in a.keys():
        fig = a[key]
        value: Any = list(fig.items or ()) if fig.is_list else fig.range.to_dict(6)
        out[key] = {"value": value, "unit": fig.unit, "source": fig.source, "as_of": fig.as_of}
    return out
