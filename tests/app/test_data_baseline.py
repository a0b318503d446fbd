"""Data & baseline page: demo and uploads, column choice, readable validation errors."""

from __future__ import annotations

import json

from tests.app.conftest import REPO, charts, errors, unescape
from tests.app.helpers import choose_demo
from ui.charts import confusion_layout
from ui.data_source import demo_path


def _success(at) -> list[str]:
    return [s.value for s in at.success]


def test_a_new_project_starts_without_data_then_the_demo_validates(app, workspace_dir):
    at = app("data")
    assert at.radio(key="data_source").value is None  # neither the demo nor an upload yet
    assert "validate" not in [b.key for b in at.button]
    choose_demo(at)
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
    assert list((workspace_dir / "default" / "uploads").glob("tickets*.csv"))
    assert errors(at), "a malformed CSV must produce an st.error"
    assert all("Traceback" not in e for e in errors(at))


def test_wrong_label_column_is_explained(app):
    at = choose_demo(app("data"))
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


def test_saved_results_show_every_baseline_and_the_best(app, workspace_dir):
    """The result display (no model run): classic beside kNN and the probe, `best` named with
    the way it was chosen, the learning curve's verdict."""
    from core.metrics import classification_metrics

    at = app("data")
    choose_demo(at)
    at.button(key="validate").click().run()
    saved = json.loads((workspace_dir / "default" / "data.json").read_text())
    gold = ["a", "b", "a", "b"]
    block = classification_metrics(gold, ["a", "b", "a", "a"])
    results = {
        "task": "classification",
        "n_train": 1600,
        "n_test": 4,
        "methods": ["knn", "probe", "classic"],
        "knn": {"k": 5, "cv_score": 0.81, "items_per_s": 80.0, **block},
        "probe": {"C": 30.0, "cv_score": 0.83, "items_per_s": 100.0, **block},
        "classic": {
            "setting": "word C=1",
            "C": 1.0,
            "cv_score": 0.86,
            "items_per_s": 4000.0,
            **block,
        },  # fmt: skip
        "best": {
            "method": "classic",
            "accuracy": 0.75,
            "cv_accuracy": 0.86,
            "name": "TF-IDF + linear SVM (classic)",
            "by": "3-fold cross-validation accuracy on the training split",
        },
        "learning_curve": {
            "method": "classic",
            "points": [{"n_train": 800, "accuracy": 0.7}, {"n_train": 1600, "accuracy": 0.75}],
            "verdict": "more labelled data would still help (+5.0 points per doubling)",
        },
        "split_id": saved["split_id"],
        "warnings": [],
    }
    folder = workspace_dir / "default" / "results" / f"baseline-{saved['split_id']}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results))
    at.run()
    assert not at.exception
    table = " ".join(df.value.to_string() for df in at.dataframe)
    for name in ("RAG baseline (kNN retrieval)", "Linear probe", "Classic TF-IDF + linear SVM"):
        assert name in table
    assert "word C=1" in table and "0.860" in table  # its CV-chosen setting and CV accuracy
    best = [unescape(s) for s in _success(at) if "Best cheap baseline" in unescape(s)]
    assert best and "TF-IDF" in best[0] and "cross-validation" in best[0]
    assert any("would still help" in unescape(c.value) for c in at.caption)
    scores = next(df.value for df in at.dataframe if "system" in df.value.columns)
    assert scores["ms / item"].tolist() == ["12.50", "10.00", "0.25"]  # each method its own
    spec = next(json.loads(c.proto.spec) for c in charts(at) if "Confusion" in c.proto.spec)
    assert "TF-IDF + linear SVM (classic)" in spec["title"]["subtitle"]  # the best's matrix
    assert spec["width"] == spec["height"] == confusion_layout(["a", "b"])["size"]
