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

CONTRACT = {"recommendation", "fine_tune_justified", "reasons", "costs", "budget",
            "break_even_months", "training_estimate"}  # fmt: skip


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
    d = estimate(INSURER, assumptions).to_dict()
    assert CONTRACT <= set(d)
    assert d["recommendation"] == "fine_tune"
    total = d["costs"]["total"]["expected"]
    b = d["budget"]
    assert {k: b[k] for k in ("total_budget_usd", "fits", "shortfall_usd", "option")} == {
        "total_budget_usd": 150000.0, "fits": True, "shortfall_usd": 0.0, "option": "fine_tune"
    }  # fmt: skip
    assert b["setup_usd"]["expected"] == pytest.approx(total, abs=0.01)
    # Between expected and high: fits, with the high case flagged.
    mid = (total + d["costs"]["total"]["high"]) / 2
    flagged = estimate({**INSURER.to_dict(), "total_budget_usd": mid}, assumptions).to_dict()
    assert flagged["budget"]["fits"] is True and flagged["budget"]["fits_high"] is False
    assert flagged["budget"]["high_shortfall_usd"] > 0
    assert d["fine_tuning_type"] == "instruction"
    assert d["answers"] == INSURER.to_dict()
    assert d["assumptions_used"]["compute.mfu"]["source"]


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
    assert d["recommendation"] in {"prompting", "rag", "fine_tune"}
    assert d["fine_tune_justified"] == (d["recommendation"] == "fine_tune")
    assert d["reasons"], "a verdict always has at least one reason"
    pointing = [r for r in d["reasons"] if r["direction"] == d["recommendation"]]
    assert pointing, "at least one reason points to the verdict"
    assert all(r["stance"] in {"for", "against"} for r in d["reasons"])
    c = d["costs"]
    for part in c.values():
        assert 0 <= part["low"] <= part["expected"] <= part["high"]
    assert d["training_estimate"]["gpu_count"] >= 1
