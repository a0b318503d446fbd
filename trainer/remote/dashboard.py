"""Ray's dashboard over HTTP, with a timeout on every call and a cap on every reply. No Ray.

Ray's own SDK (`ray.job_submission.JobSubmissionClient`) sets no timeout (a host that accepts
the connection and never answers hangs the caller) and lets `requests` inflate any gzip reply
(306 KB became 1.3 GB). This client speaks the same REST API with urllib:

    d = Dashboard("http://127.0.0.1:8265", timeout_s=10)
    d.get_json("/api/version")                       # JSON, at most JSON_CAP bytes
    d.put_package(zip_bytes)                         # the job's working_dir -> gcs://...zip
    d.post_json("/api/jobs/", {...})                 # submit
    d.job_logs("JOB")                                # the whole log, at most max_log_bytes()

A reply is read in pieces against a byte cap and an overall deadline; a compressed one is
inflated in pieces against the same cap. Every failure is a ClusterError with one line.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.request
import zlib
from typing import Any

from trainer.remote.spec import ClusterError

JSON_CAP = 4 * 1024 * 1024
READ_PIECE = 64 * 1024
SLOW_GRACE_S = 15.0  # then a reply must average MIN_RATE bytes/s
MIN_RATE = 64 * 1024
DEFAULT_LOG_MB = 256  # the job's log carries the results; TRAINER_MAX_LOG_MB overrides it


def max_log_bytes() -> int:
    try:
        mb = float(os.environ.get("TRAINER_MAX_LOG_MB", DEFAULT_LOG_MB))
    except ValueError:
        mb = DEFAULT_LOG_MB
    return int(max(mb, 0.001) * 1024 * 1024)


class TooLarge(ClusterError):
    """A reply bigger than its cap."""


class Dashboard:
    def __init__(self, base: str, timeout_s: float = 10.0) -> None:
        self.base = base.rstrip("/")
        self.timeout_s = timeout_s

    # --- the calls ------------------------------------------------------------------------

    def get_json(self, path: str, cap: int = JSON_CAP, deadline_s: float | None = None) -> Any:
        return _json(self.request("GET", path, cap=cap, deadline_s=deadline_s), path)

    def post_json(self, path: str, body: dict[str, Any], cap: int = JSON_CAP) -> Any:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        return _json(self.request("POST", path, data=data, headers=headers, cap=cap), path)

    def job_logs(self, job_id: str) -> str:
        cap = max_log_bytes()
        reply = self.get_json(f"/api/jobs/{job_id}/logs", cap=cap, deadline_s=600)
        logs = reply.get("logs") if isinstance(reply, dict) else None
        if not isinstance(logs, str):
            raise ClusterError(f"cluster: the log of job {job_id} is not text")
        return logs

    def put_package(self, data: bytes) -> str:
        """Upload a working_dir zip (as Ray's SDK names it: content-addressed); its URI."""
        name = f"_ray_pkg_{hashlib.sha1(data).hexdigest()}.zip"
        path = f"/api/packages/gcs/{name}"
        status, _ = self.request("GET", path, ok=(200, 404))
        if status == 404:
            self.request("PUT", path, data=data, deadline_s=max(60.0, len(data) / 1e6))
        return f"gcs://{name}"

    # --- plumbing -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        cap: int = JSON_CAP,
        deadline_s: float | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> tuple[int, bytes]:
        """(status, body); ClusterError for no answer, a status not in `ok`, or a body over
        `cap` bytes (after inflating)."""
        url = self.base + path
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept-Encoding", "identity")  # a compressed reply is still capped
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        deadline = time.monotonic() + (deadline_s or self.timeout_s * 3)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                body = _read(resp, cap, deadline, url)
                return resp.status, body
        except urllib.error.HTTPError as exc:
            if exc.code in ok:
                return exc.code, b""
            detail = _read(exc, 2000, deadline, url, strict=False).decode(errors="replace")
            raise ClusterError(
                f"cluster: {method} {url} answered {exc.code}: {_one_line(detail) or exc.reason}"
            ) from None
        except ClusterError:
            raise
        except (OSError, ValueError, urllib.error.URLError) as exc:
            raise ClusterError(self.unreachable(exc)) from None

    def unreachable(self, exc: BaseException) -> str:
        return (
            f"cluster: no Ray dashboard answers at {self.base} ({_one_line(exc)}); check the "
            "address and port (the dashboard's default is 8265). A head on this machine: "
            "`python -m trainer.remote.head`; on another machine: an SSH tunnel "
            "(`ssh -L 8265:127.0.0.1:8265 HOST`) or `kubectl port-forward`, then "
            "http://127.0.0.1:8265"
        )


def _read(resp: Any, cap: int, deadline: float, url: str, strict: bool = True) -> bytes:
    """The body in pieces, inflated when the server compressed it anyway, never past `cap`
    bytes nor past `deadline`; after SLOW_GRACE_S, slower than MIN_RATE bytes/s on average is
    given up too (a server that drips one byte at a time)."""
    encoding = (resp.headers.get("Content-Encoding") or "identity").lower()
    if encoding not in ("identity", "gzip", "deflate"):
        raise ClusterError(f"cluster: {url} answered in an unknown encoding {encoding[:20]!r}")
    inflate = zlib.decompressobj(47) if encoding != "identity" else None  # gzip or zlib
    read = getattr(resp, "read1", resp.read)  # what has arrived, not a full piece's wait
    out = bytearray()
    t0, wire = time.monotonic(), 0
    while True:
        now = time.monotonic()
        slow = now - t0 > SLOW_GRACE_S and wire / (now - t0) < MIN_RATE
        if now > deadline or slow:
            raise ClusterError(f"cluster: {url} is answering too slowly; gave up")
        piece = read(READ_PIECE)
        if not piece:
            break
        wire += len(piece)
        if inflate is not None:
            try:
                piece = inflate.decompress(piece, cap + 1 - len(out))
            except zlib.error:
                raise ClusterError(f"cluster: {url} sent a damaged compressed reply") from None
        out += piece
        if len(out) > cap:
            if not strict:
                return bytes(out[:cap])
            raise TooLarge(
                f"cluster: {url} sent more than {cap / 1e6:.1f} MB; refused (a job's log "
                "carries its results: raise TRAINER_MAX_LOG_MB if this is expected)"
            )
    return bytes(out)


def _json(reply: tuple[int, bytes], path: str) -> Any:
    try:
        return json.loads(reply[1]) if reply[1] else None
    except ValueError:
        raise ClusterError(f"cluster: {path} did not answer with JSON") from None


def _one_line(exc: BaseException | str) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("…" if len(text) > 300 else "")
