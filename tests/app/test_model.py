"""The Model page and the CLI behind it, on one real (tiny) trained run and on the small
classifier a real baseline run saved: the playground (label, confidence, nearest training
examples; live while typing, answers kept with their text), batch predictions that keep the
user's columns, the exports with their model cards; and the Runs page's rename / delete."""

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
from tests.app.helpers import poll, small_demo, upload_small_demo

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


def _opener(workspace, monkeypatch):
    """open_page(page) -> the app on `workspace`, at that page."""
    monkeypatch.setenv("ADVISOR_WORKSPACE", str(workspace))

    def open_page(page: str = "model") -> AppTest:
        at = AppTest.from_file(str(ENTRY), default_timeout=TIMEOUT).run()
        assert not at.exception, at.exception
        return go(at, page)

    return open_page


@pytest.fixture
def open_model(trained, monkeypatch):
    return _opener(trained, monkeypatch)


def _frames(at) -> list:
    return [d.value for d in at.dataframe]


def test_model_page_without_a_model_points_to_the_baseline_and_fine_tune(app):
    at = app("model")
    assert any("No model in this project yet" in i.value for i in at.info)


def test_playground_shows_label_confidence_and_nearest_examples(open_model):
    at = open_model()
    assert not at.button(key="play_go").disabled  # live while typing: the text goes with it
    at.text_area(key="play_text").input("I was charged twice for my subscription")
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
    frame = _frames(at)[-1]  # the user's own columns kept, the prediction added
    assert list(frame.columns) == ["text", "channel", "pred", "confidence"] and len(frame) == 2
    assert frame["channel"].tolist() == ["web", "mail"]
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


# --- the small classifier, saved by a real baseline run from the app ----------------------------


@pytest.fixture(scope="module")
def baseline_ws(tmp_path_factory) -> Path:
    """A workspace whose default project ran the baseline on the small demo from the app, so
    its job saved the chosen classifier."""
    ws = tmp_path_factory.mktemp("classifier-ws")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADVISOR_WORKSPACE", str(ws))
        at = go(AppTest.from_file(str(ENTRY), default_timeout=TIMEOUT).run(), "data")
        upload_small_demo(at)
        at.button(key="run_baseline").click().run()
        saved = lambda _: list(ws.glob("default/results/*/classifier/classifier.json"))  # noqa: E731
        poll(at, saved, 300, "the baseline and its saved classifier")
    return ws


@pytest.fixture
def open_classifier(baseline_ws, monkeypatch):
    return _opener(baseline_ws, monkeypatch)


def _results(ws: Path) -> dict:
    return json.loads(next(ws.glob("default/results/*/results.json")).read_text())


def _predicted(at) -> str | None:
    return {m.label: m.value for m in at.metric}.get("Predicted label")


def test_the_baseline_job_leaves_the_chosen_classifier_on_the_model_page(
    open_classifier, baseline_ws
):
    at = open_classifier()
    best = _results(baseline_ws)["best"]
    summary = " ".join(m.value for m in at.markdown)
    assert "Small classifier" in summary and best["name"] in summary
    assert "held-out accuracy" in summary and "measured on the saved model" in summary
    assert "model_kind" not in [r.key for r in at.radio]  # no fine-tune yet: only this one


def test_classifier_playground_is_live_validates_on_click_and_answers(open_classifier, baseline_ws):
    at = open_classifier()
    assert not at.button(key="play_go").disabled  # a first click always does something
    at.button(key="play_go").click().run()  # nothing typed: one clear line, no answer
    assert not at.exception and not errors(at)
    assert [w.value for w in at.warning] == ["Type a text first, then press Predict."]
    assert _predicted(at) is None
    at.text_area(key="play_text").input("I was charged twice for my subscription")
    at.button(key="play_go").click().run()  # typed, then one click: the text goes with it
    assert not at.exception and not errors(at) and not at.warning
    labels = _results(baseline_ws)["labels"]
    assert _predicted(at) in labels
    top, nearest = _frames(at)[0], _frames(at)[1]
    assert list(top.columns) == ["label", "probability"] and top["label"].iloc[0] == _predicted(at)
    assert list(nearest.columns) == ["text", "label", "similarity"] and len(nearest) == 3


def test_an_answer_never_shows_under_another_text_after_leaving_the_page(open_classifier):
    at = open_classifier()
    at.text_area(key="play_text").input("the app crashes when I open the invoice")
    at.button(key="play_go").click().run()
    assert _predicted(at)
    go(at, "runs")
    go(at, "model")  # back: the box is empty, so is the answer under it
    assert at.text_area(key="play_text").value == "" and _predicted(at) is None
    assert not _frames(at) or "similarity" not in _frames(at)[-1].columns
    at.text_area(key="play_text").input("how do I add a colleague to our account")
    at.run()  # typed but not yet sent: still no answer from the other ticket
    assert _predicted(at) is None


def test_classifier_batch_keeps_the_users_columns(open_classifier):
    at = open_classifier()
    content = "queue,text\nbilling,I was charged twice this month\nlogin,cannot log in at all\n"
    at.file_uploader(key="batch_file").set_value(("check.csv", content.encode(), "text/csv")).run()
    at.button(key="batch_go").click().run()
    assert not at.exception and not errors(at)
    frame = _frames(at)[-1]
    assert list(frame.columns) == ["queue", "text", "pred", "confidence"]
    assert frame["queue"].tolist() == ["billing", "login"]
    assert any(d.key == "batch_download" for d in at.get("download_button"))


def test_classifier_download_has_the_card_with_accuracy_and_licence(open_classifier, baseline_ws):
    at = open_classifier()
    assert "dl_classifier" in {d.key for d in at.get("download_button")}
    card = " ".join(c.value for c in at.code)
    meta = json.loads(
        next(baseline_ws.glob("default/results/*/classifier/classifier.json")).read_text()
    )
    assert f"{meta['held_out']['accuracy']:.3f}" in card and "apache-2.0" in card
    assert "from rag_baseline.deploy import load" in card


def test_results_from_before_models_were_kept_get_a_prepare_button(open_classifier, baseline_ws):
    folder = next(baseline_ws.glob("default/results/*/classifier"))
    shutil.move(folder, folder.with_name("classifier-kept"))
    try:
        at = open_classifier()
        assert _predicted(at) is None and "prepare_clf" in [b.key for b in at.button]
        at.button(key="prepare_clf").click().run()
        assert not at.exception and not errors(at)
        assert (folder / "classifier.json").exists() and "dl_classifier" in {
            d.key for d in at.get("download_button")
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.move(folder.with_name("classifier-kept"), folder)


def test_both_models_side_by_side_each_with_its_own_answers(
    trained, baseline_ws, tmp_path, monkeypatch
):
    ws = tmp_path / "both"
    shutil.copytree(baseline_ws, ws)
    shutil.copytree(trained / "default" / "runs", ws / "default" / "runs", dirs_exist_ok=True)
    monkeypatch.setenv("ADVISOR_WORKSPACE", str(ws))
    at = go(AppTest.from_file(str(ENTRY), default_timeout=TIMEOUT).run(), "model")
    assert at.radio(key="model_kind").options == [
        "Trial fine-tune", "Small classifier (the best baseline)"
    ]  # fmt: skip
    at.text_area(key="play_text").input("I was charged twice for my subscription")
    at.button(key="play_go").click().run()
    assert _predicted(at) and "dl_adapter" in {d.key for d in at.get("download_button")}
    at.radio(key="model_kind").set_value("classifier").run()  # the other model: its own answer
    assert not at.exception and _predicted(at) is None
    assert "dl_classifier" in {d.key for d in at.get("download_button")}


@pytest.mark.e2e
def test_in_a_browser_one_click_from_typing_answers_and_old_answers_stay_away(
    baseline_ws, tmp_path
):
    """What only a browser shows: a text area sends its value on blur or Ctrl+Enter, so a
    Predict button disabled on an empty value stayed disabled while typing. Typed, then one
    click on a first visit: the answer; away and back, a new ticket: no old answer."""
    from tests.app.browser import CHROMIUM, CHROMIUM_ARGS, go_to, streamlit_server, wait_idle

    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is missing: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with streamlit_server(baseline_ws, tmp_path / "server.log") as url:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(url + "/model")
            box = page.get_by_label("Text", exact=True)
            box.wait_for()
            wait_idle(page, 120_000)
            box.click()
            box.press_sequentially("I was charged twice for my subscription this month")
            predict = page.get_by_role("button", name="Predict")
            assert predict.is_enabled()  # still focused in the box: nothing sent yet
            predict.click()
            page.get_by_text("Predicted label").wait_for()
            go_to(page, "Runs")
            wait_idle(page)
            go_to(page, "Model")
            page.get_by_label("Text", exact=True).wait_for()
            wait_idle(page)
            page.get_by_label("Text", exact=True).press_sequentially("how do I add a colleague")
            page.get_by_text("Predict a file").click()  # the box loses focus: its value is sent
            wait_idle(page)
            page.get_by_text("Try it").click()
            assert page.get_by_text("Predicted label").count() == 0
            browser.close()
