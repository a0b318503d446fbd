"""Data & baseline page: demo and uploads, column choice, readable validation errors."""

from __future__ import annotations

import json

from tests.app.conftest import REPO, errors
from ui.data_source import demo_path


def _success(at) -> list[str]:
    return [s.value for s in at.success]


def test_demo_is_the_default_and_validates(app, workspace_dir):
    at = app("data")
    assert at.radio(key="data_source").value.startswith("Built-in demo")
    assert at.selectbox(key="text_col").value == "text"
    assert at.selectbox(key="label_col").value == "category"
    assert at.button(key="run_baseline").disabled  # no validated split yet
    at.button(key="validate").click().run()
    assert not at.exception and not errors(at)
    saved = json.loads((workspace_dir / "default" / "data.json").read_text())
    assert saved["split_id"] and saved["n_train"] + saved["n_test"] == 2000
    assert len(saved["labels"]) >= 10
    assert any(saved["split_id"] in s for s in _success(at))
    assert not at.button(key="run_baseline").disabled
    assert list((workspace_dir / "default" / "splits").glob(f"split-{saved['split_id']}.json"))


def test_demo_data_is_the_generators_output(tmp_path):
    """The shipped CSV is exactly what scripts/make_demo_data.py writes with its default seed."""
    import subprocess
    import sys

    import pandas as pd

    out = tmp_path / "tickets.csv"
    script = REPO / "scripts" / "make_demo_data.py"
    subprocess.run([sys.executable, str(script), "--out", str(out)], check=True, timeout=60)
    assert out.read_bytes() == demo_path().read_bytes()
    frame = pd.read_csv(out)
    assert 1500 <= len(frame) <= 2500
    assert 10 <= frame["category"].nunique() <= 14
    assert frame["text"].str.casefold().duplicated().sum() == 0  # no train/test leakage


def test_malformed_upload_is_a_readable_error(app, workspace_dir):
    at = app("data")
    at.radio(key="data_source").set_value(at.radio(key="data_source").options[1]).run()
    broken = b'text,label\n"an unterminated quote,billing\nok,refund\n'
    at.file_uploader(key="upload_train").set_value(("tickets.csv", broken, "text/csv")).run()
    assert not at.exception
    assert (workspace_dir / "default" / "uploads" / "tickets.csv").exists()
    assert errors(at), "a malformed CSV must produce an st.error"
    assert all("Traceback" not in e for e in errors(at))


def test_wrong_label_column_is_explained(app):
    at = app("data")
    at.selectbox(key="label_col").set_value("text").run()
    at.button(key="validate").click().run()
    assert not at.exception
    assert any("pick two columns" in e for e in errors(at)), errors(at)
    # The user's choice is kept for correction.
    assert at.selectbox(key="label_col").value == "text"


def test_single_class_upload_is_explained(app):
    at = app("data")
    at.radio(key="data_source").set_value(at.radio(key="data_source").options[1]).run()
    content = "text,label\n" + "".join(f"ticket number {i},billing\n" for i in range(20))
    at.file_uploader(key="upload_train").set_value(("one.csv", content.encode(), "text/csv")).run()
    assert at.selectbox(key="label_col").value == "label"
    at.button(key="validate").click().run()
    assert not at.exception
    assert any("single class" in e for e in errors(at)), errors(at)


def test_unsupported_file_type_is_rejected_by_the_widget(app):
    at = app("data")
    at.radio(key="data_source").set_value(at.radio(key="data_source").options[1]).run()
    assert set(at.file_uploader(key="upload_train").allowed_type) >= {".csv", ".jsonl", ".parquet"}
