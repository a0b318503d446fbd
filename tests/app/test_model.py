"""The Model page and the CLI behind it, on one real (tiny) trained run: the playground (label,
confidence, nearest training examples), batch predictions with a download, the export with its
model card; and the Runs page's rename / delete with human dates."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import ENTRY, REPO, TIMEOUT, errors, go, shown_errors
from tests.app.helpers import small_demo

RUN = "tiny"


def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trainer", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=check,
        env={**__import__("os").environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A workspace whose default project holds one completed 4-step run of the encoder."""
    ws = tmp_path_factory.mktemp("model-ws")
    project = ws / "default"
    (project / "uploads").mkdir(parents=True)
    data = project / "uploads" / "tickets.csv"
    data.write_bytes(small_demo())
    _cli("train", "--train", str(data), "--text-col", "text", "--label-col", "category",
         "--max-steps", "4", "--batch-size", "16", "--runs-dir", str(project / "runs"),
         "--split-dir", str(project / "splits"), "--run-id", RUN)  # fmt: skip
    return ws


@pytest.fixture
def open_model(trained, monkeypatch):
    monkeypatch.setenv("ADVISOR_WORKSPACE", str(trained))

    def open_page(page: str = "model") -> AppTest:
        at = AppTest.from_file(str(ENTRY), default_timeout=TIMEOUT).run()
        assert not at.exception, at.exception
        return go(at, page)

    return open_page


def _frames(at) -> list:
    return [d.value for d in at.dataframe]


def test_model_page_without_a_run_points_to_fine_tune(app):
    at = app("model")
    assert any("No completed fine-tune" in i.value for i in at.info)


def test_playground_shows_label_confidence_and_nearest_examples(open_model):
    at = open_model()
    assert at.button(key="play_go").disabled  # nothing typed yet
    at.text_area(key="play_text").input("I was charged twice for my subscription").run()
    at.button(key="play_go").click().run()
    assert not at.exception and not errors(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Predicted label"]
    assert metrics["Confidence"].endswith("%") and 0 < int(metrics["Confidence"][:-1]) <= 100
    frames = _frames(at)
    top, nearest = frames[0], frames[1]
    assert list(top.columns) == ["label", "probability"] and len(top) == 3
    assert top["label"].iloc[0] == metrics["Predicted label"]
    assert list(nearest.columns) == ["text", "label", "similarity"] and len(nearest) == 3
    assert nearest["similarity"].is_monotonic_decreasing


def test_batch_prediction_of_a_file_with_download(open_model):
    at = open_model()
    content = "text,channel\nI cannot log in since the update,web\nPlease refund my order,mail\n"
    at.file_uploader(key="batch_file").set_value(("new.csv", content.encode(), "text/csv")).run()
    at.button(key="batch_go").click().run()
    assert not at.exception and not errors(at)
    frame = _frames(at)[-1]
    assert list(frame.columns) == ["id", "text", "pred", "confidence"] and len(frame) == 2
    assert frame["confidence"].between(0, 1).all()
    assert any(d.key == "batch_download" for d in at.get("download_button")), "no download"


def test_batch_prediction_names_a_wrong_column(open_model):
    at = open_model()
    at.file_uploader(key="batch_file").set_value(("x.csv", b"a,b\n1,2\n", "text/csv")).run()
    at.text_input(key="batch_text_col").input("body").run()
    at.button(key="batch_go").click().run()
    assert not at.exception
    assert any("x.csv: no column 'body'" in e for e in shown_errors(at)), shown_errors(at)
    assert any("Text column" in e for e in shown_errors(at))


def test_download_tab_offers_adapter_merged_and_the_card(open_model, trained):
    at = open_model()
    keys = {d.key for d in at.get("download_button")}
    assert "dl_adapter" in keys and "dl_merged" not in keys  # merged: built on request
    at.button(key="build_merged").click().run()
    assert not at.exception and not errors(at)
    assert "dl_merged" in {d.key for d in at.get("download_button")}
    assert (trained / "default" / "runs" / RUN / "exports" / f"{RUN}-merged.zip").exists()
    card = " ".join(c.value for c in at.code)  # shown as text: it holds user strings
    assert "shipped:all-MiniLM-L6-v2" in card and "Split id" in card and "Accuracy" in card


def test_export_zip_holds_safetensors_tokenizer_labels_and_card(trained):
    from trainer.export import export_zip

    run_dir = trained / "default" / "runs" / RUN
    with zipfile.ZipFile(io.BytesIO(export_zip(run_dir))) as zf:
        names = {Path(n).name for n in zf.namelist()}
        card = zf.read(f"{RUN}-adapter/README.md").decode()
    assert {"adapter_model.safetensors", "head.safetensors", "labels.json", "README.md"} <= names
    assert "tokenizer.json" in names
    split_id = json.loads((run_dir / "metrics.json").read_text())["split_id"]
    assert split_id in card and "tickets.csv" in card


def test_cli_predict_writes_confidence_and_export_writes_the_model(trained, tmp_path):
    runs = str(trained / "default" / "runs")
    new = tmp_path / "new.csv"
    new.write_text("text\nthe app crashes on start\nhow do I export my data\n")
    out = tmp_path / "preds.csv"
    _cli("predict", "--run", RUN, "--runs-dir", runs, "--input", str(new), "--out", str(out))
    rows = list(csv.DictReader(out.open()))
    assert [r["text"] for r in rows] == ["the app crashes on start", "how do I export my data"]
    assert all(0 < float(r["confidence"]) <= 1 for r in rows)
    _cli("export", "--run", RUN, "--runs-dir", runs, "--out", str(tmp_path / "merged"), "--merged")
    merged = tmp_path / "merged"
    assert (merged / "model.safetensors").exists() and (merged / "tokenizer.json").exists()
    labels = json.loads((merged / "labels.json").read_text())
    assert len(labels) == 13 and "Base model" in (merged / "README.md").read_text()
    again = _cli("export", "--run", RUN, "--runs-dir", runs, "--out", str(merged), check=False)
    assert again.returncode == 2 and "not empty" in again.stderr and "Traceback" not in again.stderr
    bad = _cli("predict", "--run", "nope", "--runs-dir", runs, "--input", str(new), check=False)
    assert bad.returncode == 2 and "no run 'nope'" in bad.stderr


def test_runs_page_renames_deletes_and_shows_dates(open_model, trained):
    runs_dir = trained / "default" / "runs"
    shutil.copytree(runs_dir / RUN, runs_dir / "copy")  # a second run to delete
    status = json.loads((runs_dir / "copy" / "status.json").read_text())
    (runs_dir / "copy" / "status.json").write_text(json.dumps({**status, "run_id": "copy"}))
    at = open_model("runs")
    table = _frames(at)[0]
    assert {"name", "run", "started", "state"} <= set(table.columns)
    assert table["started"].str.match(r"^\d{1,2} \w{3} \d{4} \d\d:\d\d$").all()
    options = at.selectbox(key="runs_pick").options  # as shown: "<run> · <date>"
    at.selectbox(key="runs_pick").select_index(options.index(f"copy · {table['started'][0]}"))
    at.run()
    at.text_input(key="run_name_copy").input("second try")  # in a form: sent on submit
    at.button(key="FormSubmitter:rename_run-Rename").click().run()
    assert not at.exception and not errors(at)
    assert "second try" in _frames(at)[0]["name"].tolist()
    assert any(o.startswith("second try (copy)") for o in at.selectbox(key="runs_pick").options)
    at.checkbox(key="run_delete_sure").check().run()
    at.button(key="run_delete").click().run()
    assert not at.exception and not errors(at)
    assert not (runs_dir / "copy").exists()
    assert _frames(at)[0]["run"].tolist() == [RUN]
