from __future__ import annotations

from dataclasses import replace

import pytest

from advisor.accuracy import option_accuracy
from advisor.breakeven import economics
from advisor.costs import data_preparation_cost, engineering_cost
from advisor.plan import resolve_plan
from advisor.ranges import Range
from advisor.running import monthly_costs

from .conftest import INSURER

SERVING = {"fine_tune": Range.point(100), "classifier": Range.point(70)}


def accuracy(answers, a, measured=None):
    acc = option_accuracy(answers, a, resolve_plan(answers, a), measured)
    return {o: x.range for o, x in acc.items()}


def test_data_preparation_is_floored_at_the_seed_low(assumptions):
    floor = assumptions["seed.data_preparation_usd"].low
    tiny = data_preparation_cost(replace(INSURER, labeled_examples=10), assumptions)
    assert tiny.low == tiny.expected == tiny.high == floor


def test_data_preparation_scales_with_examples_above_the_floor(assumptions):
    n = 100_000
    cost = data_preparation_cost(
        replace(INSURER, labeled_examples=0, examples_to_label=n), assumptions
    )
    minutes = assumptions.value("data_prep.minutes_per_example")
    rate = assumptions.value("data_prep.hourly_rate_usd")
    assert cost.expected == pytest.approx(n * minutes / 60 * rate)
    # not a ceiling: a big data set costs more than the seed's upper figure
    assert cost.expected > assumptions["seed.data_preparation_usd"].high


def test_examples_you_have_cost_review_not_labelling(assumptions):
    """Issue 8: 100,000 examples the user has were costed as labelled from scratch ($112k)."""
    have = data_preparation_cost(replace(INSURER, labeled_examples=100_000), assumptions)
    to_label = data_preparation_cost(
        replace(INSURER, labeled_examples=0, examples_to_label=100_000), assumptions
    )
    review = assumptions.value("data_prep.review_minutes_per_example")
    rate = assumptions.value("data_prep.hourly_rate_usd")
    assert have.expected == pytest.approx(100_000 * review / 60 * rate)
    assert have.expected < 20_000 < 100_000 < to_label.expected
    assert have.high < to_label.high and have.low <= to_label.low


def test_engineering_reproduces_the_seed_range_and_in_house_is_cheaper(assumptions):
    outside = engineering_cost(replace(INSURER, in_house_ml_team=False), assumptions, 7.0)
    seed = assumptions["seed.engineering_first_project_usd"]
    assert seed.low <= outside.low and outside.high <= seed.high
    inside = engineering_cost(replace(INSURER, in_house_ml_team=True), assumptions, 7.0)
    assert inside.expected < outside.expected


def test_engineering_scales_with_the_plan(assumptions):
    """Issue 16: a 23M encoder this app trains and exports is not a 70B project."""
    small, mid, big = (engineering_cost(INSURER, assumptions, p) for p in (0.023, 7.0, 70.0))
    assert small.expected < mid.expected < big.expected
    assert small.expected <= assumptions["seed.engineering_first_project_usd"].low
    d = economics(replace(INSURER, base_model="auto", base_model_params_b=0.0), assumptions)
    assert d.upfront.engineering.expected == pytest.approx(small.expected)


def test_total_is_the_sum_of_parts(assumptions):
    up = economics(INSURER, assumptions).upfront
    assert up.total.expected == pytest.approx(
        up.data_preparation.expected + up.compute.expected + up.engineering.expected
    )
    assert up.later_iteration.expected < up.total.expected


def test_human_monthly_cost_is_volume_times_time_times_rate(assumptions):
    m = monthly_costs(INSURER, assumptions, accuracy(INSURER, assumptions), Range.point(0),
                      SERVING)  # fmt: skip
    assert m["human"].total.expected == pytest.approx(20000 * 4 / 60 * 45)
    for option in ("prompting", "rag", "classifier", "fine_tune"):
        assert m[option].human.expected < m["human"].total.expected


def test_higher_accuracy_leaves_less_human_work(assumptions):
    lo = monthly_costs(INSURER, assumptions, accuracy(INSURER, assumptions, {"rag": 0.6}),
                       Range.point(0), SERVING)  # fmt: skip
    hi = monthly_costs(INSURER, assumptions, accuracy(INSURER, assumptions, {"rag": 0.95}),
                       Range.point(0), SERVING)  # fmt: skip
    assert hi["rag"].human.expected < lo["rag"].human.expected
    assert hi["fine_tune"] == lo["fine_tune"]


def test_private_infrastructure_makes_hosted_llms_cost_hosting(assumptions):
    public = replace(INSURER, needs_private_infra=False, monthly_volume=100)
    private = replace(public, needs_private_infra=True)
    acc = accuracy(INSURER, assumptions)
    a, b = (monthly_costs(x, assumptions, acc, Range.point(0), SERVING) for x in (public, private))
    assert b["prompting"].inference.expected > a["prompting"].inference.expected
    # the fine-tuned model may no longer go to a managed endpoint: never cheaper in private
    ea, eb = economics(public, assumptions), economics(private, assumptions)
    assert eb.monthly["fine_tune"].inference.expected >= ea.monthly["fine_tune"].inference.expected


def test_retraining_follows_how_often_data_changes(assumptions):
    never = economics(replace(INSURER, data_change="never"), assumptions)
    yearly = economics(replace(INSURER, data_change="yearly"), assumptions)
    monthly = economics(replace(INSURER, data_change="monthly"), assumptions)
    r = [e.monthly["fine_tune"].retraining.expected for e in (never, yearly, monthly)]
    assert r[0] == 0 < r[1] < r[2]
    c = [e.monthly["classifier"].retraining.expected for e in (never, yearly, monthly)]
    assert c[0] == 0 < c[1] < c[2] and c[2] < r[2] / 10  # near-free retraining
