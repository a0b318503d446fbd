"""Issue 8: one decision model for every option; each example of the issue and its invariants."""

from __future__ import annotations

import math
import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor import Answers, estimate
from advisor.answers import DataChange, Stage, TaskType
from advisor.breakeven import economics

PF = {"stage": "production", "tried_prompting": True, "tried_rag": True, "data_change": "yearly"}
ROUTER = {  # a private ticket router: classification, 40k a month
    "task_type": "classification", "labeled_examples": 5000, "needs_private_infra": True,
    "monthly_volume": 40000, "human_minutes_per_item": 3.0, "total_budget_usd": 150000.0, **PF,
}  # fmt: skip


def report(answers: dict, measured: dict | None = None) -> dict:
    return estimate(Answers.from_dict(answers), measured_accuracy=measured).to_dict()


def fired(d: dict) -> set[str]:
    return {r["rule"] for r in d["reasons"]}


def test_fine_tune_that_never_pays_back_against_the_others_says_why():
    d = report({"monthly_volume": 5000, "labeled_examples": 5000, "total_budget_usd": 100000, **PF})
    assert d["recommendation"] == "fine_tune"
    for option in ("prompting", "rag"):
        cheaper = (
            d["horizon_costs"][option]["expected"] < d["horizon_costs"]["fine_tune"]["expected"]
        )
        if d["break_even_vs"][option] is None or cheaper:
            assert "tried_and_fell_short" in d["excluded"][option]
    cost = next(r for r in d["reasons"] if r["rule"] == "cheapest_allowed")
    assert "only option left" in cost["message"] and cost["direction"] == "fine_tune"


def test_measured_accuracy_changes_the_verdict_and_says_why():
    assumed = report(ROUTER)
    assert assumed["recommendation"] == "fine_tune"
    d = report(ROUTER, {"rag": 0.95, "fine_tune": 0.80})
    assert d["recommendation"] == "rag" and not d["fine_tune_justified"]
    ev = d["evidence"]
    assert ev["changed"] is True and ev["assumed_recommendation"] == "fine_tune"
    assert "RAG 0.95" in ev["message"] and "fine-tuning 0.80" in ev["message"]
    assert "→ RAG" in ev["message"]
    assert (
        d["monthly_running_costs"]["fine_tune"]["expected"]
        > d["monthly_running_costs"]["rag"]["expected"]
    )
    assert d["accuracy"]["rag"]["measured"] is True


def test_measured_evidence_that_confirms_the_verdict_says_so():
    d = report(ROUTER, {"fine_tune": 0.97})
    assert d["recommendation"] == "fine_tune" and d["evidence"]["changed"] is False
    assert "stays fine-tuning" in d["evidence"]["message"]


def test_pilot_over_a_changing_wiki_needs_retrieval():
    d = report({"task_type": "domain_qa", "data_change": "weekly", "stage": "pilot"})
    assert d["recommendation"] == "rag"
    assert "knowledge_needs_retrieval" in d["excluded"]["prompting"]
    assert "knowledge_needs_retrieval" in d["reasons_for"]
    # no reason backing the verdict points elsewhere
    backing = [r for r in d["reasons"] if r["rule"] in d["reasons_for"]]
    assert all(r["direction"] == "rag" or r["stance"] == "against" for r in backing)


def test_prompting_and_rag_tried_and_inconsistent_is_a_reason_on_its_own():
    d = report({"task_type": "generation", "monthly_volume": 50000, **PF})
    assert d["recommendation"] == "fine_tune"
    assert "prompting_rag_inconsistent" in d["reasons_for"]
    assert "no_reason_to_fine_tune" not in fired(d)


def test_rag_is_no_gate_for_a_style_need():
    answers = {"task_type": "style", "needs_strict_format": True, "monthly_volume": 100000,
               "tried_prompting": True, "tried_rag": False, "stage": "production",
               "data_change": "yearly"}  # fmt: skip
    d = report(answers)
    assert d["recommendation"] == "fine_tune"
    assert "retrieval_does_not_fix_format" in d["excluded"]["rag"]
    assert not any("RAG first" in r["message"] or "try RAG" in r["message"] for r in d["reasons"])
    assert "strict_format_at_scale" in d["reasons_for"]


@pytest.mark.parametrize("budget", [8000.0, 12000.0])
def test_the_recommended_option_is_costed_against_the_budget(budget):
    d = report({"total_budget_usd": budget, "stage": "pilot", "tried_prompting": True})
    b = d["budget"]
    assert b["option"] == d["recommendation"]
    rag_setup = d["setup_costs"]["rag"]["expected"]
    assert rag_setup > budget and d["recommendation"] != "rag"
    assert b["fits"] is (d["setup_costs"][d["recommendation"]]["expected"] <= budget)
    assert "budget_does_not_fit" in d["excluded"]["rag"]


def test_hosting_scales_with_model_size_and_a_70b_needs_several_gpus():
    costs, counts = [], {}
    for size in (0.02, 1, 7, 70, 405):
        e = economics(Answers(base_model="custom", base_model_params_b=size,
                              task_type="generation", needs_private_infra=True))  # fmt: skip
        costs.append(e.serving.usd_per_month.expected)
        counts[size] = e.serving.chosen.count
    assert costs == sorted(costs) and costs[0] < costs[-1] / 10
    assert counts[70] >= 2 and counts[405] > counts[70]


def test_compute_covers_runs_and_experimentation():
    d = report({"base_model": "Mistral-7B-Instruct-v0.3", "method": "lora", **PF})
    c, det = d["costs"]["compute"], d["cost_details"]["compute"]
    assert c["expected"] >= 100  # the article: $100 for a small open model
    runs, exp = det["training_runs"]["expected"], det["experimentation"]["expected"]
    assert runs > 0 and exp > 0 and c["expected"] == pytest.approx(runs + exp, abs=0.02)


def test_plan_is_named_once_and_defaults_per_task():
    cls = report({"task_type": "classification"})["plan"]
    gen = report({"task_type": "generation"})["plan"]
    assert cls["base_model"] == "all-MiniLM-L6-v2" and cls["kind"] == "encoder"
    assert gen["base_model"] == "SmolLM2-135M-Instruct" and gen["kind"] == "llm"
    assert not cls["stand_in"] and cls["trial_model_id"] == "shipped:all-MiniLM-L6-v2"
    big = report({"task_type": "generation", "base_model": "Llama-3.1-8B-Instruct"})["plan"]
    assert big["params_b"] == pytest.approx(8.03) and big["stand_in"] is True
    assert big["trial_model"] == "SmolLM2-135M-Instruct" and "stand-in" in big["trial_note"]
    with pytest.raises(ValueError, match="^base_model_params_b: give the size of 'my-model'"):
        estimate(Answers(base_model="my-model"))


def test_small_encoder_serves_on_cpu_and_big_llm_on_gpus():
    small = report({"task_type": "classification", "needs_private_infra": True})["serving"]
    assert small["device"] == "cpu"
    big = report({"base_model": "Llama-3.1-70B-Instruct", "needs_private_infra": True})
    assert big["serving"]["device"] != "cpu" and big["serving"]["count"] >= 2


# --- invariants ---------------------------------------------------------------------------------

answers_st = st.builds(
    Answers,
    task_type=st.sampled_from(typing.get_args(TaskType)),
    labeled_examples=st.integers(0, 200_000),
    examples_to_label=st.integers(0, 50_000),
    data_change=st.sampled_from(typing.get_args(DataChange)),
    stage=st.sampled_from(typing.get_args(Stage)),
    tried_prompting=st.booleans(),
    tried_rag=st.booleans(),
    prior_results_acceptable=st.booleans(),
    needs_private_infra=st.booleans(),
    needs_strict_format=st.booleans(),
    min_accuracy=st.sampled_from([0.0, 0.8, 0.9]),
    monthly_volume=st.integers(0, 2_000_000),
    human_minutes_per_item=st.floats(0, 30),
    total_budget_usd=st.floats(0, 500_000),
    base_model=st.sampled_from(["auto", "Llama-3.1-8B-Instruct", "Llama-3.1-70B-Instruct"]),
)
measured_st = st.dictionaries(
    st.sampled_from(["prompting", "rag", "fine_tune"]), st.floats(0.3, 1.0), max_size=3
)


@settings(max_examples=60, deadline=None)
@given(answers=answers_st, measured=measured_st)
def test_the_verdict_is_never_dominated_unless_a_named_rule_says_why(answers, measured):
    d = estimate(answers, measured_accuracy=measured).to_dict()
    rec = d["recommendation"]
    cost = {o: d["horizon_costs"][o]["expected"] for o in ("prompting", "rag", "fine_tune")}
    acc = {o: d["accuracy"][o]["expected"] for o in cost}
    for o in cost:
        if o != rec and cost[o] < cost[rec] - 1e-6 and acc[o] >= acc[rec]:
            assert d["excluded"].get(o), f"{o} is cheaper and as accurate, yet not ruled out"
            assert set(d["excluded"][o]) <= fired(d)
    assert any(r["direction"] == rec for r in d["reasons"])


def _months(v: float | None) -> float:
    return math.inf if v is None else v


@settings(max_examples=60, deadline=None)
@given(answers=answers_st, lo=st.floats(0.3, 0.99), gain=st.floats(0.001, 0.5))
def test_higher_measured_fine_tune_accuracy_never_delays_its_break_even(answers, lo, gain):
    hi = min(1.0, lo + gain)
    a = estimate(answers, measured_accuracy={"fine_tune": lo}).to_dict()
    b = estimate(answers, measured_accuracy={"fine_tune": hi}).to_dict()
    for against in ("human", "prompting", "rag"):
        assert _months(b["break_even_vs"][against]) <= _months(a["break_even_vs"][against]) + 1e-9


@settings(max_examples=60, deadline=None)
@given(
    size=st.floats(0.01, 500),
    factor=st.floats(1.0, 20),
    volume=st.integers(0, 5_000_000),
    private=st.booleans(),
    task=st.sampled_from(["classification", "generation"]),
)
def test_serving_cost_grows_with_model_size(size, factor, volume, private, task):
    def cost(p: float) -> float:
        a = Answers(base_model="custom", base_model_params_b=p, monthly_volume=volume,
                    needs_private_infra=private, task_type=task)  # fmt: skip
        return economics(a).serving.usd_per_month.expected

    assert cost(size * factor) >= cost(size) - 1e-9
