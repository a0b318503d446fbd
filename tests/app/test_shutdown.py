"""The server stops promptly: SIGINT ends `streamlit run app.py` within 10 s even while a client
still holds a large download (a slow reader, as a browser that keeps an 83 MB export open),
and the server process leaves no unreaped child behind (issue 18).

Real server, real browser session (the app installs its signal guard on its first script run):
    .venv/bin/python -m pytest tests/app/test_shutdown.py
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import streamlit

from tests.app.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    start_server,
    wait_healthy,
    zombie_children,
)

pytestmark = pytest.mark.e2e
STOP_WITHIN_S = 10


def _largest_static_file() -> str:
    """The path (under /static) of the biggest file the server sends: larger than what the
    kernel buffers between a server and a client that stops reading."""
    root = Path(streamlit.__file__).parent / "static"
    path = max((p for p in root.rglob("*.js") if p.is_file()), key=lambda p: p.stat().st_size)
    assert path.stat().st_size > 4_300_000, "no static file large enough to stall a response"
    return "/" + path.relative_to(root).as_posix()


def _hold_a_download(port: int) -> socket.socket:
    """Start a big response and stop reading it: the server's send stalls and stays open."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fixed, small: no autotuning
    request = f"GET {_largest_static_file()} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    sock.sendall(request.encode())
    assert sock.recv(64).startswith(b"HTTP/1.1 200"), "the download did not start"
    return sock


def test_sigint_stops_the_server_promptly_with_a_download_open(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is missing: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    port = free_port()
    env = {**os.environ, "ADVISOR_WORKSPACE": str(tmp_path / "ws"), "HF_HUB_OFFLINE": "1"}
    with (tmp_path / "server.log").open("w") as log:
        proc = start_server(port, env, log)
    held = None
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc, 120)
        with sync_api.sync_playwright() as p:  # one real session: the app's first run
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url)
            page.wait_for_selector("h1", timeout=120_000)
            held = _hold_a_download(port)
            assert zombie_children(proc.pid) == []
            started = time.monotonic()
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=STOP_WITHIN_S + 20)
            except subprocess.TimeoutExpired:
                pytest.fail(f"still up {STOP_WITHIN_S + 20} s after SIGINT, a download open")
            took = time.monotonic() - started
            browser.close()
        assert took < STOP_WITHIN_S, f"SIGINT took {took:.1f} s"
    finally:
        if held is not None:
            held.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
