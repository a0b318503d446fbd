"""Helpers for the real-browser test: start `streamlit run app.py` on a free loopback port and drive
Debian's chromium through Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
SERVERS: dict[str, subprocess.Popen] = {}  # url -> the server process (while it runs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(workspace: Path, log_path: Path, timeout_s: float = 60) -> Iterator[str]:
    """Run the app against `workspace`; yield its URL; stop it (and only it) afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "ADVISOR_WORKSPACE": str(workspace),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    with log_path.open("w") as log:
        proc = start_server(port, env, log)
        url = f"http://127.0.0.1:{port}"
        SERVERS[url] = proc
        try:
            wait_healthy(url, proc, timeout_s)
            yield url
        finally:
            SERVERS.pop(url, None)
            # The server runs in its own session: stop that group (the server and anything it
            # started, e.g. a trainer job still running after a failed test).
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)


def start_server(port: int, env: dict[str, str], log) -> subprocess.Popen:
    """`streamlit run app.py` on 127.0.0.1:`port`, in its own session, output to `log`."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true"]  # fmt: skip
    return subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def zombie_children(pid: int) -> list[int]:
    """Children of `pid` that ended but were never reaped (`<defunct>` in ps)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()
        if fields[0] == "Z" and int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"streamlit did not answer on {url} within {timeout_s} s")


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until the app has finished its current script run (the 'Running…' widget is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=timeout_ms,
    )


def set_number(page, label: str, value: float) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


def set_toggle(page, label: str, on: bool) -> None:
    box = page.get_by_label(label, exact=True)
    if box.is_checked() != on:
        page.locator('[data-testid="stCheckbox"]').filter(has_text=label).locator("label").click()
        wait_idle(page)


def choose(page, label: str, option: str) -> None:
    page.locator('[data-testid="stSelectbox"]').filter(has_text=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def go_to(page, title: str) -> None:
    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name=title, exact=True).click()
    page.wait_for_selector("h1")
    wait_idle(page)


# --- chart legibility -------------------------------------------------------------------------
# Vega draws charts on a canvas, whose text is not in the DOM. This init script records every
# fillText call (text, box in CSS pixels of its canvas, after rotation) on the canvas itself;
# a full clear starts a new frame. SVG charts are read from their <text> elements instead.
RECORD_CANVAS_TEXT = """
(() => {
  const P = CanvasRenderingContext2D.prototype;
  const fill = P.fillText, clear = P.clearRect;
  P.clearRect = function (x, y, w, h) {
    const c = this.canvas, t = this.getTransform();
    if (x <= 0 && y <= 0 && (w * t.a) >= c.width - 1 && (h * t.d) >= c.height - 1) c.__texts = [];
    return clear.apply(this, arguments);
  };
  P.fillText = function (text, x, y) {
    try {
      const c = this.canvas, t = this.getTransform(), m = this.measureText(String(text));
      const scale = c.width / (c.clientWidth || c.width);  // device pixels per CSS pixel
      const left = x - m.actualBoundingBoxLeft, right = x + m.actualBoundingBoxRight;
      const top = y - m.actualBoundingBoxAscent, bottom = y + m.actualBoundingBoxDescent;
      const pts = [[left, top], [right, top], [left, bottom], [right, bottom]].map(
        ([px, py]) => [(t.a * px + t.c * py + t.e) / scale, (t.b * px + t.d * py + t.f) / scale]);
      const xs = pts.map(p => p[0]), ys = pts.map(p => p[1]);
      const zoom = Math.hypot(t.a, t.b) / scale;
      (c.__texts = c.__texts || []).push({text: String(text), x0: Math.min(...xs),
        x1: Math.max(...xs), y0: Math.min(...ys), y1: Math.max(...ys),
        angle: Math.round(Math.atan2(t.b, t.a) * 180 / Math.PI),
        ax: (t.a * x + t.c * y + t.e) / scale, ay: (t.b * x + t.d * y + t.f) / scale,
        h: (m.actualBoundingBoxAscent + m.actualBoundingBoxDescent) * zoom});
    } catch (e) {}
    return fill.apply(this, arguments);
  };
})();
"""

READ_CHARTS = """
() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].map((el) => {
  const box = el.getBoundingClientRect();
  const canvas = el.querySelector('canvas'), svg = el.querySelector('svg.marks');
  const surface = canvas || svg;
  if (!surface) return {drawn: false, inside: true, texts: []};
  const s = surface.getBoundingClientRect();
  let texts = [];
  if (canvas) texts = canvas.__texts || [];
  // Vega keeps the labels it hides (labelOverlap) in the SVG, at opacity 0: skip those.
  const shown = (t) => {
    for (let e = t; e && e !== svg; e = e.parentElement) {
      const st = getComputedStyle(e);
      if (st.display === 'none' || st.visibility === 'hidden' || Number(st.opacity) === 0
          || Number(st.fillOpacity) === 0) return false;
    }
    return true;
  };
  if (!canvas) texts = [...svg.querySelectorAll('text')].filter(shown).map(t => {
    const r = t.getBoundingClientRect(), m = t.getCTM(), bb = t.getBBox();
    return {text: t.textContent, x0: r.left - s.left, x1: r.right - s.left,
            y0: r.top - s.top, y1: r.bottom - s.top,
            angle: Math.round(Math.atan2(m.b, m.a) * 180 / Math.PI), ax: m.e, ay: m.f,
            h: bb.height};
  });
  return {drawn: true, width: s.width, height: s.height,
          inside: s.left >= box.left - 1 && s.right <= box.right + 1,
          texts: texts.filter(t => t.text.trim())};
})
"""


def chart_texts(page) -> list[dict]:
    """For every chart on the page: {drawn, width, height, inside (not cut by its container),
    texts: [{text, x0, x1, y0, y1}] in the chart's CSS pixels}."""
    return page.evaluate(READ_CHARTS)


def legibility_problems(chart: dict, must_show: tuple[str, ...] = ()) -> list[str]:
    """What makes a drawn chart hard to read: text cut at its edges (a clipped title), labels
    shortened with '…', labels drawn over each other (squashed rows), the chart wider than its
    place on the page, and any of `must_show` (a title, every class label) not drawn whole."""
    if not chart.get("drawn"):
        return ["not drawn"]
    out = []
    if not chart["inside"]:
        out.append(f"wider than its container ({chart['width']:.0f} px)")
    texts = chart["texts"]
    for t in texts:
        # A text's box is its line box; a few pixels of it past the edge is empty space, a
        # third of the height or more is letters cut off.
        slack = max(3.0, 0.3 * (t["y1"] - t["y0"]))
        if (t["x0"] < -slack or t["x1"] > chart["width"] + slack or t["y0"] < -slack
                or t["y1"] > chart["height"] + slack):  # fmt: skip
            out.append(f"cut at the edge: {t['text']!r}")
        if t["text"].endswith("…"):
            out.append(f"shortened: {t['text']!r}")
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            if a["text"] != b["text"] and _overlap(a, b):
                out.append(f"overlap: {a['text']!r} and {b['text']!r}")
    drawn = {t["text"] for t in texts}
    out += [f"missing: {name!r}" for name in must_show if name not in drawn]
    return out


def _overlap(a: dict, b: dict) -> bool:
    """Do two drawn texts cover each other? Level text: their boxes meet. Text turned by the
    same angle (slanted axis labels): their baselines are closer than the text's height."""
    import math

    angle_a, angle_b = a.get("angle", 0), b.get("angle", 0)
    if angle_a == 0 and angle_b == 0:
        dx = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
        dy = min(a["y1"], b["y1"]) - max(a["y0"], b["y0"])
        return dx > 2 and dy > 2
    if angle_a != angle_b:
        return False  # a slanted label beside a level one: their boxes say too little
    theta = math.radians(angle_a)
    normal = (-math.sin(theta), math.cos(theta))  # across the text's baseline
    gap = abs((b["ax"] - a["ax"]) * normal[0] + (b["ay"] - a["ay"]) * normal[1])
    return gap < 0.8 * min(a["h"], b["h"])
