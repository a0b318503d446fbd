"""Up-front cost of a fine-tuning project: data preparation, compute and engineering.

Each part is a `Range` in USD (low = best case, high = worst case).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from advisor.answers import Answers
from advisor.assumptions import Assumptions
from advisor.compute import TrainingEstimate
from advisor.ranges import Range


@dataclass(frozen=True)
class UpfrontCosts:
    data_preparation: Range
    compute: Range  # training runs + experimentation allowance
    engineering: Range
    later_iteration: Range  # one later iteration (retraining, next version)
    data_have: Range  # cleaning/review of the examples the user has (before the floor)
    data_to_label: Range  # labelling the examples still missing (before the floor)
    compute_runs: Range
    compute_experimentation: Range

    @property
    def total(self) -> Range:
        return self.data_preparation + self.compute + self.engineering

    def to_dict(self) -> dict[str, Any]:
        return {
            "data_preparation": self.data_preparation.to_dict(),
            "compute": self.compute.to_dict(),
            "engineering": self.engineering.to_dict(),
            "total": self.total.to_dict(),
        }

    def details(self) -> dict[str, Any]:
        """The parts behind data preparation and compute (report key `cost_details`)."""
        return {
            "data_preparation": {
                "examples_you_have": self.data_have.to_dict(),
                "examples_to_label": self.data_to_label.to_dict(),
            },
            "compute": {
                "training_runs": self.compute_runs.to_dict(),
                "experimentation": self.compute_experimentation.to_dict(),
            },
        }


def data_preparation_parts(answers: Answers, a: Assumptions) -> tuple[Range, Range]:
    """(review of the examples the user has, labelling of those still missing), USD."""
    rate = a.range("data_prep.hourly_rate_usd")
    have = a.range("data_prep.review_minutes_per_example").scale(answers.labeled_examples / 60)
    new = a.range("data_prep.minutes_per_example").scale(answers.examples_to_label / 60)
    return have * rate, new * rate


def data_preparation_cost(answers: Answers, a: Assumptions) -> Range:
    """Reviewing the examples you have + labelling the rest, never below the seed's lower figure.

    The seed reports $5k-20k: its lower figure is a floor (guidelines, cleaning, QA cost that
    much whatever the count); its upper figure is not a ceiling, since a large data set costs more.
    """
    have, new = data_preparation_parts(answers, a)
    return (have + new).clamp(lo=a["seed.data_preparation_usd"].low)


def engineering_weeks(answers: Answers, a: Assumptions, params_b: float) -> Range:
    """Weeks of a first fine-tuning project, by the plan's size (the seed: $20k-100k 'depending
    on team size and model complexity'); an in-house ML team needs a share of them."""
    size = "small_model" if params_b < 1 else "large_model" if params_b > 10 else "first_project"
    weeks = a.range(f"engineering.weeks_{size}")
    if answers.in_house_ml_team:
        weeks = weeks * a.range("engineering.in_house_factor")
    return weeks


def engineering_cost(answers: Answers, a: Assumptions, params_b: float = 7.0) -> Range:
    """weeks (by the plan's size) x loaded weekly rate."""
    return engineering_weeks(answers, a, params_b) * a.range("engineering.weekly_rate_usd")


def engineering_hourly_rate(a: Assumptions) -> Range:
    return a.range("engineering.weekly_rate_usd") / a.range("engineering.hours_per_week")


def training_params_b(answers: Answers, a: Assumptions) -> float:
    from advisor.compute import params_b  # the plan's size, resolved once there

    return params_b(answers, a)


def upfront_costs(answers: Answers, a: Assumptions, training: TrainingEstimate) -> UpfrontCosts:
    data = data_preparation_cost(answers, a)
    have, new = data_preparation_parts(answers, a)
    engineering = engineering_cost(answers, a, training_params_b(answers, a))
    compute = training.compute_usd + training.experimentation_usd
    # A later iteration reuses pipeline and data: a share of both, and one training run.
    later = (
        data * a.range("iterations.later_data_prep_factor")
        + engineering * a.range("iterations.later_engineering_factor")
        + training.compute_usd_per_run
    )
    return UpfrontCosts(
        data, compute, engineering, later, have, new, training.compute_usd,
        training.experimentation_usd,
    )  # fmt: skip
