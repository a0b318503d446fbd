"""Costs & ROI page: numbers from the advisor, three charts, editable assumptions."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from advisor import Answers, estimate, load_assumptions
from advisor.text import IN_TEXT, OPTION_NAMES, usd
from tests.app.conftest import REPO, charts, errors, go
from tests.app.helpers import JUSTIFYING, answer
from ui.assumption_table import overrides_from, table
from ui.verdict import headline_text, months_text, short_usd


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _cli(answers_path) -> dict:
    r = subprocess.run(
        [sys.executable, "-m", "advisor", "estimate", str(answers_path), "--json"],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_costs_page_shows_the_clis_numbers_and_charts(app, workspace_dir):
    at = app()
    answer(at, JUSTIFYING)
    go(at, "costs")
    report = _cli(workspace_dir / "default" / "answers.json")  # what a script sees
    assert report == json.loads(json.dumps(estimate(Answers.from_dict(JUSTIFYING)).to_dict()))
    rec, budget = report["recommendation"], report["budget"]
    assert at.subheader[0].value == headline_text(report)  # verdict first
    first = f"First year, {IN_TEXT[rec]}"
    assert _metric(at, first) == short_usd(budget["first_year_usd"]["expected"])
    row = report["break_even"]["rows"][0]
    assert row["against"] == "human"
    assert _metric(at, "Break-even vs today's process") == months_text(row["expected"])
    text = " ".join(m.value for m in at.markdown)
    assert "best" in text and "worst" in text and "against today" in text  # a labelled range
    specs = [c.proto.spec for c in charts(at)]
    assert len(specs) == 4  # cumulative, monthly breakdown, set-up bars, tornado
    cumulative = next(s for s in specs if "Cumulative cost" in s)
    assert "break-even at" in cumulative and '"point"' in cumulative  # the crossing, marked
    for spec in specs:  # titles short and left-anchored; the rest goes in the subtitle
        title = json.loads(spec)["title"]
        assert title["anchor"] == "start" and len(title["text"]) <= 30, title
    frames = [d.value for d in at.dataframe]
    monthly = next(f for f in frames if "Option" in f.columns and "Upkeep" in f.columns)
    assert list(monthly["Option"]) == [OPTION_NAMES[o] for o in report["options"]]
    # the data must stay private: the column names no third-party API
    assert "Model hosting (private)" in monthly.columns
    assert not any("API" in c for c in monthly.columns)
    for o, m in report["options"].items():
        line = monthly[monthly["Option"] == OPTION_NAMES[o]].iloc[0]
        assert line["Total"] == usd(m["monthly_usd"]["expected"])
        assert line["Model hosting (private)"] == usd(m["monthly_parts"]["inference"])
    # every option, the small classifier included, with its accuracy and where it comes from
    options = next(f for f in frames if "Accuracy (source)" in f.columns)
    assert list(options["Option"]) == [OPTION_NAMES[o] for o in report["options"]]
    row = options[options["Option"] == "Small classifier"].iloc[0]
    assert "(assumed)" in row["Accuracy (source)"]
    assert row["Set-up"] == usd(report["options"]["classifier"]["setup_usd"]["expected"])
    # the set-up table says when the article's floor decides data preparation
    setup = next(f for f in frames if "Part" in f.columns)
    assert setup["Part"].iloc[0] == "Data preparation (the article's $5,000 floor applies)"
    assert not any("$-" in t or "-$" in t for t in [*text.split(), *map(str, frames)])
    assert at.button(key="FormSubmitter:assumptions_form-Apply assumptions")


def test_fits_only_when_the_expected_cost_fits_and_flags_the_high_case(app, workspace_dir):
    base = estimate(Answers.from_dict(JUSTIFYING)).to_dict()["budget"]["first_year_usd"]
    mid = round((base["expected"] + base["high"]) / 2, -2)
    at = app()
    answer(at, {**JUSTIFYING, "total_budget_usd": mid})
    go(at, "costs")
    tile = next(m for m in at.metric if m.label == "Budget fit")
    assert tile.value == "fits" and "high case" in tile.delta and "over" in tile.delta
    assert any("high case" in m.value for m in at.markdown)
    go(at, "questionnaire")
    answer(at, {"total_budget_usd": round(base["expected"] / 2, -2)})
    go(at, "costs")
    report = estimate(Answers.from_dict({**JUSTIFYING, "total_budget_usd":
                                         round(base["expected"] / 2, -2)})).to_dict()  # fmt: skip
    b = report["budget"]
    assert b["option"] == report["recommendation"]
    expected = "fits" if b["fits"] else f"short by {short_usd(b['shortfall_usd'])}"
    assert _metric(at, "Budget fit") == expected


def test_saved_overrides_change_the_numbers(app, workspace_dir):
    app()  # creates the default project
    key = "engineering.weekly_rate_usd"
    overrides = {key: {"low": 1000.0, "expected": 1000.0, "high": 1000.0}}
    (workspace_dir / "default" / "assumptions.json").write_text(json.dumps(overrides))
    at = app("costs")
    cheaper = estimate(Answers(), load_assumptions(overrides=overrides)).to_dict()
    expected = cheaper["budget"]["first_year_usd"]["expected"]
    assert expected != estimate(Answers()).to_dict()["budget"]["first_year_usd"]["expected"]
    label = f"First year, {IN_TEXT[cheaper['recommendation']]}"
    assert _metric(at, label) == short_usd(expected)


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


def test_measured_accuracy_on_the_project_feeds_the_verdict(app, workspace_dir):
    """The baseline and the last comparison replace the assumed accuracy on every page: the
    best cheap baseline is the small classifier, kNN stands in for RAG as a proxy."""
    at = app()
    answer(at, JUSTIFYING)
    root = workspace_dir / "default"
    choice = {"train": "t.csv", "text_col": "text", "label_col": "label", "split_id": "s1",
              "task": "classification", "split_task": "classification"}  # fmt: skip
    (root / "data.json").write_text(json.dumps(choice))
    base = root / "results" / "baseline-s1"
    base.mkdir(parents=True)
    (base / "results.json").write_text(json.dumps({
        "split_id": "s1", "knn": {"accuracy": 0.9}, "probe": {"accuracy": 0.95},
        "best": {"method": "probe", "accuracy": 0.97}}))  # fmt: skip
    (root / "comparison.json").write_text(
        json.dumps({"split_id": "s1", "measured_accuracy": {"fine_tune": 0.8}})
    )
    cli = subprocess.run(
        [sys.executable, "-m", "advisor", "estimate", str(root / "answers.json"), "--json",
         "--measured", "classifier=0.97", "--measured", "rag=0.9", "--measured",
         "fine_tune=0.8"],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    expected = json.loads(cli.stdout)
    assert expected["recommendation"] == "classifier" and expected["evidence"]["changed"]
    fresh = app("costs")  # a new session reads the project from disk
    assert fresh.subheader[0].value == headline_text(expected)
    shown = " ".join(i.value for i in fresh.info).replace("\\", "")
    # The CLI's sentence, with what measured each figure named in it.
    assert "The small classifier (best cheap baseline: Linear probe) 0.97" in shown
    assert "RAG (proxy: kNN retrieval" in shown
    captions = " ".join(c.value for c in fresh.caption).replace("\\", "")
    assert "RAG accuracy, proxy: kNN" in captions  # how far the proxy carries
    go(fresh, "questionnaire")
    assert any(s.value == headline_text(expected) for s in fresh.subheader)


def test_keep_todays_process_is_a_verdict_the_page_shows(app):
    """200 invoices a month at 30 s each: automation never pays back; the page says so."""
    at = app()
    invoices = {"task_type": "extraction", "monthly_volume": 200,
                "human_minutes_per_item": 0.5, "total_budget_usd": 3000.0}  # fmt: skip
    answer(at, invoices)
    go(at, "costs")
    report = estimate(Answers.from_dict(invoices)).to_dict()
    assert report["recommendation"] == "human"
    assert at.subheader[0].value == headline_text(report) == "Verdict: Keep today's process"
    assert "no AI spend" in " ".join(m.value for m in at.markdown)
    options = next(d.value for d in at.dataframe if "Accuracy (source)" in d.value.columns)
    assert options[options["Option"] == "Today's process"].iloc[0]["Status"] == "recommended"
    assert not at.exception and not errors(at)
