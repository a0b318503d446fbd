from __future__ import annotations

import json
import subprocess
import sys
import typing

from hypothesis import given, settings
from hypothesis import strategies as st

from advisor import Answers, estimate
from advisor.answers import DataChange, Method, Stage, TaskType

from .conftest import INSURER

CONTRACT = {"recommendation", "fine_tune_justified", "reasons", "costs", "budget",
            "break_even_months", "training_estimate"}  # fmt: skip


def test_import_is_pure_python():
    code = (
        "import sys, advisor; advisor.estimate(advisor.Answers());"
        "bad = [m for m in ('torch', 'streamlit', 'pandas', 'numpy') if m in sys.modules];"
        "sys.exit(', '.join(bad) or None)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_report_shape_and_budget(assumptions):
    d = estimate(INSURER, assumptions).to_dict()
    assert CONTRACT <= set(d)
    total = d["costs"]["total"]["expected"]
    assert d["budget"] == {"total_budget_usd": 150000.0, "fits": True, "shortfall_usd": 0.0}
    tight = estimate({**INSURER.to_dict(), "total_budget_usd": 30000.0}, assumptions).to_dict()
    assert tight["budget"]["fits"] is False
    assert abs(tight["budget"]["shortfall_usd"] - (total - 30000.0)) < 0.02
    assert d["fine_tuning_type"] == "instruction"
    assert d["answers"] == INSURER.to_dict()
    assert d["assumptions_used"]["compute.mfu"]["source"]


answers_strategy = st.builds(
    Answers,
    task_type=st.sampled_from(typing.get_args(TaskType)),
    labeled_examples=st.integers(0, 10_000_000),
    avg_input_tokens=st.integers(0, 100_000),
    avg_output_tokens=st.integers(0, 10_000),
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
    base_model_params_b=st.floats(0.001, 2000),
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
    c = d["costs"]
    for part in c.values():
        assert 0 <= part["low"] <= part["expected"] <= part["high"]
    assert d["training_estimate"]["gpu_count"] >= 1
