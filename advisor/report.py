"""`estimate()`: answers + assumptions (+ measured accuracy) -> the advisor's report: the verdict
and its reasons, every option costed the same way (`options`), what the verdict rests on (the
swap accuracy, `measure_first`), budget fit and break-even of the recommendation, the plan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from advisor.accuracy import check_measured, is_proxy
from advisor.answers import Answers
from advisor.assumptions import Assumptions, load_assumptions
from advisor.breakeven import Economics, economics
from advisor.decision import OPTIONS, Decision, decide, evidence
from advisor.evidence import Evidence, check_interval
from advisor.next_steps import labelling, measurement
from advisor.references import reference_ranges
from advisor.rules import NAMES, Context, RuleResult, Verdict, evaluate_rules

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
    gain_per_doubling: float | None = None

    @property
    def recommendation(self) -> Verdict:
        return self.decision.recommendation

    @property
    def fine_tune_justified(self) -> bool:
        return self.recommendation == "fine_tune"

    @property
    def measure_first(self) -> bool:
        return self.decision.measure_first

    @property
    def reasons(self) -> list[RuleResult]:
        """Every fired rule, then the cost reason that points to the verdict."""
        return [*(r for r in self.rules if r.fired), self.decision.cost_reason]

    @property
    def break_even_months(self) -> float | None:
        """The recommendation's break-even against today's process (None for today's)."""
        if self.recommendation == "human":
            return None
        return self.economics.break_even_between(self.recommendation, "human")

    @property
    def fine_tuning_type(self) -> str:
        return _FINE_TUNING_TYPE.get(self.answers.task_type, "instruction")

    def grouped_reasons(self) -> dict[str, list[RuleResult]]:
        """{"for": reasons for the verdict, "against": reasons against it, "other": reasons
        about the other options (for or against them), each to be labelled with its option}."""
        rec = self.recommendation
        out: dict[str, list[RuleResult]] = {"for": [], "against": [], "other": []}
        for r in self.reasons:
            if r.kind == "cost" or (r.option == rec and r.stance == "for"):
                out["for"].append(r)
            elif r.option == rec or rec in r.excludes:
                out["against"].append(r)
            else:
                out["other"].append(r)
        return out

    def budget(self) -> dict[str, Any]:
        """The recommendation's first-year AI spend against the budget (expected; high case
        flagged), beside the cheapest option that fits and today's process."""
        e, rec, budget = self.economics, self.recommendation, self.answers.total_budget_usd
        spend = e.first_year(rec)
        ok = [o for o in OPTIONS if o != "human" and not self.decision.excluded.get(o)]
        fitting = [o for o in ok if e.first_year(o).expected <= budget]
        cheapest = min(fitting, key=lambda o: e.horizon_cost(o).expected) if fitting else None
        return {
            "total_budget_usd": budget,
            "option": rec,
            "first_year_usd": spend.to_dict(),
            "fits": spend.expected <= budget,
            "shortfall_usd": round(max(0.0, spend.expected - budget), 2),
            "fits_high": spend.high <= budget,
            "high_shortfall_usd": round(max(0.0, spend.high - budget), 2),
            "cheapest_fitting": cheapest,
            "human_first_year_usd": round(e.monthly["human"].total.expected * 12, 2),
        }

    def break_even(self) -> dict[str, Any]:
        """The verdict's break-even as a range against today's process (for today's process:
        the runner-up's), and against the runner-up: best / expected / worst months."""
        e, d = self.economics, self.decision
        rec = self.recommendation
        pairs = []
        if rec != "human":
            pairs.append((rec, "human"))
            if d.runner_up not in (None, "human", rec):
                pairs.append((rec, d.runner_up))
        else:
            other = d.runner_up if d.runner_up not in (None, "human") else d.cheapest
            if other != "human":
                pairs.append((other, "human"))
        rows = []
        for o, against in pairs:
            ends = [e.break_even_between(o, against, end) for end in ("low", "expected", "high")]
            known = sorted(v for v in ends if v is not None)
            rows.append({"option": o, "against": against,
                         "label": f"{NAMES[o]} against {NAMES[against]}",
                         "best": _round(known[0]) if known else None, "expected": _round(ends[1]),
                         "worst": _round(known[-1]) if len(known) == 3 else None})  # fmt: skip
        return {"option": rec, "horizon_months": e.horizon_months, "rows": rows}

    def options(self) -> dict[str, dict[str, Any]]:
        """Every option costed the same way: the one home of each option's figures."""
        e, out = self.economics, {}
        swap = self.decision.swap.get("accuracy", {})
        for o in OPTIONS:
            acc = e.accuracy.get(o)
            out[o] = {
                "setup_usd": e.setup[o].to_dict(),
                "monthly_usd": e.monthly[o].total.to_dict(),
                "horizon_usd": e.horizon_cost(o).to_dict(),
                "accuracy": acc.range.to_dict(3) if acc else None,
                "accuracy_source": acc.source if acc else "stated",
                "ruled_out_by": list(self.decision.excluded.get(o, [])),
                # --- extras ---
                "accuracy_note": acc.note if acc else "today's process is the quality bar",
                "proxy": bool(acc and is_proxy(acc.note)),
                "first_year_usd": e.first_year(o).to_dict(),
                "build_months": e.build[o].to_dict(),
                "monthly_parts": e.monthly[o].to_dict()["parts"],
                "swap_accuracy": swap.get(o),
                "why_not": self._why_not(o),
            }
        return out

    def _why_not(self, o: str) -> str:
        """Why `o` is not the recommendation, in words ('' for the recommendation)."""
        d, e, rec = self.decision, self.economics, self.recommendation
        if o == rec:
            return ""
        if d.excluded.get(o):
            return "ruled out: " + ", ".join(x.replace("_", " ") for x in d.excluded[o])
        if d.noise.get("held") and o == d.cheapest:
            return d.noise["why_not"]
        if d.measure_first and o == d.cheapest:
            return (f"cheapest over {e.horizon_months} months on assumed accuracy; "
                    f"{NAMES[rec]} is the cheaper start while that is measured")  # fmt: skip
        more = e.horizon_cost(o).expected - e.horizon_cost(rec).expected
        return f"costs ${more:,.0f} more over {e.horizon_months} months than {NAMES[rec]}"

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON: the contract keys first, then extras for the app."""
        e, d = self.economics, self.decision
        groups = self.grouped_reasons()
        up = e.upfront
        rec = self.recommendation
        return {
            "recommendation": rec,
            "options": self.options(),
            "measure_first": d.measure_first,
            "robust": d.robust,  # the verdict holds across the measured 95% intervals
            "break_even_months": _round(self.break_even_months),
            "budget": self.budget(),
            "reasons": [r.to_dict() for r in self.reasons],
            # --- extras ---
            "fine_tune_justified": self.fine_tune_justified,  # the Fine-tune page's gate
            "cheapest_at_horizon": d.cheapest,
            "runner_up": d.runner_up,
            "swap": {**d.swap, "message": _swap_message(e, d)} if d.swap else {},
            "measurement": measurement(self.answers, self.assumptions, e),
            "labelling": labelling(
                self.answers, self.assumptions, e, rec, self.gain_per_doubling
            ),  # fmt: skip
            "plan": e.plan.to_dict(),
            "evidence": self.evidence,
            "noise": d.noise,  # advisor.noise: a measured lead within noise, the intervals
            "fallback": d.fallback,
            "reasons_for": [r.rule for r in groups["for"]],
            "reasons_against": [r.rule for r in groups["against"]],
            "reasons_other": [r.rule for r in groups["other"]],
            "break_even": self.break_even(),
            "horizon_months": e.horizon_months,
            "series": e.series(),
            "fine_tune_project": {
                "costs": up.to_dict(),
                "details": up.details(),
                "data_floor_applied": up.data_preparation.expected
                > (up.data_have + up.data_to_label).expected + 1e-9,
                "later_iteration_usd": up.later_iteration.to_dict(),
                "training_estimate": e.training.to_dict(),
                "serving": e.serving.to_dict(),
                "reference_ranges": reference_ranges(self.answers, self.assumptions, e),
            },
            "classifier_serving": e.classifier_serving.chosen.to_dict(),
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
    gain_per_doubling: float | None = None,
    measured_evidence: Evidence | Mapping[str, Any] | None = None,
) -> Report:
    """Run the advisor. `answers` may be a dict (validated like the CLI's JSON file).

    measured_accuracy: accuracy measured on the user's data per option, e.g.
    {"classifier": 0.87, "fine_tune": 0.89}; it replaces the assumed accuracy, the verdict is
    recomputed, and `evidence` says whether it changed. measured_by: what measured each, e.g.
    {"rag": "proxy: kNN retrieval stands in for an LLM RAG"}, named in the evidence sentence
    ("proxy" marks a stand-in). gain_per_doubling: the baseline's learning curve, for pricing
    more labels. measured_evidence: the intervals and paired tests behind the measured figures
    (advisor.evidence; a lead within noise keeps the cheaper set-up). Raises ValueError naming
    the key.
    """
    if not isinstance(answers, Answers):
        answers = Answers.from_dict(answers)
    a = assumptions or load_assumptions()
    measured = dict(measured_accuracy or {})
    if gain_per_doubling is not None and not 0 <= gain_per_doubling <= 1:
        raise ValueError(f"gain_per_doubling: must be a fraction 0-1 (got {gain_per_doubling!r})")
    ev = _evidence(measured_evidence, measured)
    econ, results, decision = _decide(answers, a, measured, measured_by, ev)
    assumed = decision.recommendation
    if measured:
        assumed = _decide(answers, a, {}, None)[2].recommendation
    return Report(
        answers=answers,
        assumptions=a,
        economics=econ,
        rules=results,
        decision=decision,
        measured_accuracy=measured,
        evidence=evidence(assumed, decision.recommendation, measured, sources=measured_by),
        gain_per_doubling=gain_per_doubling,
    )


def _decide(
    answers: Answers,
    a: Assumptions,
    measured: dict[str, float],
    by: Mapping[str, str] | None,
    ev: Evidence | None = None,
) -> tuple[Economics, list[RuleResult], Decision]:
    econ = economics(answers, a, measured, by)
    results = evaluate_rules(Context(answers, a, econ, measured))
    return econ, results, decide(econ, results, ev)


def _evidence(raw: Evidence | Mapping[str, Any] | None, measured: Mapping[str, float]) -> Evidence:
    """Validated evidence about the measured options only, each interval holding its point."""
    check_measured(measured)
    ev = (raw if isinstance(raw, Evidence) else Evidence.from_dict(raw)).only(set(measured))
    for o, interval in ev.intervals.items():
        check_interval(o, measured[o], interval)
    return ev


def _swap_message(e: Economics, d: Decision) -> str:
    from advisor.decision import swap_text

    return swap_text(e, d.swap)


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
