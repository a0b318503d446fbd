"""Questionnaire page: a widget per advisor answer, live verdict, validation, persistence."""

from __future__ import annotations

import json

from advisor import Answers, estimate
from tests.app.conftest import errors, go
from tests.app.helpers import JUSTIFYING, answer
from ui.verdict import headline_text


def state_answers(at) -> Answers:
    from tests.app.conftest import app_state

    return Answers.from_dict(app_state(at).answers_draft)


def test_every_answer_has_a_widget_with_help(app):
    at = app()  # the default page
    assert at.title[0].value == "Should you fine-tune?"
    keys = {w.key for w in [*at.number_input, *at.selectbox, *at.toggle]}
    for spec in Answers.fields_help():
        assert f"q_{spec['name']}" in keys, spec["name"]
    assert all(w.help for w in at.number_input if w.key.startswith("q_"))


def test_verdict_follows_the_answers_and_is_saved(app, workspace_dir):
    at = app()
    default = estimate(Answers()).to_dict()
    assert at.subheader[0].value == headline_text(default)
    answer(at, JUSTIFYING)
    expected = estimate(Answers.from_dict(JUSTIFYING)).to_dict()
    assert expected["recommendation"] != default["recommendation"]
    assert at.subheader[0].value == headline_text(expected)
    saved = json.loads((workspace_dir / "default" / "answers.json").read_text())
    assert Answers.from_dict(saved) == Answers.from_dict(JUSTIFYING)
    # A new session (browser refresh / server restart) comes back with the same answers.
    again = app()
    assert again.number_input(key="q_monthly_volume").value == JUSTIFYING["monthly_volume"]
    assert again.subheader[0].value == headline_text(expected)


def test_negative_budget_is_explained_and_kept(app, workspace_dir):
    at = app()
    answer(at, {"total_budget_usd": 80000.0})
    at.number_input(key="q_total_budget_usd").set_value(-5.0).run()
    assert not at.exception
    assert any("total_budget_usd" in e and ">= 0" in e for e in errors(at)), errors(at)
    assert at.number_input(key="q_total_budget_usd").value == -5.0  # the entry is not lost
    saved = json.loads((workspace_dir / "default" / "answers.json").read_text())
    assert saved["total_budget_usd"] == 80000.0  # the last valid answers stay on disk
    at.number_input(key="q_total_budget_usd").set_value(90000.0).run()
    assert not errors(at)


def test_answers_survive_page_navigation(app):
    at = app()
    answer(at, {"monthly_volume": 777})
    go(at, "costs")
    go(at, "questionnaire")
    assert at.number_input(key="q_monthly_volume").value == 777


def test_projects_live_side_by_side(app, workspace_dir):
    at = app()
    answer(at, {"monthly_volume": 111})
    at.text_input(key="new_project").input("claims-routing")
    at.button(key="create_project").click().run()
    assert at.selectbox(key="project_select").value == "claims-routing"
    assert at.number_input(key="q_monthly_volume").value == Answers().monthly_volume
    answer(at, {"monthly_volume": 222})
    at.selectbox(key="project_select").set_value("default").run()
    assert at.number_input(key="q_monthly_volume").value == 111
    assert {p.name for p in workspace_dir.iterdir()} >= {"default", "claims-routing"}


def test_bad_project_name_is_an_error_not_a_crash(app):
    at = app()
    at.text_input(key="new_project").input("../evil")
    at.button(key="create_project").click().run()
    assert not at.exception
    assert any("project name" in e for e in errors(at))


def _shown(elements) -> str:
    """Text as the reader sees it (Markdown escapes removed)."""
    return " ".join(e.value for e in elements).replace("\\", "")


def test_the_plan_is_chosen_here_with_a_default_per_task(app, workspace_dir):
    at = app()
    assert at.selectbox(key="q_base_model").value == "auto"
    assert "Llama-3.1-8B-Instruct" in at.selectbox(key="q_base_model").options
    assert "all-MiniLM-L6-v2" in _shown(at.caption)  # classification: a small encoder
    answer(at, {"task_type": "generation"})
    assert "SmolLM2" in _shown(at.caption)  # generation: a small LLM
    answer(at, {"base_model": "Llama-3.1-8B-Instruct", "examples_to_label": 3000})
    saved = json.loads((workspace_dir / "default" / "answers.json").read_text())
    assert saved["base_model"] == "Llama-3.1-8B-Instruct" and saved["examples_to_label"] == 3000
    report = estimate(Answers.from_dict(saved)).to_dict()
    assert "Llama" in _shown(at.caption)
    assert report["plan"]["stand_in"] is True
    go(at, "costs")
    assert "stand" in _shown(at.caption)  # the trial runs a stand-in


def test_verdict_reasons_are_grouped_for_and_against(app):
    at = app()
    answer(at, JUSTIFYING)
    text = _shown(at.markdown)
    report = estimate(Answers.from_dict(JUSTIFYING)).to_dict()
    assert "Why fine" in text  # the group backing the verdict comes first
    assert "Budget" in text and "best" in text and "worst" in text
    assert report["recommendation"] == "fine_tune"
    # reasons about other options are labelled as such, never under "Why fine-tuning"
    assert "About the other options" in text and "RAG and the small classifier: Below" in text
    why = text.split("Why fine-tuning", 1)[1].split("About the other options", 1)[0]
    assert "Below the accuracy you need" not in why


def test_human_speed_in_items_per_hour_or_minutes_per_item(app, workspace_dir):
    """A user thinks in tickets per hour: 30 an hour is 2 minutes an item, either way."""
    at = app()
    at.radio(key="q_speed_unit").set_value("items per hour").run()
    assert at.number_input(key="q_items_per_hour").value == 20.0  # the default 3 minutes
    at.number_input(key="q_items_per_hour").set_value(30.0).run()
    assert not at.exception
    saved = json.loads((workspace_dir / "default" / "answers.json").read_text())
    assert saved["human_minutes_per_item"] == 2.0
    at.radio(key="q_speed_unit").set_value("minutes per item").run()
    assert at.number_input(key="q_human_minutes_per_item").value == 2.0


def test_change_intervals_people_say_and_the_number_of_classes(app, workspace_dir):
    at = app()
    options = at.selectbox(key="q_data_change").options
    assert "rarely" in options and "never" in options
    answer(at, {"data_change": "rarely", "n_classes": 8})
    saved = json.loads((workspace_dir / "default" / "answers.json").read_text())
    assert saved["data_change"] == "rarely" and saved["n_classes"] == 8


def test_the_plan_shows_its_real_device_and_size_and_no_bar_of_zero(app):
    """A 23M encoder showed 'A100-80GB' and '0.00'; an accuracy bar of 0.00."""
    at = app()
    text = _shown(at.caption)
    assert "23M" in text and "this machine's CPU" in text
    assert at.selectbox(key="q_gpu").value == "auto"
    assert "No hard accuracy bar" in text
    bar, size = at.number_input(key="q_min_accuracy"), at.number_input(key="q_base_model_params_b")
    assert bar.value is None and bar.proto.placeholder == "no hard bar"  # not "0.00"
    assert size.value is None and size.proto.placeholder == "23M (all-MiniLM-L6-v2)"
    answer(at, {"min_accuracy": 0.85})
    assert "85% of items right" in _shown(at.caption)
    assert at.number_input(key="q_min_accuracy").value == 0.85
    answer(at, {"min_accuracy": 0.0})  # back to no bar
    assert state_answers(at).min_accuracy == 0.0 and "No hard accuracy bar" in _shown(at.caption)


def test_the_number_of_classes_is_read_from_the_upload(app, workspace_dir):
    """Not asked twice: a validated classification upload gives the number of classes."""
    app()  # creates the default project
    root = workspace_dir / "default"
    labels = ["access", "billing", "hardware", "network", "software"]
    choice = {"train": "t.csv", "text_col": "text", "label_col": "label", "split_id": "s1",
              "task": "classification", "split_task": "classification",
              "labels": labels}  # fmt: skip
    (root / "data.json").write_text(json.dumps(choice))
    at = app()
    saved = json.loads((root / "answers.json").read_text())
    assert saved["n_classes"] == 5
    assert at.number_input(key="q_n_classes").value == 5
    assert "Your data has 5 classes." in _shown(at.caption)
    answer(at, {"n_classes": 7})  # the user's own answer wins afterwards
    assert json.loads((root / "answers.json").read_text())["n_classes"] == 7
