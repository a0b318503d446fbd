from __future__ import annotations

import json
import subprocess
import sys
import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor import Answers, estimate
from advisor.answers import DataChange, Method, Stage, TaskType

from .conftest import INSURER

CONTRACT = {"recommendation", "options", "measure_first", "reasons", "budget",
            "break_even_months"}  # fmt: skip
OPTION_KEYS = {"setup_usd", "monthly_usd", "horizon_usd", "accuracy", "accuracy_source",
               "ruled_out_by"}  # fmt: skip
RETIRED = {"costs", "horizon_costs", "setup_costs", "monthly_running_costs", "build_months",
           "accuracy", "excluded", "break_even_vs", "reference_ranges",
           "training_estimate"}  # fmt: skip


def test_import_is_pure_python():
    code = (
        "import sys, advisor, advisor.memo, advisor.cli, advisor.text, advisor.svg;"
        "r = advisor.estimate(advisor.Answers(), measured_accuracy={'rag': 0.9}).to_dict();"
        "advisor.memo.to_html(advisor.memo.sections(r, None, 'p'));"
        "bad = [m for m in ('torch', 'streamlit', 'pandas', 'numpy') if m in sys.modules];"
        "sys.exit(', '.join(bad) or None)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_report_shape_and_budget(assumptions):
    d = estimate(INSURER, assumptions, measured_accuracy={"classifier": 0.7}).to_dict()
    assert CONTRACT <= set(d) and not RETIRED & set(d)  # one home per figure
    assert d["recommendation"] == "fine_tune"
    for o, v in d["options"].items():
        assert OPTION_KEYS <= set(v), o
        assert v["accuracy_source"] in {"assumed", "stated", "measured"}
    ft = d["options"]["fine_tune"]
    b = d["budget"]
    assert {k: b[k] for k in ("total_budget_usd", "fits", "shortfall_usd", "option")} == {
        "total_budget_usd": 150000.0, "fits": True, "shortfall_usd": 0.0, "option": "fine_tune"
    }  # fmt: skip
    # the first year's AI spend: set-up plus model, upkeep and retraining, not people
    first = ft["first_year_usd"]
    assert first["expected"] > ft["setup_usd"]["expected"]
    assert first["expected"] < ft["setup_usd"]["expected"] + 12 * ft["monthly_usd"]["expected"]
    # Between expected and high: fits, with the high case flagged.
    mid = (first["expected"] + first["high"]) / 2
    flagged = estimate({**INSURER.to_dict(), "total_budget_usd": mid}, assumptions,
                       measured_accuracy={"classifier": 0.7}).to_dict()  # fmt: skip
    assert flagged["budget"]["fits"] is True and flagged["budget"]["fits_high"] is False
    assert flagged["budget"]["high_shortfall_usd"] > 0
    assert d["fine_tuning_type"] == "instruction"
    assert d["answers"] == INSURER.to_dict()
    assert d["assumptions_used"]["compute.mfu"]["source"]
    # break-even is the recommendation's
    assert d["break_even"]["rows"][0]["option"] == "fine_tune"


def test_budget_is_the_first_year_with_no_one_dollar_cliff(assumptions):
    """$12k 'fitted' a first year of $67k; a $1 step flipped a verdict; an option over budget
    fell back to one the user said failed."""
    voice = {"task_type": "style", "needs_strict_format": True, "monthly_volume": 100000,
             "tried_prompting": True, "tried_rag": True, "stage": "production",
             "data_change": "yearly"}  # fmt: skip
    d = estimate({**voice, "total_budget_usd": 12000.0}).to_dict()
    assert d["recommendation"] == "fine_tune"
    b = d["budget"]
    assert b["fits"] is False and b["shortfall_usd"] > 0
    assert "does not fit" in __import__("advisor.text").text.budget_line(b)
    spend = d["options"]["fine_tune"]["first_year_usd"]["expected"]
    verdicts = {estimate({**voice, "total_budget_usd": spend + dx}).recommendation
                for dx in (-1.0, 0.0, 1.0)}  # fmt: skip
    assert verdicts == {"fine_tune"}


def test_a_lean_rag_fits_under_10k_and_a_failed_option_is_never_the_fallback():
    d = estimate({"task_type": "domain_qa", "stage": "pilot", "total_budget_usd": 9500.0})
    assert d.recommendation == "rag" and d.to_dict()["budget"]["fits"] is True
    d = estimate({"task_type": "generation", "tried_prompting": True, "stage": "pilot",
                  "total_budget_usd": 8000.0}).to_dict()  # fmt: skip
    assert d["recommendation"] not in ("prompting", "fine_tune")
    assert "tried_and_fell_short" in d["options"]["prompting"]["ruled_out_by"]


def test_measured_rag_below_the_assumption_does_not_lift_tried_and_fell_short():
    answers = {"tried_rag": True, "tried_prompting": True, "stage": "production",
               "monthly_volume": 20000, "labeled_examples": 5000}  # fmt: skip
    d = estimate(answers, measured_accuracy={"rag": 0.70}).to_dict()
    assert d["recommendation"] != "rag"
    assert "tried_and_fell_short" in d["options"]["rag"]["ruled_out_by"]
    assert "changed it" not in d["evidence"]["message"] or d["recommendation"] != "rag"
    good = estimate(answers, measured_accuracy={"rag": 0.9}).to_dict()
    assert "tried_and_fell_short" not in good["options"]["rag"]["ruled_out_by"]


def test_labelling_is_priced_from_the_learning_curve():
    d = estimate(
        {"monthly_volume": 20000, "stage": "production"},
        measured_accuracy={"classifier": 0.8},
        gain_per_doubling=0.04,
    ).to_dict()
    lab = d["labelling"]
    assert lab["option"] == d["recommendation"] == "classifier"
    assert lab["gain_source"] == "measured" and lab["gain_per_doubling"] == 0.04
    assert lab["payback_months"] == pytest.approx(
        lab["cost_usd"]["expected"] / lab["monthly_saving_usd"], rel=1e-3
    )
    flat = estimate(
        {"monthly_volume": 20000, "stage": "production"},
        measured_accuracy={"classifier": 0.8},
        gain_per_doubling=0.0,
    ).to_dict()
    assert (
        flat["labelling"]["payback_months"] is None and "do not pay" in flat["labelling"]["message"]
    )


answers_strategy = st.builds(
    Answers,
    task_type=st.sampled_from(typing.get_args(TaskType)),
    labeled_examples=st.integers(0, 10_000_000),
    examples_to_label=st.integers(0, 1_000_000),
    avg_input_tokens=st.integers(1, 100_000),
    avg_output_tokens=st.integers(1, 10_000),
    min_accuracy=st.sampled_from([0.0, 0.5, 0.9, 0.99]),
    base_model=st.sampled_from(["auto", "all-MiniLM-L6-v2", "Llama-3.1-70B-Instruct"]),
    data_change=st.sampled_from(typing.get_args(DataChange)),
    stage=st.sampled_from(typing.get_args(Stage)),
    tried_prompting=st.booleans(),
    tried_rag=st.booleans(),
    prior_results_acceptable=st.booleans(),
    needs_private_infra=st.booleans(),
    needs_strict_format=st.booleans(),
    monthly_volume=st.integers(0, 100_000_000),
    human_minutes_per_item=st.floats(0, 1000),
    human_hourly_cost_usd=st.floats(0, 1000),
    total_budget_usd=st.floats(0, 1e9),
    in_house_ml_team=st.booleans(),
    base_model_params_b=st.one_of(st.just(0.0), st.floats(0.001, 2000)),
    method=st.sampled_from(typing.get_args(Method)),
    gpu=st.sampled_from(
        ["H100-80GB", "A100-80GB", "A100-40GB", "L40S", "L4", "A10G", "T4", "cpu"]
    ),  # fmt: skip
    epochs=st.integers(1, 50),
)


@settings(max_examples=80, deadline=None)
@given(answers=answers_strategy)
def test_any_valid_answers_give_a_finite_json_report(assumptions, answers):
    d = estimate(answers, assumptions).to_dict()
    json.dumps(d, allow_nan=False)  # no NaN or infinity anywhere
    assert d["recommendation"] in {"human", "prompting", "rag", "classifier", "fine_tune"}
    assert d["fine_tune_justified"] == (d["recommendation"] == "fine_tune")
    assert d["reasons"], "a verdict always has at least one reason"
    pointing = [r for r in d["reasons"] if r["direction"] == d["recommendation"]]
    assert pointing, "at least one reason points to the verdict"
    assert all(r["stance"] in {"for", "against"} for r in d["reasons"])
    c = d["fine_tune_project"]["costs"]
    for part in c.values():
        assert 0 <= part["low"] <= part["expected"] <= part["high"]
    for v in d["options"].values():
        for k in ("setup_usd", "monthly_usd", "horizon_usd", "first_year_usd"):
            assert 0 <= v[k]["low"] <= v[k]["expected"] <= v[k]["high"]
    assert d["fine_tune_project"]["training_estimate"]["gpu_count"] >= 1
