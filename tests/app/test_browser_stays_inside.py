"""In a real browser (issue 11 item 7, issue 17 item 8): a label written as Markdown (an image
pointing at a beacon, a link) is shown as text, the beacon is never fetched, and the page asks no
host but the app's own for anything (fonts, icons, favicon, scripts). Every page is visited on a
fresh server with every outside request blocked and recorded; any attempt fails the test, and so
does a favicon or image whose address is on another host (Chromium may fetch a favicon outside the
page's own request events).

Runs `streamlit run app.py` on a loopback port with Debian's chromium through Playwright, like
test_e2e.py; skipped where chromium or playwright is missing.
"""

from __future__ import annotations

import http.server
import threading
from urllib.parse import urlparse

import pytest

from tests.app.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    go_to,
    streamlit_server,
    wait_idle,
)
from ui.nav import PAGES

pytestmark = pytest.mark.e2e


class _Beacon(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        _Beacon.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def beacon():
    server = http.server.HTTPServer(("127.0.0.1", free_port()), _Beacon)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Beacon.hits = []
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_no_outside_request_and_no_beacon(tmp_path, beacon):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is missing: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    image, link = f"![x]({beacon}/beacon.png)", f"[x]({beacon}/link)"
    labels = ([image] * 9 + [" " + image] + [link] * 10 + ["ok"] * 10) * 2
    rows = [f"example text number {i} about {y.strip()[:3]},{y}" for i, y in enumerate(labels)]
    data = tmp_path / "evil.csv"
    data.write_text("text,label\n" + "\n".join(rows) + "\n")
    with streamlit_server(tmp_path / "workspace", tmp_path / "server.log") as url:
        app_host = urlparse(url).netloc
        seen: list[str] = []
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page()
            page.on("request", lambda r: seen.append(r.url))
            page.set_default_timeout(60_000)
            page.goto(url)
            page.wait_for_selector("h1")
            wait_idle(page)
            nav = page.get_by_test_id("stSidebarNavItems")
            nav.get_by_role("link", name="Data & baseline", exact=True).click()
            wait_idle(page)
            page.get_by_text("Upload my own file").click()
            wait_idle(page)
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
                str(data)
            )
            page.get_by_role("button", name="Validate and make the held-out split").wait_for()
            wait_idle(page)
            page.get_by_role("button", name="Validate and make the held-out split").click()
            page.get_by_text("differ only by surrounding spaces").wait_for()
            wait_idle(page)
            page.wait_for_timeout(1500)  # time for any image the page would load
            shown = page.locator('[data-testid="stAlertContentWarning"]').all_inner_texts()
            browser.close()
    assert any(image in text for text in shown), shown  # the label is shown as written
    assert _Beacon.hits == [], _Beacon.hits
    web = [urlparse(u) for u in seen if urlparse(u).scheme in ("http", "https", "ws", "wss")]
    outside = [u.geturl() for u in web if u.netloc != app_host]
    assert outside == [], outside


# Addresses the page names in its DOM for icons and images (favicons are set by script).
_ICON_URLS = """() => [...document.querySelectorAll('link[rel*="icon"], img[src], image')]
    .map(e => e.href && e.href.baseVal !== undefined ? e.href.baseVal : (e.href || e.src || ''))"""


def _local(url: str, app_host: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("data", "blob", "") or parsed.netloc == app_host


def _visit(sync_api, url: str, first: str, click_through: bool) -> tuple[list[str], dict]:
    """Open `url`/`first` as the server's first visitor, then (when asked) every page through
    the sidebar; outside requests are blocked. Returns (attempts, outside URLs the DOM names)."""
    app_host = urlparse(url).netloc
    attempts: list[str] = []
    named: dict[str, list[str]] = {}

    def guard(route) -> None:  # the app's own host passes; anything else is refused
        if _local(route.request.url, app_host):
            route.continue_()
        else:
            attempts.append(route.request.url)
            route.abort()

    def outside_in_dom(page, title: str) -> None:
        page.wait_for_timeout(1000)  # time for a favicon or icon font to be asked for
        named[title] = [u for u in page.evaluate(_ICON_URLS) if not _local(u, app_host)]

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context()
        context.route("**/*", guard)
        context.on("request", lambda r: None if _local(r.url, app_host) else attempts.append(r.url))
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{url}/{first}")
        page.wait_for_selector("h1")
        wait_idle(page)
        outside_in_dom(page, first)
        for _, title, _ in PAGES.values() if click_through else ():
            go_to(page, title)
            outside_in_dom(page, title)
        browser.close()
    return attempts, named


def test_every_page_on_a_fresh_server_asks_no_outside_host(tmp_path):
    """Each page in ui.nav as the first visit of a fresh server (a page opened by its own URL
    runs alone once, before the app's page config: its nav icon became the favicon), then every
    page through the sidebar; outside requests blocked: none is attempted, and every favicon or
    image the DOM names is the app's own (or inline)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is missing: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    found: dict[str, tuple[list[str], dict]] = {}
    for n, (file, _, _) in enumerate(PAGES.values()):
        stem = "" if n == 0 else file.removesuffix(".py")  # the default page lives at /
        with streamlit_server(tmp_path / f"ws{n}", tmp_path / f"server{n}.log") as url:
            found[stem] = _visit(sync_api, url, stem, click_through=n == 0)
    assert len(found) == len(PAGES)
    attempts = {stem: a for stem, (a, _) in found.items() if a}
    named = {stem: {t: u for t, u in d.items() if u} for stem, (_, d) in found.items()}
    assert attempts == {}, attempts
    assert all(not d for d in named.values()), named
