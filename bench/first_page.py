"""Benchmark: server start -> first page fully rendered in a real browser, ours against a blank
Streamlit page (issue 18: "a fresh clone's first page took 137 s").

Run from the repository root (needs Debian's /usr/bin/chromium and Playwright, as the e2e test):
    .venv/bin/python bench/first_page.py [--rounds 1] [--json first_page.json]

Each start runs `python -m streamlit run APP` on a free loopback port with a fresh, empty
workspace (a new user's), then a new headless-chromium page (the browser is started beforehand,
so its own start is not counted) opens the URL. "Fully rendered" means the page's widgets are
visible and Streamlit's running indicator (stStatusWidget) is gone; for ours, the
questionnaire's first widgets and its verdict. Two times per start: start -> the server answers
/_stcore/health (Python, Streamlit and the server up), and start -> fully rendered.

PEER is a one-page app written to a temp folder (st.title and four widgets): what a blank
Streamlit page costs on this machine. The order is peer, ours, then `--rounds` pairs of peer,
ours: the first of each is "cold" (truly cold only on a fresh clone or after the OS dropped its
file cache; Streamlit's own modules are cached by the peer's first start), the rest "warm" (their
median). It prints every time with the load, the ratio ours/peer (cold and warm) and the host
(CPU model, matrix units, load average). Server logs stay in a temp folder only when a start fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.cpu import host_line, load_average  # noqa: E402  (needs REPO on sys.path)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
TIMEOUT_S = 300  # per start: the issue saw 137 s; a hung start fails the run with its log

PEER_APP = """\
import streamlit as st

st.set_page_config(page_title="Peer", layout="wide")
st.title("A blank Streamlit page")
st.selectbox("Task type", ["classification", "extraction", "generation"])
st.number_input("Labelled examples you have", value=1000)
st.toggle("Tried prompting")
st.slider("Budget (kUSD)", 0, 500, 50)
"""
# What must be on screen before a page counts as rendered (CSS selectors, each visible).
PEER_READY = ("h1", '[data-testid="stSelectbox"]', '[data-testid="stSlider"]')
OURS_READY = (
    "h1",
    '[data-testid="stSidebarNavItems"]',
    '[data-testid="stTab"]',
    '[data-testid="stSelectbox"]',
    'h3:has-text("Verdict:")',
)
NO_RUNNING = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(app: Path, port: int, workspace: Path, log) -> subprocess.Popen:
    env = {**os.environ, "ADVISOR_WORKSPACE": str(workspace), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}  # fmt: skip
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false"]  # fmt: skip
    return subprocess.Popen(cmd, cwd=app.parent, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip


def wait_healthy(url: str, proc: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer /_stcore/health within {TIMEOUT_S} s")


def stop(proc: subprocess.Popen) -> None:
    """SIGINT (the user's Ctrl+C) to the server's group; SIGKILL if it lingers."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


def measure(browser, app: Path, ready: tuple[str, ...], log_path: Path) -> dict[str, float]:
    """One start: seconds to /_stcore/health and to the fully rendered page."""
    port, workspace = free_port(), Path(tempfile.mkdtemp(prefix="first-page-ws-"))
    url = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        t0 = time.monotonic()
        proc = start(app, port, workspace, log)
        try:
            wait_healthy(url, proc, t0 + TIMEOUT_S)
            healthy = time.monotonic() - t0
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            try:
                page = context.new_page()
                page.set_default_timeout(TIMEOUT_S * 1000)
                page.goto(url)
                for selector in ready:
                    page.locator(selector).first.wait_for(state="visible")
                page.wait_for_function(NO_RUNNING)
                rendered = time.monotonic() - t0
                if page.locator('[data-testid="stException"]').count():
                    raise RuntimeError(f"{app.name} rendered an exception")
            finally:
                context.close()
        except Exception:
            print(f"{log_path}:\n{log_path.read_text()[-3000:]}", file=sys.stderr)
            raise
        finally:
            stop(proc)
            shutil.rmtree(workspace, ignore_errors=True)
    return {"healthy_s": round(healthy, 2), "rendered_s": round(rendered, 2)}


def run(rounds: int) -> dict:
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="first-page-"))
    peer = tmp / "peer_app.py"
    peer.write_text(PEER_APP)
    ours = REPO / "app.py"
    starts = [("peer_cold", peer, PEER_READY), ("ours_cold", ours, OURS_READY)]
    starts += [("peer_warm", peer, PEER_READY), ("ours_warm", ours, OURS_READY)] * rounds
    out: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in starts}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            for i, (name, app, ready) in enumerate(starts):
                row = measure(browser, app, ready, tmp / f"{i:02d}-{name}.log")
                out[name].append(row)
                load = " / ".join(f"{x:.2f}" for x in load_average() or ())
                print(
                    f"{name:9s} health {row['healthy_s']:6.2f} s, rendered "
                    f"{row['rendered_s']:6.2f} s | load {load}",
                    flush=True,
                )
        finally:
            browser.close()
    shutil.rmtree(tmp, ignore_errors=True)  # reached only when every start succeeded
    return out


def summary(out: dict) -> dict:
    med = {k: statistics.median(r["rendered_s"] for r in rows) for k, rows in out.items() if rows}
    return {"median_rendered_s": med,
            "ratio_cold": round(med["ours_cold"] / med["peer_cold"], 2),
            "ratio_warm": round(med["ours_warm"] / med["peer_warm"], 2)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=1, help="warm starts per side (their median)")
    ap.add_argument("--json", type=Path, help="also write every time to this file")
    args = ap.parse_args(argv)
    if not CHROMIUM.exists():
        print("Debian's chromium is missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    print(f"host: {host_line()}", flush=True)
    out = run(max(1, args.rounds))
    s = summary(out)
    for k, v in s["median_rendered_s"].items():
        print(f"{k:9s} start -> rendered: {v:6.2f} s")
    print(f"ours/peer: cold {s['ratio_cold']:.2f}x, warm {s['ratio_warm']:.2f}x")
    print(f"host after: {host_line()}")
    if args.json:
        args.json.write_text(json.dumps({"runs": out, **s, "host": host_line()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
