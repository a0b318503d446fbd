"""Questionnaire page: a widget per advisor answer, live verdict, validation, persistence."""

from __future__ import annotations

import json

from advisor import Answers, estimate
from tests.app.conftest import errors, go
from tests.app.helpers import JUSTIFYING, answer
from ui.verdict import verdict_title


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
    assert at.subheader[0].value == f"Verdict: {verdict_title(default)}"
    answer(at, JUSTIFYING)
    expected = estimate(Answers.from_dict(JUSTIFYING)).to_dict()
    assert expected["recommendation"] != default["recommendation"]
    assert at.subheader[0].value == f"Verdict: {verdict_title(expected)}"
    saved = json.loads((workspace_dir / "default" / "answers.json").read_text())
    assert Answers.from_dict(saved) == Answers.from_dict(JUSTIFYING)
    # A new session (browser refresh / server restart) comes back with the same answers.
    again = app()
    assert again.number_input(key="q_monthly_volume").value == JUSTIFYING["monthly_volume"]
    assert again.subheader[0].value == f"Verdict: {verdict_title(expected)}"


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
