from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor import estimate, sensitivity
from advisor.breakeven import economics

from .conftest import INSURER


def test_break_even_is_build_time_plus_upfront_over_saving(assumptions):
    e = economics(INSURER, assumptions)
    saving = e.monthly["human"].total.expected - e.monthly["fine_tune"].total.expected
    expected = e.build["fine_tune"].expected + e.upfront.total.expected / saving
    assert e.break_even_months == pytest.approx(expected)
    best, worst = e.break_even_range
    assert best <= e.break_even_months <= worst


def test_never_pays_back_is_none(assumptions):
    e = economics(replace(INSURER, monthly_volume=5), assumptions)
    assert e.break_even_months is None
    assert estimate(replace(INSURER, monthly_volume=5)).to_dict()["break_even_months"] is None


def test_series_are_cumulative_and_cross_at_break_even(assumptions):
    e = economics(INSURER, assumptions)
    s = e.series()
    assert s["month"] == list(range(37))
    assert set(s) == {"month", "human", "prompting", "rag", "classifier", "fine_tune"}
    assert all(len(v) == 37 for v in s.values())
    assert s["human"][0] == 0 and s["fine_tune"][0] == pytest.approx(e.upfront.total.expected)
    for option in ("human", "prompting", "rag", "fine_tune"):
        assert all(b >= a for a, b in zip(s[option], s[option][1:], strict=False))
    m = e.break_even_months
    before, after = int(m), int(m) + 1
    assert s["fine_tune"][before] > s["human"][before]
    assert s["fine_tune"][after] <= s["human"][after]


def test_measured_accuracy_moves_break_even_the_right_way(assumptions):
    base = economics(INSURER, assumptions).break_even_months
    better = economics(INSURER, assumptions, {"fine_tune": 0.99})
    worse = economics(INSURER, assumptions, {"fine_tune": 0.7})
    assert better.break_even_months < base < worse.break_even_months
    d = estimate(INSURER, assumptions, measured_accuracy={"fine_tune": 0.99}).to_dict()
    assert d["options"]["fine_tune"]["accuracy"] == {"low": 0.99, "expected": 0.99, "high": 0.99}
    assert d["options"]["fine_tune"]["accuracy_source"] == "measured"
    # a better RAG makes fine-tuning's edge over RAG take longer to pay
    good = economics(INSURER, assumptions, {"rag": 0.93}).break_even_against("rag")
    bad = economics(INSURER, assumptions, {"rag": 0.6}).break_even_against("rag")
    assert (good or 1e9) > bad


@pytest.mark.parametrize(
    "measured, message",
    [({"human": 0.5}, "measured_accuracy.human: unknown option"),
     ({"rag": 1.2}, "measured_accuracy.rag: must be a fraction"),
     ({"rag": "high"}, "measured_accuracy.rag")],
)  # fmt: skip
def test_bad_measured_accuracy(assumptions, measured, message):
    with pytest.raises(ValueError, match=message):
        estimate(INSURER, assumptions, measured_accuracy=measured)


@settings(max_examples=60, deadline=None)
@given(
    v=st.integers(min_value=0, max_value=2_000_000),
    extra=st.integers(min_value=1, max_value=1_000_000),
    minutes=st.floats(min_value=0, max_value=60),
    private=st.booleans(),
    change=st.sampled_from(["daily", "quarterly", "never"]),
)
def test_more_volume_never_lengthens_break_even(assumptions, v, extra, minutes, private, change):
    a = replace(INSURER, monthly_volume=v, human_minutes_per_item=minutes,
                needs_private_infra=private, data_change=change)  # fmt: skip
    b = replace(a, monthly_volume=v + extra)
    ea, eb = (economics(x, assumptions).break_even_months for x in (a, b))
    if ea is not None:
        assert eb is not None and eb <= ea + 1e-9


def test_sensitivity_rows_sorted_by_swing(assumptions):
    rows = sensitivity(INSURER, assumptions)
    assert rows, "some assumption must move break-even"
    swings = [r["swing_months"] for r in rows]
    assert swings == sorted(swings, reverse=True)
    keys = {r["key"] for r in rows}
    assert "engineering.weeks_first_project" in keys
    assert "seed.break_even_months" not in keys  # shown only, does not move anything
    row = next(r for r in rows if r["key"] == "engineering.weekly_rate_usd")
    assert row["break_even_low"] < row["break_even_high"]
    assert set(row) == {"key", "label", "unit", "low_value", "high_value", "break_even_low",
                        "break_even_high", "swing_months"}  # fmt: skip


def test_sensitivity_respects_measured_accuracy(assumptions):
    rows = sensitivity(INSURER, assumptions, measured_accuracy={"fine_tune": 0.93})
    assert "accuracy.classification.fine_tune" not in {r["key"] for r in rows}
