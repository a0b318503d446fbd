from __future__ import annotations

import json
import math
import typing

import pytest

from advisor import Answers
from advisor.answers import DataChange, Method, Stage, TaskType

ISSUE_KEYS = [
    "task_type", "labeled_examples", "avg_input_tokens", "avg_output_tokens", "data_change",
    "stage", "tried_prompting", "tried_rag", "prior_results_acceptable", "needs_private_infra",
    "needs_strict_format", "monthly_volume", "human_minutes_per_item", "human_hourly_cost_usd",
    "total_budget_usd", "in_house_ml_team", "base_model_params_b", "method", "gpu", "epochs",
    # issue 8: the plan's model by name, examples still to label, the quality bar
    "base_model", "examples_to_label", "min_accuracy",
    # issue 18: the number of classes
    "n_classes",
]  # fmt: skip


def test_keys_are_exactly_the_issue_table():
    assert sorted(Answers().to_dict()) == sorted(ISSUE_KEYS)


def test_choices_match_the_issue_table():
    assert set(typing.get_args(TaskType)) == {
        "classification", "extraction", "form_completion", "style", "domain_qa", "generation"
    }  # fmt: skip
    assert set(typing.get_args(DataChange)) == {
        "daily", "weekly", "monthly", "quarterly", "yearly", "rarely", "never"
    }  # fmt: skip
    assert set(typing.get_args(Stage)) == {"exploring", "pilot", "production"}
    assert set(typing.get_args(Method)) == {"lora", "qlora", "full"}


def test_json_round_trip(insurer):
    text = insurer.to_json()
    assert Answers.from_json(text) == insurer
    assert json.loads(text) == insurer.to_dict()


def test_missing_keys_take_defaults():
    a = Answers.from_dict({"monthly_volume": 123})
    assert a.monthly_volume == 123
    assert a.task_type == Answers().task_type


def test_whole_float_accepted_for_int_and_int_for_float():
    a = Answers.from_dict({"labeled_examples": 10.0, "human_minutes_per_item": 2})
    assert a.labeled_examples == 10 and isinstance(a.labeled_examples, int)
    assert isinstance(a.human_minutes_per_item, float)
    assert Answers.from_json(a.to_json()) == a


@pytest.mark.parametrize(
    "data, key, allowed",
    [
        ({"colour": "red"}, "colour", "allowed keys"),
        ({"labeled_examples": -1}, "labeled_examples", ">= 0"),
        ({"labeled_examples": 10.5}, "labeled_examples", "whole number"),
        ({"labeled_examples": "100"}, "labeled_examples", "whole number"),
        ({"labeled_examples": True}, "labeled_examples", "whole number"),
        ({"human_minutes_per_item": False}, "human_minutes_per_item", "a number"),
        ({"human_minutes_per_item": math.nan}, "human_minutes_per_item", "finite"),
        ({"total_budget_usd": -5.0}, "total_budget_usd", ">= 0"),
        ({"tried_rag": "yes"}, "tried_rag", "true or false"),
        ({"tried_rag": 1}, "tried_rag", "true or false"),
        ({"task_type": "translation"}, "task_type", "classification"),
        ({"method": "LoRA"}, "method", "qlora"),
        ({"stage": None}, "stage", "production"),
        ({"base_model_params_b": -1}, "base_model_params_b", ">= 0"),
        ({"base_model_params_b": 1e30}, "base_model_params_b", "<= 10,000"),
        ({"human_minutes_per_item": 1e308}, "human_minutes_per_item", "<= 10,000"),
        ({"labeled_examples": 10**400}, "labeled_examples", "<= 1,000,000,000"),
        ({"avg_input_tokens": 0}, "avg_input_tokens", "> 0"),
        ({"avg_output_tokens": 0}, "avg_output_tokens", "> 0"),
        ({"min_accuracy": 1.5}, "min_accuracy", "<= 1"),
        ({"base_model": ""}, "base_model", "name"),
        ({"epochs": 0}, "epochs", ">= 1"),
        ({"gpu": ""}, "gpu", "name"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(data, key, allowed):
    with pytest.raises(ValueError) as e:
        Answers.from_dict(data)
    msg = str(e.value)
    assert msg.startswith(f"{key}:") and allowed in msg
    assert "\n" not in msg


def test_direct_construction_is_validated_too():
    with pytest.raises(ValueError, match="^monthly_volume:"):
        Answers(monthly_volume=-10)


def test_not_an_object_and_bad_json():
    with pytest.raises(ValueError, match="JSON object"):
        Answers.from_dict([1, 2])
    with pytest.raises(ValueError, match="line 1"):
        Answers.from_json("{not json")


def test_fields_help_describes_every_field(assumptions):
    rows = Answers.fields_help(assumptions.gpu_names())
    assert [r["name"] for r in rows] == [k for k in Answers().to_dict()]
    by = {r["name"]: r for r in rows}
    for r in rows:
        assert r["help"] and r["label"]
        assert r["type"] in {"int", "float", "bool", "choice"}
        assert r["default"] == getattr(Answers(), r["name"])
    assert by["task_type"]["choices"] == list(typing.get_args(TaskType))
    assert by["gpu"]["choices"] == ["auto", *assumptions.gpu_names()]
    assert Answers().gpu == "auto"
    assert by["labeled_examples"] == {**by["labeled_examples"], "type": "int", "min": 0}
    assert by["human_hourly_cost_usd"]["unit"] == "USD/hour"
    assert by["avg_input_tokens"]["exclusive_min"] is True
    assert by["base_model"]["choices"][:2] == ["auto", "all-MiniLM-L6-v2"]
    assert by["tried_rag"]["type"] == "bool" and by["tried_rag"]["choices"] is None


def test_defaulted_names_what_a_file_leaves_out():
    assert "monthly_volume" in Answers.defaulted({}) and len(Answers.defaulted({})) == len(
        Answers().to_dict()
    )
    assert "monthly_volume" not in Answers.defaulted({"monthly_volume": 10})
