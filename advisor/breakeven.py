"""Cumulative costs of every option, break-even, the first year's AI spend, the accuracy at
which two options swap, and the sensitivity of fine-tuning's break-even.

Cumulative cost of option o after m months (set-up paid at month 0; until the option goes live
after its build time b_o, today's human process keeps running):

    cost_o(m) = setup_o + human_monthly x min(m, b_o) + monthly_o x max(0, m - b_o)

Break-even = the first month at which cost_fine_tune(m) <= cost_human(m), i.e.
b + up-front / monthly saving; None when the saving is not positive (it never pays back).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from advisor.accuracy import AUTOMATED, Accuracy, option_accuracy
from advisor.answers import Answers
from advisor.assumptions import Assumptions, load_assumptions
from advisor.compute import TrainingEstimate, training_estimate
from advisor.costs import UpfrontCosts, upfront_costs
from advisor.plan import Plan, default_model, resolve_plan
from advisor.ranges import Range
from advisor.running import OPTIONS, MonthlyCost, build_months, monthly_costs, setup_costs
from advisor.serving import ServingEstimate, serving_estimate

End = Literal["low", "expected", "high"]
ENDS: tuple[End, ...] = ("low", "expected", "high")
FIRST_YEAR = 12  # months: the budget is the first year's AI spend


@dataclass(frozen=True)
class Economics:
    """Every number behind the verdict, for one set of answers and assumptions."""

    training: TrainingEstimate
    upfront: UpfrontCosts
    accuracy: dict[str, Accuracy]
    monthly: dict[str, MonthlyCost]
    setup: dict[str, Range]  # USD, paid at month 0
    build: dict[str, Range]  # months until the option is live
    horizon_months: int
    plan: Plan
    serving: ServingEstimate  # the fine-tuned model's
    classifier_serving: ServingEstimate
    answers: Answers
    rework_factor: float = 1.0  # expected cost of a wrong item, in human handling times

    @property
    def monthly_saving(self) -> Range:
        """Fine-tuning against today's process, once live (USD/month)."""
        return self.monthly["human"].total - self.monthly["fine_tune"].total

    @property
    def break_even_months(self) -> float | None:
        return self.break_even_against("human")

    @property
    def break_even_range(self) -> tuple[float | None, float | None]:
        """(best case, worst case): every figure at its favourable / unfavourable end."""
        return self.break_even_against("human", "low"), self.break_even_against("human", "high")

    def acc(self, option: str) -> Range:
        return self.accuracy[option].range

    def cost_at(self, option: str, month: float, end: End = "expected") -> float:
        human = getattr(self.monthly["human"].total, end)
        b = getattr(self.build[option], end)
        per = getattr(self.monthly[option].total, end)
        return getattr(self.setup[option], end) + human * min(month, b) + per * max(0.0, month - b)

    def first_year(self, option: str) -> Range:
        """The AI budget's first year: set-up plus model/API, upkeep and retraining for the
        months live within the first 12 (people's time is what automation saves)."""
        m = self.monthly[option].ai_spend
        vals = [
            getattr(self.setup[option], e)
            + getattr(m, e) * max(0.0, FIRST_YEAR - getattr(self.build[option], e))
            for e in ENDS
        ]
        return Range(*sorted(vals))

    def break_even_against(self, option: str, end: End = "expected") -> float | None:
        """First month at which fine-tuning's cumulative cost is no more than `option`'s."""
        return self.break_even_between("fine_tune", option, end)

    def horizon_cost(self, option: str) -> Range:
        """Cumulative cost of `option` at the planning horizon (best / expected / worst)."""
        h = self.horizon_months
        return Range(*(self.cost_at(option, h, e) for e in ENDS))

    def accuracy_slope(self, option: str) -> float:
        """USD saved at the horizon per unit of accuracy (expected figures; 0 for people)."""
        if option == "human":
            return 0.0
        a, x = self.answers, self.rework_factor
        live = max(0.0, self.horizon_months - self.build[option].expected)
        per_min = a.human_hourly_cost_usd / 60
        return a.monthly_volume * x * a.human_minutes_per_item * per_min * live

    def swap_accuracy(self, option: str, other: str) -> float | None:
        """Accuracy of `option` at which its horizon cost equals `other`'s (others at their
        expected figures); None when no accuracy in 0-1 makes them equal."""
        slope = self.accuracy_slope(option)
        if slope <= 0:
            return None
        gap = self.horizon_cost(option).expected - self.horizon_cost(other).expected
        x = self.acc(option).expected + gap / slope
        return round(x, 4) if 0.0 <= x <= 1.0 else None

    def break_even_between(self, option: str, against: str, end: End = "expected") -> float | None:
        """First month at which `option`'s cumulative cost is no more than `against`'s."""
        builds = (getattr(self.build[o], end) for o in (option, against))
        points = sorted({0.0, *builds})  # gap is linear between these and after the last

        def gap(m: float) -> float:
            return self.cost_at(option, m, end) - self.cost_at(against, m, end)

        for t0, t1 in zip(points, [*points[1:], points[-1] + 1.0], strict=True):
            g0, g1 = gap(t0), gap(t1)
            if g0 <= 0:
                return t0
            if g1 < g0 and (g1 <= 0 or t1 == points[-1] + 1.0):
                # Linear on this segment (and beyond the last break point).
                return t0 + g0 * (t1 - t0) / (g0 - g1)
        return None

    def series(self, end: End = "expected") -> dict[str, list[float]]:
        """{"month": [0..horizon], option: cumulative USD at each month}, for the charts."""
        months = range(self.horizon_months + 1)
        out: dict[str, list[float]] = {"month": [float(m) for m in months]}
        for o in OPTIONS:
            out[o] = [round(self.cost_at(o, m, end), 2) for m in months]
        return out


def classifier_plan(answers: Answers, a: Assumptions) -> Plan:
    """The small encoder behind the classifier option (the baseline's embeddings)."""
    enc = replace(answers, task_type="classification", base_model=default_model(
        "classification", a), base_model_params_b=0.0, gpu="auto")  # fmt: skip
    return resolve_plan(enc, a)


def economics(
    answers: Answers,
    assumptions: Assumptions | None = None,
    measured_accuracy: Mapping[str, float] | None = None,
    measured_by: Mapping[str, str] | None = None,
) -> Economics:
    a = assumptions or load_assumptions()
    plan = resolve_plan(answers, a)
    training = training_estimate(answers, a)
    upfront = upfront_costs(answers, a, training)
    accuracy = option_accuracy(answers, a, plan, measured_accuracy, measured_by)
    serving = serving_estimate(answers, a, plan)
    cls_serving = serving_estimate(answers, a, classifier_plan(answers, a))
    hosted = {"fine_tune": serving.usd_per_month, "classifier": cls_serving.usd_per_month}
    ranges = {o: accuracy[o].range for o in AUTOMATED}
    return Economics(
        training=training,
        upfront=upfront,
        accuracy=accuracy,
        monthly=monthly_costs(answers, a, ranges, upfront.later_iteration, hosted),
        setup=setup_costs(answers, a, upfront.total, plan),
        build=build_months(answers, a, plan),
        horizon_months=int(a.value("breakeven.horizon_months")),
        plan=plan,
        serving=serving,
        classifier_serving=cls_serving,
        answers=answers,
        rework_factor=a.value("automation.error_rework_factor"),
    )


def sensitivity(
    answers: Answers,
    assumptions: Assumptions | None = None,
    measured_accuracy: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Break-even with each ranged assumption at its low and at its high value.

    Rows (for a tornado chart), largest swing first: key, label, unit, low_value, high_value,
    break_even_low, break_even_high (months or None = never), swing_months. For the swing a
    "never" counts as the planning horizon. Assumptions that do not move break-even are left out.
    """
    a = assumptions or load_assumptions()
    horizon = a.value("breakeven.horizon_months")
    rows = []
    for key in a.keys():
        fig = a[key]
        if not fig.is_range:
            continue
        at = {
            end: economics(
                answers,
                a.with_overrides({key: {"value": v, "source": fig.source}}),
                measured_accuracy,
            ).break_even_months
            for end, v in (("low", fig.low), ("high", fig.high))
        }
        if at["low"] == at["high"]:
            continue
        lo, hi = (horizon if v is None else v for v in (at["low"], at["high"]))
        rows.append(
            {
                "key": key,
                "label": fig.label,
                "unit": fig.unit,
                "low_value": fig.low,
                "high_value": fig.high,
                "break_even_low": _round(at["low"]),
                "break_even_high": _round(at["high"]),
                "swing_months": round(abs(hi - lo), 2),
            }
        )
    rows.sort(key=lambda r: r["swing_months"], reverse=True)
    return rows


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 2)
