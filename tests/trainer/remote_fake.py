"""A fake Ray dashboard for the remote tests: Python's http.server on 127.0.0.1 speaking the part
of Ray's Jobs REST API the launcher uses, with the job's state and log set by the test, and ways
to misbehave: a hostile log, a gzip bomb, a reply that never comes, and vanishing."""

from __future__ import annotations

import functools
import json
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeDashboard:
    """`with FakeDashboard() as fake: fake.address`; set `fake.status`, `fake.log`, `fake.mode`
    ("ok", "stall", "bomb")."""

    def __init__(self, resources: dict[str, float] | None = None) -> None:
        self.status = "RUNNING"
        self.message = ""
        self.log = ""
        self.mode = "ok"
        self.times = (1_000_000.0, 1_036_000.0)  # Ray's start/end, ms
        self.resources = resources or {"CPU": 4.0}
        self.submitted: list[dict[str, Any]] = []
        self.stopped: list[str] = []
        self.uploads: dict[str, bytes] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.address = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeDashboard:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.vanish()

    def vanish(self) -> None:
        """Stop answering: the port closes (as a cluster that went away)."""
        if self._thread is not None:
            self.server.shutdown()
            self.server.server_close()
            self._thread = None

    def job_id(self) -> str:
        return self.submitted[-1]["submission_id"]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _send(self, code: int, body: bytes, headers: dict | None = None) -> None:
                self.send_response(code)
                for k, v in (headers or {"Content-Type": "application/json"}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _json(self, obj: Any, code: int = 200) -> None:
                self._send(code, json.dumps(obj).encode())

            def do_GET(self) -> None:
                p = self.path
                if p == "/api/version":
                    return self._json({"version": "4", "ray_version": "2.60.0"})
                if p.startswith("/api/v0/nodes"):
                    node = {"state": "ALIVE", "node_ip": "127.0.0.1"}
                    node["resources_total"] = fake.resources
                    return self._json({"data": {"result": {"result": [node]}}})
                if p.startswith("/api/packages/"):
                    name = p.rsplit("/", 1)[1]
                    return self._send(200 if name in fake.uploads else 404, b"")
                if p.endswith("/logs"):
                    return self._logs()
                if p.startswith("/api/jobs/"):
                    start, end = fake.times
                    return self._json(
                        {
                            "status": fake.status,
                            "message": fake.message,
                            "submission_id": p.rsplit("/", 1)[1],
                            "start_time": start,
                            "end_time": end if fake.status in ("SUCCEEDED", "FAILED") else None,
                        }
                    )
                self._send(404, b"not here")

            def _logs(self) -> None:
                if fake.mode == "stall":
                    time.sleep(120)  # the client's timeout must end this, not us
                    return
                if fake.mode == "bomb":
                    return self._send(200, gzip_bomb(), {"Content-Encoding": "gzip"})
                self._json({"logs": fake.log})

            def do_PUT(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                fake.uploads[self.path.rsplit("/", 1)[1]] = self.rfile.read(size)
                self._send(200, b"")

            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(size) or b"{}")
                if self.path == "/api/jobs/":
                    fake.submitted.append(body)
                    fake.status = "PENDING"
                    return self._json({"submission_id": body["submission_id"]})
                if self.path.endswith("/stop"):
                    fake.stopped.append(self.path.split("/")[3])
                    fake.status = "STOPPED"
                    return self._json({"stopped": True})
                self._send(404, b"not here")

        return Handler


@functools.cache
def gzip_bomb(inflated_mb: int = 300) -> bytes:
    """A gzip body of ~0.3 MB that inflates to `inflated_mb` MB of JSON (built in pieces)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    parts = [z.compress(b'{"logs": "')]
    piece = b"A" * (1 << 20)
    parts += [z.compress(piece) for _ in range(inflated_mb)]
    parts.append(z.compress(b'"}') + z.flush())
    return b"".join(parts)
