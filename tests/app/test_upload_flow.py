"""The upload flow and the project picker: no demo in a new project, a new upload becomes the
selected file with its columns detected again and old errors gone, no duplicated labels, no
traceback, and the last project reopens after a restart."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.conftest import ENTRY, TIMEOUT, app_state, errors, go
from tests.app.helpers import choose_demo

UPLOAD = 1  # index of "Upload my own file" in the source radio


def _upload(at, name: str, content: str) -> AppTest:
    at.file_uploader(key="upload_train").set_value((name, content.encode(), "text/csv")).run()
    assert not at.exception, at.exception
    return at


def _rows(text: str, label: str, n: int = 12) -> str:
    return f"{text},{label}\n" + "".join(
        f"ticket {i} about thing {i % 3},q{i % 3}\n" for i in range(n)
    )


def test_choosing_upload_drops_the_demo_at_once(app):
    at = choose_demo(app("data"))
    assert app_state(at).data.is_demo
    at.radio(key="data_source").set_value(at.radio(key="data_source").options[UPLOAD]).run()
    assert not at.exception
    data = app_state(at).data
    assert not data.is_demo and data.train == ""  # nothing to validate while a file is coming
    assert "validate" not in [b.key for b in at.button]


def test_a_new_upload_is_selected_with_its_columns_detected(app):
    at = app("data")
    at.radio(key="data_source").set_value(at.radio(key="data_source").options[UPLOAD]).run()
    _upload(at, "first.csv", _rows("text", "label"))
    assert at.selectbox(key="pick_train").value.endswith(".csv")
    assert "first" in at.selectbox(key="pick_train").value
    assert (at.selectbox(key="text_col").value, at.selectbox(key="label_col").value) == (
        "text",
        "label",
    )
    _upload(at, "second.csv", _rows("question", "intent"))
    assert "second" in at.selectbox(key="pick_train").value
    assert "second" in app_state(at).data.train
    assert (at.selectbox(key="text_col").value, at.selectbox(key="label_col").value) == (
        "question",
        "intent",
    )
    at.button(key="validate").click().run()
    assert not errors(at), errors(at)
    assert app_state(at).data.split_id


def test_a_good_upload_clears_the_error_of_a_broken_one(app):
    at = app("data")
    at.radio(key="data_source").set_value(at.radio(key="data_source").options[UPLOAD]).run()
    _upload(at, "broken.csv", 'text,label\n"an unterminated quote,billing\nok,refund\n')
    assert errors(at)
    _upload(at, "good.csv", _rows("text", "label"))
    assert not errors(at), errors(at)
    assert "good" in app_state(at).data.train


def test_no_two_widgets_share_a_label_on_the_data_page(app):
    at = app("data")
    at.radio(key="data_source").set_value(at.radio(key="data_source").options[UPLOAD]).run()
    _upload(at, "tickets.csv", _rows("text", "label"))
    labels = [w.label for kind in ("selectbox", "file_uploader", "radio") for w in at.get(kind)]
    labels = [label for label in labels if label != "Project"]  # the sidebar's
    assert len(labels) == len(set(labels)), labels


def test_a_created_project_starts_empty_and_reopens_after_a_restart(app):
    """(Streamlit's widget-state warning is only raised under a real server: the browser test
    checks the server log for it.)"""
    at = app()
    at.sidebar.text_input(key="new_project").input("claims-routing").run()
    at.sidebar.button(key="create_project").click().run()
    assert not at.exception
    assert app_state(at).project == "claims-routing"
    assert at.sidebar.selectbox(key="project_select").value == "claims-routing"
    go(at, "data")  # a new project starts without the demo
    assert at.radio(key="data_source").value is None
    again = AppTest.from_file(str(ENTRY), default_timeout=TIMEOUT).run()  # a server restart
    assert app_state(again).project == "claims-routing"
    assert again.sidebar.selectbox(key="project_select").value == "claims-routing"
