from __future__ import annotations

import pytest

from advisor import estimate
from advisor.rules import RULE_NAMES

from .conftest import INSURER, insurer_with

# rule -> (changes to the insurer that make it fire, changes that keep it quiet).
CASES: dict[str, tuple[dict, dict]] = {
    "prompting_rag_inconsistent": ({}, {"tried_rag": False}),
    "high_volume_narrow_task": ({}, {"monthly_volume": 500}),
    "strict_format_at_scale": ({}, {"needs_strict_format": False}),
    "private_infrastructure": ({}, {"needs_private_infra": False}),
    "prior_results_acceptable": (
        {"prior_results_acceptable": True},
        {"prior_results_acceptable": True, "tried_prompting": False, "tried_rag": False},
    ),
    "tried_and_fell_short": ({}, {"prior_results_acceptable": True}),
    "retrieval_does_not_fix_format": ({"tried_rag": False}, {}),
    "below_quality_bar": ({"min_accuracy": 0.9}, {"min_accuracy": 0.5}),
    "start_with_prompting": ({"tried_prompting": False, "tried_rag": False}, {}),
    "no_reason_to_fine_tune": (
        {
            "task_type": "generation",
            "needs_strict_format": False,
            "needs_private_infra": False,
            "tried_rag": False,
        },
        {"task_type": "generation"},
    ),  # fmt: skip
    "pilot_stage": ({"stage": "pilot"}, {}),
    "data_changes_often": (
        {"data_change": "daily", "task_type": "generation"},
        {"data_change": "daily"},  # a classification task reads its facts from the input
    ),
    "knowledge_needs_retrieval": ({"task_type": "domain_qa"}, {}),
    "rag_for_changing_knowledge": (
        {"task_type": "domain_qa", "data_change": "monthly"},
        {"task_type": "domain_qa", "data_change": "never"},
    ),
    "too_few_examples": (
        {"labeled_examples": 40},
        {"labeled_examples": 40, "examples_to_label": 200},
    ),
    "budget_under_10k": ({"total_budget_usd": 9000.0}, {"total_budget_usd": 10000.0}),
    "budget_does_not_fit": ({"total_budget_usd": 20000.0}, {}),
    "classifier_fits_task": ({"task_type": "extraction"}, {}),
}
VERDICTS = {"human", "prompting", "rag", "classifier", "fine_tune"}


def fired(answers) -> dict[str, bool]:
    return {r.rule: r.fired for r in estimate(answers).rules}


def test_every_rule_has_a_case():
    assert set(CASES) == set(RULE_NAMES)


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_rule_fires(rule):
    fire, _ = CASES[rule]
    report = estimate(insurer_with(**fire))
    hit = [r for r in report.reasons if r.rule == rule]
    assert hit, f"{rule} did not fire"
    r = hit[0]
    assert r.message and r.stance in {"for", "against"}
    assert r.direction in VERDICTS
    if r.excludes and not report.decision.fallback:
        assert report.recommendation not in r.excludes
        for option in r.excludes:
            assert rule in report.to_dict()["options"][option]["ruled_out_by"]


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_rule_stays_quiet(rule):
    _, quiet = CASES[rule]
    assert fired(insurer_with(**quiet))[rule] is False


def test_the_seed_example_ends_in_fine_tune_once_the_small_classifier_measures_short(insurer):
    """With nothing measured the small classifier is the cheaper start (issue 16); measured
    short of the fine-tune's prior, the seed's verdict stands."""
    first = estimate(insurer)
    assert first.recommendation == "classifier" and first.measure_first
    assert not any(r.blocks_fine_tune for r in first.reasons)
    report = estimate(insurer, measured_accuracy={"classifier": 0.7})
    assert report.recommendation == "fine_tune" and report.fine_tune_justified
    rules = {r.rule for r in report.reasons}
    assert {"prompting_rag_inconsistent", "high_volume_narrow_task",
            "private_infrastructure"} <= rules  # fmt: skip
    assert not any(r.blocks_fine_tune for r in report.reasons)


@pytest.mark.parametrize("stage", ["pilot", "exploring"])
def test_pilot_is_not_fine_tune(stage):
    report = estimate(insurer_with(stage=stage))
    assert report.recommendation != "fine_tune" and not report.fine_tune_justified
    assert "pilot_stage" in {r.rule for r in report.reasons}


def test_budget_under_10k_is_not_fine_tune():
    report = estimate(insurer_with(total_budget_usd=8000.0))
    assert report.recommendation != "fine_tune"
    assert "budget_under_10k" in {r.rule for r in report.reasons}


def test_daily_changing_data_is_not_fine_tune():
    report = estimate(insurer_with(data_change="daily", prior_results_acceptable=True,
                                   task_type="generation"))  # fmt: skip
    assert report.recommendation != "fine_tune"
    assert "data_changes_often" in {r.rule for r in report.reasons}


def test_reasons_have_the_contract_keys():
    for r in estimate(INSURER).to_dict()["reasons"]:
        assert isinstance(r["rule"], str) and isinstance(r["message"], str)
        assert r["direction"] in VERDICTS
        assert r["stance"] in {"for", "against"}
