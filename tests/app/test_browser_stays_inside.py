"""In a real browser (issue 11 item 7): a label written as Markdown (an image pointing at a
beacon, a link) is shown as text, the beacon is never fetched, and the page asks no host but the
app's own for anything (fonts, icons, favicon, scripts).

Runs `streamlit run app.py` on a loopback port with Debian's chromium through Playwright, like
test_e2e.py; skipped where chromium or playwright is missing.
"""

from __future__ import annotations

import http.server
import threading
from urllib.parse import urlparse

import pytest

from tests.app.browser import CHROMIUM, CHROMIUM_ARGS, free_port, streamlit_server, wait_idle

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
