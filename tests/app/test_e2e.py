"""End to end in a real browser: questionnaire -> charts -> demo data -> RAG baseline -> trial
fine-tune -> the model in hand (playground, batch predictions, downloads) -> cancel and resume of
a second run -> comparison and memo -> runs -> a new project -> reload; then the same story on a
file of realistic size (2,000 tickets, 8 queues). Every chart on the way is checked for
legibility (no text cut at its edges, no label shortened or drawn over another, every class label
of the confusion matrix shown), and no finished job is left as a `<defunct>` child of the server.

Screenshots go to test-output/e2e/; with ADVISOR_SCREENSHOTS=1, small copies of the main pages
also go to docs/screenshots/ (the README's), so a plain test run leaves the tree unchanged:
    ADVISOR_SCREENSHOTS=1 .venv/bin/python -m pytest tests/app/test_e2e.py

Runs `streamlit run app.py` on a free loopback port with a temporary workspace and drives
Debian's chromium (/usr/bin/chromium; `apt-get install -y chromium`) through Playwright:
    .venv/bin/python -m pytest tests/app/test_e2e.py -m e2e
"""

from __future__ import annotations

import csv
import json
import os
import re
import time
import zipfile
from contextlib import contextmanager

import pytest

from tests.app.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    RECORD_CANVAS_TEXT,
    REPO,
    SERVERS,
    chart_texts,
    choose,
    go_to,
    legibility_problems,
    set_number,
    set_toggle,
    streamlit_server,
    wait_idle,
    zombie_children,
)
from tests.app.helpers import realistic_tickets, small_demo

pytestmark = pytest.mark.e2e
OUT = REPO / "test-output" / "e2e"
DOCS = REPO / "docs" / "screenshots"
VIEWPORT = {"width": 1400, "height": 2000}  # tall: Streamlit scrolls inside the page
DOC_SIZE = {"x": 0, "y": 0, "width": 1400, "height": 1150}  # what docs/screenshots keeps
SCREENSHOTS = os.environ.get("ADVISOR_SCREENSHOTS") == "1"  # refresh docs/screenshots


@pytest.fixture(scope="module")
def playwright():
    """One Playwright per module: its sync API cannot be nested, and both walks need it."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is missing: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        yield p


@contextmanager
def _walk(playwright, workspace, name: str):
    """(page, workspace, URL) of a fresh server on `workspace`, for one walk."""
    with streamlit_server(workspace, OUT / f"{name}-server.log") as url:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
            page.add_init_script(RECORD_CANVAS_TEXT)  # chart text, for legibility checks
            page.set_default_timeout(60_000)
            page.goto(url)
            page.wait_for_selector("h1")
            wait_idle(page)
            yield page, workspace, url
        finally:
            browser.close()


@pytest.fixture(scope="module")
def browser_page(playwright, tmp_path_factory):
    with _walk(playwright, tmp_path_factory.mktemp("demo"), "demo") as opened:
        yield opened


def shot(page, name: str, doc: str | None = None) -> None:
    """A full screenshot for the test's output; with `doc` and ADVISOR_SCREENSHOTS=1, a small
    PNG in docs/screenshots (the README's)."""
    page.screenshot(path=str(OUT / f"{name}.png"))
    if doc and SCREENSHOTS:
        from PIL import Image

        DOCS.mkdir(parents=True, exist_ok=True)
        path = DOCS / f"{doc}.png"
        page.screenshot(path=str(path), clip=DOC_SIZE)
        with Image.open(path) as img:  # a 128-colour palette: a quarter of the bytes
            small = img.convert("RGB").resize((1050, 862)).quantize(colors=128)
        small.save(path, optimize=True)


def selected(page, label: str) -> str:
    """The value a selectbox shows (it sits in the combobox's input, not in its text)."""
    return page.get_by_role("combobox", name=label, exact=True).input_value()


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def no_error(page) -> None:
    """No error on the page but the override's warning, which stays by design."""
    found = page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
    found = [t for t in found if "Trained against the advisor's verdict" not in t]
    assert not found, found


def assert_charts_legible(page, labels: tuple[str, ...] = ()) -> int:
    """Every chart on the page is drawn and readable (see browser.legibility_problems); the
    confusion matrix shows its title and each of `labels`. Returns the number of charts."""
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    page.wait_for_timeout(1500)  # the last chart's first frame
    found = chart_texts(page)
    assert found and len(found) == charts.count()
    problems = {}
    for i, chart in enumerate(found):
        drawn = [t["text"] for t in chart.get("texts", [])]
        must = ("Confusion matrix", *labels) if "Confusion matrix" in drawn else ()
        bad = legibility_problems(chart, must)
        if bad:
            problems[f"chart {i} ({' '.join(drawn[:4])[:40]})"] = bad[:6]
    if problems:  # what the check read and what the user would see, for the report
        n = len(list(OUT.glob("legibility-*.json")))
        (OUT / f"legibility-{n}.json").write_text(json.dumps(found, indent=1))
        for i in range(len(found)):
            charts.nth(i).screenshot(path=str(OUT / f"legibility-{n}-chart{i}.png"))
    assert not problems, problems
    return len(found)


def assert_no_zombie(url: str) -> None:
    """No finished child (a trainer job) left unreaped under the server."""
    pid = SERVERS[url].pid
    for _ in range(20):  # the launcher's reaper collects it as soon as the job ends
        if not zombie_children(pid):
            return
        time.sleep(0.5)
    raise AssertionError(f"<defunct> children under the server: {zombie_children(pid)}")


def test_full_flow_in_a_browser(browser_page):
    page, workspace, url = browser_page
    _questionnaire(page)
    _costs(page)
    _baseline(page)
    run_id = _fine_tune(page, workspace)
    assert_no_zombie(url)
    _model(page)
    _cancel_and_resume(page, workspace, run_id)
    _compare(page)
    _runs(page, run_id)
    _new_project(page, workspace)
    _survives_reload(page)
    log = (OUT / "demo-server.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    assert "default value" not in log, log[-3000:]  # the widget-state warning (project_select)


def _questionnaire(page) -> None:
    assert page.locator("h3").first.inner_text().startswith("Verdict: ")  # one from the start
    choose(page, "Stage", "production")
    choose(page, "Information changes", "yearly")
    set_number(page, "Labelled examples you have", 5000)
    page.get_by_role("tab", name="What you know so far").click()
    for label in ("Tried prompting", "Tried RAG", "Private infrastructure", "Strict format"):
        set_toggle(page, label, True)
    page.get_by_role("tab", name="Volume and money").click()
    set_number(page, "Monthly volume (items/month)", 20000)
    set_number(page, "Human time per item (minutes)", 4.0)
    set_number(page, "Total budget (USD)", -5)
    assert "total_budget_usd" in page.locator('[data-testid="stAlertContentError"]').inner_text()
    set_number(page, "Total budget (USD)", 150000)
    # These answers leave prompting behind (fine-tuning, or the small classifier first while
    # the accuracy is a guess); the Fine-tune page follows whichever verdict stands.
    page.get_by_text(re.compile(r"^Verdict: (Fine-tune a model|.*classifier)")).first.wait_for()
    wait_idle(page)
    no_error(page)
    no_exception(page)
    shot(page, "01-questionnaire", doc="questionnaire")


def _costs(page) -> None:
    go_to(page, "Costs & ROI")
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    charts.nth(2).wait_for()
    assert charts.count() >= 3
    page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg')\
        .first.wait_for()  # fmt: skip
    assert page.get_by_text("break-even", exact=False).count() >= 1
    no_exception(page)
    assert_charts_legible(page)
    shot(page, "02-costs", doc="costs")


def _baseline(page, data: bytes | None = None, name: str = "tickets.csv") -> None:
    """Upload `data` (the small demo by default), validate, run the baseline, check its page."""
    data = small_demo() if data is None else data
    labels = tuple(sorted({r["category"] for r in csv.DictReader(data.decode().splitlines())}))
    go_to(page, "Data & baseline")
    validate = page.get_by_role("button", name="Validate and make the held-out split")
    radio = page.locator('[data-testid="stRadio"] label')
    # A new project has no data chosen: no demo selected, nothing to validate yet.
    page.get_by_text("Choose the built-in demo or upload").wait_for()
    assert validate.count() == 0
    radio.filter(has_text="Built-in demo").click()
    validate.wait_for()
    # Choosing to upload drops the demo at once: nothing to validate until the file is in.
    radio.filter(has_text="Upload my own file").click()
    wait_idle(page)
    assert validate.count() == 0
    path = OUT / name
    path.write_bytes(data)
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="training file")
    uploader.locator("input[type=file]").set_input_files(str(path))
    validate.wait_for()
    wait_idle(page)
    assert selected(page, "Training file").startswith(name.split(".")[0])  # the new file
    assert (selected(page, "Text column"), selected(page, "Label column")) == ("text", "category")
    validate.click()
    page.get_by_text("held-out examples, classification").wait_for()
    page.get_by_role("button", name="Run the RAG baseline").click()
    page.locator('[data-testid="stProgress"]').wait_for(timeout=30_000)
    shot(page, "03-baseline-progress")
    # st.dataframe draws on a canvas: its cells are in the DOM but hidden, so wait for "attached".
    done = page.get_by_text("RAG baseline (kNN retrieval)").or_(
        page.locator('[data-testid="stAlertContentError"]')
    )
    done.first.wait_for(state="attached", timeout=300_000)
    no_error(page)
    page.locator('[data-testid="stVegaLiteChart"]').nth(1).wait_for()  # intervals, confusion
    page.get_by_text("new texts per second").wait_for()  # the items/s figure, explained
    wait_idle(page)
    no_exception(page)
    assert_charts_legible(page, labels)
    shot(page, "04-baseline-results", doc="data-baseline")


def _launch(page, max_steps: int, batch: int) -> None:
    set_number(page, "Max steps (0 = no limit)", max_steps)
    set_number(page, "Batch size", batch)
    page.get_by_role("button", name="Launch trial fine-tune").click()
    wait_idle(page)
    page.locator('[data-testid="stProgress"]').wait_for(timeout=30_000)


def _unlock(page) -> None:
    """Pass the gate: justified, or the visible override (which then says it is unlocked)."""
    gate = page.get_by_text("Fine-tuning is justified").or_(page.get_by_text("Launching is locked"))
    gate.first.wait_for()
    if page.get_by_text("Launching is locked").count():
        page.locator('[data-testid="stCheckbox"]').filter(has_text="Override").locator(
            "label"
        ).click()
        wait_idle(page)
        page.get_by_text("Launch unlocked by your override").wait_for()
        assert page.get_by_text("Launching is locked").count() == 0


def _fine_tune(page, workspace, project: str = "default", steps: int = 12) -> str:
    go_to(page, "Fine-tune")
    _unlock(page)
    page.get_by_text("Advanced: epochs, learning rate, LoRA rank").click()
    page.get_by_label("LoRA rank", exact=True).wait_for()
    _launch(page, steps, 32)
    # One trial at a time: Launch is disabled while this one goes.
    assert page.get_by_role("button", name="Launch trial fine-tune").is_disabled()
    shot(page, "05-fine-tune-running")
    seen = _watch_status(page, r"^(completed|failed|cancelled|interrupted)", 400)
    # An ETA from the first report on: every running status line after launch gave one.
    running = [t for t in seen if t.startswith("running")]
    assert running and not [t for t in running if "ETA" not in t], (running, seen)
    end = page.get_by_text(re.compile(r"^(completed|failed|cancelled|interrupted)"))
    end.first.wait_for(timeout=60_000)
    wait_idle(page)
    assert end.first.inner_text().startswith("completed"), end.first.inner_text()
    page.get_by_text("Held-out accuracy").first.wait_for()
    page.get_by_text("predicted before launch").first.wait_for(state="attached")
    loss_chart = page.locator('[data-testid="stVegaLiteChart"]')
    loss_chart.first.wait_for(timeout=60_000)
    for _ in range(20):  # the poller's last frame may linger while the page reruns once
        if loss_chart.count() == 1:
            break
        page.wait_for_timeout(500)
    assert loss_chart.count() == 1  # one loss chart
    no_error(page)
    no_exception(page)
    assert_charts_legible(page)
    shot(page, "06-fine-tune-done", doc="fine-tune")
    runs = [p.parent.name for p in (workspace / project / "runs").glob("*/config.json")]
    assert len(runs) == 1, runs
    assert (workspace / project / "runs" / runs[0] / "prediction.json").exists()
    return runs[0]


def _model(page) -> None:
    go_to(page, "Model")
    box = page.get_by_label("Text", exact=True)
    box.fill("I was charged twice for my subscription this month")
    box.press("Control+Enter")
    wait_idle(page)
    page.get_by_role("button", name="Predict", exact=True).click()
    page.get_by_text("Predicted label").wait_for(timeout=120_000)
    page.get_by_text("Nearest training examples").wait_for()
    confidence = page.locator('[data-testid="stMetric"]').filter(has_text="Confidence")
    assert re.search(r"\d+%", confidence.inner_text()), confidence.inner_text()
    wait_idle(page)
    no_exception(page)
    shot(page, "09-model-playground", doc="model")

    page.get_by_role("tab", name="Predict a file").click()
    batch = OUT / "batch.csv"
    batch.write_text("text\nthe app crashes when I open it\nplease cancel my plan\n")
    page.locator('[data-testid="stFileUploader"] input[type=file]').set_input_files(str(batch))
    wait_idle(page)
    page.get_by_role("button", name="Predict every row").click()
    page.get_by_text("2 predictions for batch.csv").wait_for(timeout=60_000)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download predictions (CSV)").click()
    out = OUT / "batch-predictions.csv"
    info.value.save_as(str(out))
    wait_idle(page)
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2 and all(0 < float(r["confidence"]) <= 1 for r in rows)

    page.get_by_role("tab", name="Download").click()
    with page.expect_download(timeout=120_000) as info:
        page.get_by_role("button", name=re.compile(r"^Download adapter \(\.zip")).click()
    zpath = OUT / "adapter.zip"
    info.value.save_as(str(zpath))
    with zipfile.ZipFile(zpath) as zf:
        names = [n.split("/")[-1] for n in zf.namelist()]
    assert {"adapter_model.safetensors", "README.md", "labels.json", "tokenizer.json"} <= set(names)
    no_exception(page)


def _status_text(page) -> str:
    return page.locator('[data-testid="stProgress"]').first.inner_text()


def _cancel_and_resume(page, workspace, first_run: str) -> None:
    go_to(page, "Fine-tune")
    page.get_by_text("Advanced: epochs, learning rate, LoRA rank").click()
    set_number(page, "Epochs", 10)  # 32 steps an epoch at batch 8: max steps decides
    _launch(page, 300, 8)
    for _ in range(120):  # the page shows the first run's status until the new one is made
        runs = {p.parent.name for p in (workspace / "default" / "runs").glob("*/config.json")}
        if runs - {first_run}:
            break
        page.wait_for_timeout(500)
    (run_id,) = runs - {first_run}
    wait_status(page, r"^running \(training\) · step [1-9]\d+ of 300", 180)  # a loss point
    page.get_by_role("button", name="Cancel", exact=True, disabled=False).first.click()
    page.get_by_text("The checkpoint of step").first.wait_for(timeout=120_000)
    wait_idle(page)
    # The view stays on this run; the cancel is information, not an error; one loss chart.
    assert run_id in selected(page, "Training run")
    message = page.locator('[data-testid="stAlertContentInfo"]').filter(has_text="Cancelled")
    text = message.inner_text()
    assert re.search(r"Cancelled at step (\d+) of 300", text), text
    step = int(re.search(r"step (\d+) of 300", text).group(1))
    assert _status_text(page).startswith("cancelled")
    assert "python -m trainer" not in page.content()
    no_error(page)
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    charts.first.wait_for(timeout=60_000)  # drawn after the rerun settles; slow under load
    for _ in range(60):  # a status fragment's rerun can show the old chart beside the new one
        if charts.count() == 1:  # for a moment (seen once in about ten walks)
            break
        page.wait_for_timeout(500)
    assert charts.count() == 1
    status = (workspace / "default" / "runs" / run_id / "status.json").read_text()
    assert f'"step": {step}' in status
    checkpoints = (workspace / "default" / "runs" / run_id / "checkpoints").glob("step-*")
    assert step in [int(p.name.split("-")[1]) for p in checkpoints]
    shot(page, "10-fine-tune-cancelled", doc="fine-tune-cancelled")

    page.get_by_role("button", name="Resume", exact=True, disabled=False).first.click()
    # It continues from the checkpoint (on a quiet machine it may finish before we look again).
    resumed = wait_status(page, r"^(running|completed)", 120)
    assert run_id in selected(page, "Training run")
    if resumed.startswith("running"):
        page.get_by_role(
            "button", name="Cancel", exact=True, disabled=False
        ).first.click()  # leave nothing behind
        final = wait_status(page, r"^(cancelled|completed)", 120)
    else:
        final = resumed
    wait_idle(page)
    assert run_id in selected(page, "Training run")
    assert not final.startswith("cancelled") or page.get_by_text("The checkpoint of step").count()
    no_error(page)
    no_exception(page)


def _watch_status(page, pattern: str, timeout_s: float) -> list[str]:
    """Every distinct progress text shown until one matches `pattern` (that one last)."""
    seen: list[str] = []
    for _ in range(int(timeout_s * 2)):
        bars = page.locator('[data-testid="stProgress"]')
        text = bars.first.inner_text() if bars.count() else ""
        if text and (not seen or seen[-1] != text):
            seen.append(text)
        if re.match(pattern, text):
            return seen
        page.wait_for_timeout(500)
    raise AssertionError(f"status never matched {pattern!r}: {seen[-3:]!r}")


def wait_status(page, pattern: str, timeout_s: float) -> str:
    """Poll the run's progress text until it matches `pattern`; return it."""
    for _ in range(int(timeout_s * 2)):
        text = _status_text(page)
        if re.match(pattern, text):
            return text
        page.wait_for_timeout(500)
    raise AssertionError(f"status never matched {pattern!r}: {text!r}")


def _compare(page) -> None:
    go_to(page, "Compare")
    page.get_by_text("Decision memo").wait_for(timeout=60_000)
    assert page.get_by_text("McNemar").count() >= 1
    no_exception(page)
    assert_charts_legible(page)
    shot(page, "07-compare", doc="compare")
    for label, suffix in (("Download memo (HTML)", "html"), ("Download memo (Markdown)", "md")):
        with page.expect_download() as info:
            page.get_by_role("button", name=label).click()
        path = OUT / f"decision-memo.{suffix}"
        info.value.save_as(str(path))
        text = path.read_text()
        assert "Decision memo" in text and "McNemar" in text and "RAG baseline" in text


def _runs(page, run_id: str) -> None:
    go_to(page, "Runs")
    page.get_by_text("Fine-tune runs").wait_for()
    # Table cells live in a hidden accessibility layer of the canvas grid: wait for "attached".
    page.get_by_text(run_id).first.wait_for(state="attached")
    page.get_by_text("completed", exact=True).first.wait_for(state="attached")
    page.get_by_text("RAG baseline results").wait_for()
    wait_idle(page)
    no_exception(page)
    shot(page, "08-runs", doc="runs")


def _new_project(page, workspace) -> None:
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("New project").click()
    sidebar.get_by_label("Name").fill("claims-routing")
    sidebar.get_by_label("Name").press("Enter")
    wait_idle(page)
    for _ in range(3):  # a click that lands while a rerun is still drawing can be dropped
        sidebar.get_by_role("button", name="Create").click()
        wait_idle(page)
        page.wait_for_timeout(1000)
        if selected(page, "Project") == "claims-routing":
            break
    shot(page, "11-new-project")
    assert selected(page, "Project") == "claims-routing"
    go_to(page, "Data & baseline")
    page.get_by_text("Choose the built-in demo or upload").wait_for()
    assert (workspace / "claims-routing").is_dir()
    no_exception(page)


def _survives_reload(page) -> None:
    page.reload()
    page.wait_for_selector("h1")
    wait_idle(page)
    assert selected(page, "Project") == "claims-routing"  # the project in use comes back
    go_to(page, "Questionnaire")
    no_exception(page)


def test_a_realistic_file_in_a_browser(playwright, tmp_path_factory):
    """The story on 2,000 tickets in 8 queues (the size a business brings): baseline, every
    chart legible with all 8 queue names, a trial run, the comparison and the Runs page."""
    workspace = tmp_path_factory.mktemp("realistic")
    with _walk(playwright, workspace, "realistic") as (page, workspace, url):
        _baseline(page, realistic_tickets(), "realistic.csv")
        go_to(page, "Costs & ROI")
        page.locator('[data-testid="stVegaLiteChart"]').nth(2).wait_for()
        assert_charts_legible(page)
        _fine_tune(page, workspace, steps=12)
        assert_no_zombie(url)
        go_to(page, "Compare")
        page.get_by_text("Decision memo").wait_for(timeout=60_000)
        no_exception(page)
        assert_charts_legible(page)
        shot(page, "12-compare-realistic")
        go_to(page, "Runs")
        page.get_by_text("RAG baseline results").wait_for()
        for column in ("TF-IDF", "best (by CV)"):  # every baseline method, and the named best
            page.get_by_text(column, exact=True).first.wait_for(state="attached")
        no_exception(page)
        log = (OUT / "realistic-server.log").read_text()
        assert "Traceback" not in log, log[-3000:]
