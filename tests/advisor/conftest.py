"""Shared answers for the advisor tests."""

from __future__ import annotations

from dataclasses import replace

import pytest

from advisor import Answers, Assumptions, load_assumptions

# The seed's example: an insurer classifying claims at production volume with private data,
# prompting and RAG tried and inconsistent, budget enough.
INSURER = Answers(
    task_type="classification",
    labeled_examples=5000,
    avg_input_tokens=400,
    avg_output_tokens=5,
    data_change="yearly",
    stage="production",
    tried_prompting=True,
    tried_rag=True,
    prior_results_acceptable=False,
    needs_private_infra=True,
    needs_strict_format=True,
    monthly_volume=20000,
    human_minutes_per_item=4.0,
    human_hourly_cost_usd=45.0,
    total_budget_usd=150000.0,
    in_house_ml_team=False,
    base_model_params_b=7.0,
    method="lora",
    gpu="A100-80GB",
    epochs=3,
)


@pytest.fixture(scope="session")
def assumptions() -> Assumptions:
    return load_assumptions()


@pytest.fixture
def insurer() -> Answers:
    return INSURER


def insurer_with(**changes: object) -> Answers:
    return replace(INSURER, **changes)
