"""Long work off the script thread: a job runs in a daemon thread of the server process and reports
progress that a `st.fragment(run_every=...)` polls. Used for the RAG baseline (it shares the
process's cached embedder); training never runs here, it is a trainer.jobs subprocess.

Results are written to disk by the work itself, so a finished job survives a restart; a job that
was running when the server stopped simply has no results and can be started again. `cancel()`
asks a job to stop: its next progress report raises `Cancelled` inside the work, which unwinds
without writing results (a thread cannot be killed; the work reports progress often).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Progress = Callable[[float, str], None]
Work = Callable[[Progress], Any]

log = logging.getLogger(__name__)
CANCELLED = "cancelled: nothing was saved; start it again when you are ready"


class Cancelled(Exception):  # noqa: N818 - the job's outcome, not a failure
    """Raised inside the work by the progress callback once the job was cancelled."""


@dataclass
class Job:
    key: str
    fraction: float = 0.0  # 0..1
    message: str = "starting"
    started: float = field(default_factory=time.time)
    finished: float | None = None
    result: Any = None
    error: str = ""  # readable message, '' on success
    cancel_requested: bool = False
    cancelled: bool = False

    @property
    def done(self) -> bool:
        return self.finished is not None

    @property
    def elapsed_s(self) -> float:
        return (self.finished or time.time()) - self.started

    def report(self, fraction: float, message: str) -> None:
        if self.cancel_requested and not self.done:
            raise Cancelled()
        self.fraction = min(max(float(fraction), 0.0), 1.0)
        self.message = message

    def cancel(self) -> None:
        """Stop at the next progress report (within seconds: the work reports every batch)."""
        if not self.done:
            self.cancel_requested = True
            self.message = "cancelling…"


class JobRunner:
    """At most one job per key at a time; thread-safe; lives in st.cache_resource."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Job | None:
        with self._lock:
            return self._jobs.get(key)

    def start(self, key: str, work: Work) -> Job:
        """Run `work(progress)` in a thread unless a job with this key is still running."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and not job.done:
                return job
            job = Job(key)
            self._jobs[key] = job
        threading.Thread(target=self._run, args=(job, work), daemon=True, name=key).start()
        return job

    @staticmethod
    def _run(job: Job, work: Work) -> None:
        try:
            job.result = work(job.report)
            job.fraction, job.message = 1.0, "done"  # finished: a late cancel changes nothing
        except Cancelled:
            job.cancelled, job.error, job.message = True, CANCELLED, "cancelled"
        except ValueError as exc:  # DataError and friends: the message is for the user
            job.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - report, never a traceback in the page
            log.exception("background job %s failed", job.key)
            job.error = f"unexpected {type(exc).__name__}: {exc}"
        finally:
            job.finished = time.time()
