"""The app's background jobs (ui.background.JobRunner) end with the process: a job still inside
torch's thread pool when the interpreter exits is cancelled and waited for, so the process exits
cleanly instead of aborting ("terminate called without an active exception", exit 134), as the
slow big-data test did when its baseline was still saving the classifier at exit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.app.conftest import REPO

BUSY_AT_EXIT = textwrap.dedent(
    """
    import sys, time
    import torch
    from ui.background import JobRunner

    torch.set_num_threads(2)  # a parallel region in flight, as in the embedder or the refit

    def work(progress):
        x = torch.randn(400, 400)
        end = time.monotonic() + float(sys.argv[1])  # a step that reports no progress
        while time.monotonic() < end:
            x = torch.tanh(x @ x)
        while True:  # then steps that do, as the baseline's work does
            x = torch.tanh(x @ x)
            progress(0.5, "busy")

    job = JobRunner().start("busy", work)
    time.sleep(0.5)
    assert not job.done
    print("exiting with the job running", flush=True)
    """
)


def _exit_with_a_busy_job(uninterruptible_s: float) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-c", BUSY_AT_EXIT, str(uninterruptible_s)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )


def test_a_running_job_is_stopped_before_the_interpreter_exits():
    res = _exit_with_a_busy_job(0.0)
    assert "exiting with the job running" in res.stdout
    assert res.returncode == 0, res.stderr[-2000:]
    assert "terminate called" not in res.stderr


def test_a_step_that_cannot_be_cancelled_is_waited_for():
    res = _exit_with_a_busy_job(2.0)  # still busy 1.5 s after the main thread is done
    assert res.returncode == 0 and "terminate called" not in res.stderr, res.stderr[-2000:]
