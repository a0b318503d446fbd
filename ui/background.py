"""Long work off the script thread: a job runs in a daemon thread of the server process and reports
progress that a `st.fragment(run_every=...)` polls. Used for the RAG baseline (it shares the
process's cached embedder); training never runs here, it is a trainer.jobs subprocess.

Results are written to disk by the work itself, so a finished job survives a restart; a job that
was running when the server stopped simply has no results and can be started again. `cancel()`
asks a job to stop: its next progress report raises `Cancelled` inside the work, which unwinds
without writing results (a thread cannot be killed; the work reports progress often).

`guard_shutdown()` makes Ctrl+C / SIGTERM stop the server within seconds even while a browser
holds a download open (Streamlit's own stop waits for every open response).
"""

from __future__ import annotations

import atexit
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
# How long the interpreter's exit waits for running jobs to stop (see JobRunner.stop_all).
STOP_AT_EXIT_S = 60.0


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
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        atexit.register(self.stop_all)

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
            thread = threading.Thread(target=self._run, args=(job, work), daemon=True, name=key)
            self._threads[key] = thread
        thread.start()
        return job

    def stop_all(self, timeout_s: float = STOP_AT_EXIT_S) -> bool:
        """Cancel every running job and wait for its thread, `timeout_s` in all; True when none
        is left running. Runs at interpreter exit: a daemon thread still inside torch's or
        OpenMP's thread pool when the interpreter finalizes aborts the whole process
        ("terminate called without an active exception", exit status 134)."""
        with self._lock:
            running = [(self._jobs[k], t) for k, t in self._threads.items() if t.is_alive()]
        for job, _ in running:
            job.cancel()
        deadline = time.monotonic() + timeout_s
        for _, thread in running:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for _, t in running)

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


# --- prompt shutdown ----------------------------------------------------------------------------
SHUTDOWN_GRACE_S = 5.0  # what Streamlit gets for its own graceful stop after SIGINT / SIGTERM


def guard_shutdown(grace_s: float = SHUTDOWN_GRACE_S) -> bool:
    """Make SIGINT / SIGTERM stop the server within `grace_s` seconds.

    Streamlit's stop waits, without a time limit, for every open HTTP response to finish: a
    browser that holds a large download (or any slow reader) keeps the server up for minutes
    after "Stopping...". The first signal still runs Streamlit's own handler, and also arms a
    timer that reaps this process's finished children and ends the process when the graceful
    stop has not finished by then. Signal handlers can only be set on the main thread, so this
    schedules the installation on the server's event loop (which runs there); installs once per
    process. Returns False where there is no server (AppTest, bare mode).
    """
    loop = _server_loop()
    if loop is None:
        return False
    with _GUARD_LOCK:
        if _GUARD["installed"]:
            return True
        _GUARD["installed"] = True
    loop.call_soon_threadsafe(_install_handlers, grace_s)
    return True


_GUARD: dict[str, Any] = {"installed": False, "timer": None}
_GUARD_LOCK = threading.Lock()


def _server_loop() -> Any:
    """The event loop of the running Streamlit server (main thread), None without one."""
    import threading as _threading

    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists() or _threading.current_thread() is _threading.main_thread():
            return None
        loop = Runtime.instance()._get_async_objs().eventloop  # noqa: SLF001 - no public API
    except Exception:  # noqa: BLE001 - an internal that moved: run without the guard
        log.warning("no server event loop found: SIGINT waits for open downloads")
        return None
    return None if loop.is_closed() else loop


def _install_handlers(grace_s: float) -> None:
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)

        def handler(signum: int, frame: Any, previous: Any = previous) -> None:
            _arm_exit_timer(grace_s)
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                raise KeyboardInterrupt

        signal.signal(sig, handler)


def _arm_exit_timer(grace_s: float) -> None:
    if _GUARD["timer"] is None:
        timer = threading.Timer(grace_s, _force_exit, args=(grace_s,))
        timer.daemon = True
        _GUARD["timer"] = timer
        timer.start()


def _force_exit(grace_s: float) -> None:
    import os
    import sys

    reap_children()
    print(f"  Stopped after {grace_s:.0f} s (open downloads were cut off).", file=sys.stderr)
    sys.stderr.flush()
    os._exit(0)


def reap_children() -> int:
    """Collect every finished child process of this one (no `<defunct>` left); returns how
    many. Running children (a training job in its own session) are left alone."""
    import os

    reaped = 0
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        reaped += 1
