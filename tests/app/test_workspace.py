"""The workspace on disk (pure Python): projects side by side, atomic JSON, safe uploads."""

from __future__ import annotations

import pytest

from ui.workspace import DataChoice, Workspace


def test_projects_are_separate_folders(tmp_path):
    ws = Workspace(tmp_path)
    a, b = ws.project("alpha"), ws.project("beta")
    a.save_answers({"monthly_volume": 1})
    b.save_answers({"monthly_volume": 2})
    assert ws.projects() == ["alpha", "beta", "default"]
    assert Workspace(tmp_path).project("alpha").load_answers() == {"monthly_volume": 1}
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", "x" * 65, "sp ace"])
def test_unsafe_project_names_are_rejected(tmp_path, name):
    with pytest.raises(ValueError, match="project name"):
        Workspace(tmp_path).project(name)


def test_damaged_json_falls_back_to_defaults(tmp_path):
    project = Workspace(tmp_path).project("p")
    (project.root / "answers.json").write_text("{not json")
    (project.root / "data.json").write_text('{"unknown_key": 1}')
    assert project.load_answers() == {}
    assert project.load_data_choice() == DataChoice()


def test_upload_names_are_sanitised_and_types_checked(tmp_path):
    project = Workspace(tmp_path).project("p")
    path = project.save_upload("../../etc/My Tickets (1).CSV", b"text,label\na,b\n")
    assert path.parent == project.uploads_dir
    assert path.name.startswith("My_Tickets_1-") and path.suffix == ".csv"
    assert project.uploads() == [path]
    with pytest.raises(ValueError, match="unsupported file type"):
        project.save_upload("tickets.xlsx", b"PK")


def test_data_choice_round_trip_and_validation():
    choice = DataChoice(train="/x.csv", text_col="t", label_col="l", split_id="abc", n_train=3)
    assert DataChoice.from_dict(choice.to_dict()) == choice
    assert choice.ready and not DataChoice(train="/x.csv").ready
    with pytest.raises(ValueError, match="task"):
        DataChoice(task="regression")
    with pytest.raises(ValueError, match="unknown key"):
        DataChoice.from_dict({"bogus": 1})
