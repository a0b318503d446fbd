"""Costs & ROI page: numbers from the advisor, three charts, editable assumptions."""

from __future__ import annotations

import json

import pytest

from advisor import Answers, estimate, load_assumptions
from tests.app.conftest import charts, errors
from ui.assumption_table import overrides_from, table
from ui.verdict import months_text


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_costs_page_shows_the_advisors_numbers_and_charts(app):
    at = app("costs")
    report = estimate(Answers()).to_dict()
    assert _metric(at, "Up-front cost, expected") == f"${report['costs']['total']['expected']:,.0f}"
    assert _metric(at, "Break-even vs today's process") == months_text(report["break_even_months"])
    specs = [c.proto.spec for c in charts(at)]
    assert len(specs) == 3  # stacked costs, cumulative costs, sensitivity tornado
    assert any("break-even" in s for s in specs)
    assert any("Which assumption moves break-even most" in s for s in specs)
    assert at.button(key="FormSubmitter:assumptions_form-Apply assumptions")


def test_saved_overrides_change_the_numbers(app, workspace_dir):
    app()  # creates the default project
    key = "engineering.weekly_rate_usd"
    overrides = {key: {"low": 1000.0, "expected": 1000.0, "high": 1000.0}}
    (workspace_dir / "default" / "assumptions.json").write_text(json.dumps(overrides))
    at = app("costs")
    cheaper = estimate(Answers(), load_assumptions(overrides=overrides)).to_dict()
    expected = cheaper["costs"]["total"]["expected"]
    assert expected != estimate(Answers()).to_dict()["costs"]["total"]["expected"]
    assert _metric(at, "Up-front cost, expected") == f"${expected:,.0f}"


def test_invalid_saved_overrides_are_reported_not_raised(app, workspace_dir):
    app()
    bad = {"engineering.weekly_rate_usd": {"low": 9.0, "expected": 5.0, "high": 1.0}}
    (workspace_dir / "default" / "assumptions.json").write_text(json.dumps(bad))
    at = app("costs")
    assert not at.exception
    assert any("engineering.weekly_rate_usd" in e for e in errors(at)), errors(at)


def test_edited_table_becomes_overrides_and_back():
    base = load_assumptions()
    frame = table(base)
    assert {"key", "low", "expected", "high", "source", "as_of"} <= set(frame.columns)
    assert frame["source"].str.len().min() > 0
    row = frame.index[frame["key"] == "engineering.weekly_rate_usd"][0]
    frame.loc[row, ["low", "expected", "high"]] = [3000.0, 4000.0, 5000.0]
    overrides = overrides_from(frame, base, {})
    assert overrides == {
        "engineering.weekly_rate_usd": {"low": 3000.0, "expected": 4000.0, "high": 5000.0}
    }
    assert base.with_overrides(overrides).value("engineering.weekly_rate_usd") == 4000.0
    # Editing the row back to the packaged figure drops the override.
    assert overrides_from(table(base), base, overrides) == {}


def test_empty_cell_is_a_value_error_naming_the_figure():
    base = load_assumptions()
    frame = table(base)
    frame.loc[0, "expected"] = None
    with pytest.raises(ValueError, match=frame.loc[0, "key"]):
        overrides_from(frame, base, {})
