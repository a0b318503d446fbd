"""End to end in a real browser: questionnaire -> charts -> demo data -> RAG baseline -> trial
fine-tune -> comparison -> decision memo. Screenshots go to test-output/e2e/.

Runs `streamlit run app.py` on a free loopback port with a temporary workspace and drives
Debian's chromium (/usr/bin/chromium; `apt-get install -y chromium`) through Playwright.
"""

from __future__ import annotations

import re

import pytest

from tests.app.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    choose,
    go_to,
    set_number,
    set_toggle,
    streamlit_server,
    wait_idle,
)

pytestmark = pytest.mark.e2e
OUT = REPO / "test-output" / "e2e"
VIEWPORT = {"width": 1400, "height": 2000}  # tall: Streamlit scrolls inside the page


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is missing: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    OUT.mkdir(parents=True, exist_ok=True)
    workspace = tmp_path_factory.mktemp("workspace")
    with streamlit_server(workspace, OUT / "server.log") as url:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
            page.set_default_timeout(60_000)
            page.goto(url)
            page.wait_for_selector("h1")
            wait_idle(page)
            yield page, workspace
            browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(OUT / f"{name}.png"))


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def test_full_flow_in_a_browser(browser_page):
    page, workspace = browser_page
    _questionnaire(page)
    _costs(page)
    _baseline(page)
    run_id = _fine_tune(page, workspace)
    _compare(page, run_id)
    _runs(page, run_id)
    _survives_reload(page)


def _questionnaire(page) -> None:
    assert "Verdict: Stay with prompting" in page.locator("h3").first.inner_text()
    choose(page, "Stage", "production")
    choose(page, "Information changes", "yearly")
    set_number(page, "Labelled examples", 5000)
    page.get_by_role("tab", name="What you know so far").click()
    for label in ("Tried prompting", "Tried RAG", "Private infrastructure", "Strict format"):
        set_toggle(page, label, True)
    page.get_by_role("tab", name="Volume and money").click()
    set_number(page, "Monthly volume (items/month)", 20000)
    set_number(page, "Human time per item (minutes)", 4.0)
    set_number(page, "Total budget (USD)", -5)
    assert "total_budget_usd" in page.locator('[data-testid="stAlertContentError"]').inner_text()
    set_number(page, "Total budget (USD)", 150000)
    page.get_by_text("Verdict: Fine-tune a model").wait_for()
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    no_exception(page)
    shot(page, "01-questionnaire")


def _costs(page) -> None:
    go_to(page, "Costs & ROI")
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    charts.nth(2).wait_for()
    assert charts.count() == 3
    page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg')\
        .first.wait_for()  # fmt: skip
    assert page.get_by_text("break-even", exact=False).count() >= 1
    no_exception(page)
    shot(page, "02-costs")


def _baseline(page) -> None:
    go_to(page, "Data & baseline")
    page.get_by_text("Built-in demo").wait_for()
    page.get_by_role("button", name="Validate and make the held-out split").click()
    page.get_by_text("held-out examples, classification").wait_for()
    page.get_by_role("button", name="Run the RAG baseline").click()
    page.locator('[data-testid="stProgress"]').wait_for(timeout=30_000)
    shot(page, "03-baseline-progress")
    # st.dataframe draws on a canvas: its cells are in the DOM but hidden, so wait for "attached".
    page.get_by_text("RAG baseline (kNN retrieval)").first.wait_for(
        state="attached", timeout=240_000
    )
    page.locator('[data-testid="stVegaLiteChart"]').nth(1).wait_for()  # intervals, confusion
    wait_idle(page)
    no_exception(page)
    shot(page, "04-baseline-results")


def _fine_tune(page, workspace) -> str:
    go_to(page, "Fine-tune")
    page.get_by_text("Fine-tuning is justified").wait_for()
    set_number(page, "Max steps (0 = no limit)", 6)
    page.get_by_role("button", name="Launch trial fine-tune").click()
    wait_idle(page)
    page.locator('[data-testid="stProgress"]').wait_for(timeout=30_000)
    shot(page, "05-fine-tune-running")
    end = page.get_by_text(re.compile(r"^(completed|failed|cancelled|interrupted)"))
    end.first.wait_for(timeout=240_000)
    wait_idle(page)
    assert end.first.inner_text().startswith("completed"), end.first.inner_text()
    page.get_by_text("Held-out accuracy").wait_for()
    no_exception(page)
    shot(page, "06-fine-tune-done")
    runs = [p.parent.name for p in (workspace / "default" / "runs").glob("*/config.json")]
    assert len(runs) == 1, runs
    return runs[0]


def _compare(page, run_id: str) -> None:
    go_to(page, "Compare")
    page.get_by_text("Decision memo").wait_for(timeout=60_000)
    assert page.get_by_text("McNemar").count() >= 1
    no_exception(page)
    shot(page, "07-compare")
    for label, suffix in (("Download memo (HTML)", "html"), ("Download memo (Markdown)", "md")):
        with page.expect_download() as info:
            page.get_by_role("button", name=label).click()
        path = OUT / f"decision-memo.{suffix}"
        info.value.save_as(str(path))
        text = path.read_text()
        assert "Decision memo" in text and "McNemar" in text and "RAG baseline" in text
        assert "Assumptions" in text
    html = (OUT / "decision-memo.html").read_text()
    assert html.count("<svg") == 2


def _runs(page, run_id: str) -> None:
    go_to(page, "Runs")
    page.get_by_text("Fine-tune runs").wait_for()
    # Table cells live in a hidden accessibility layer of the canvas grid: wait for "attached".
    page.get_by_text(run_id).first.wait_for(state="attached")
    page.get_by_text("completed", exact=True).first.wait_for(state="attached")
    page.get_by_text("RAG baseline results").wait_for()
    wait_idle(page)
    no_exception(page)
    shot(page, "08-runs")


def _survives_reload(page) -> None:
    page.reload()
    page.wait_for_selector("h1")
    wait_idle(page)
    page.get_by_text("Fine-tune runs").wait_for()
    go_to(page, "Questionnaire")
    page.get_by_text("Verdict: Fine-tune a model").wait_for()
    no_exception(page)
