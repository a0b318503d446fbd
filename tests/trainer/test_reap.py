"""A job the app started is reaped as soon as it ends: no `<defunct>` child under a long-lived
server, even when nobody polls the job afterwards (issue 18)."""

from __future__ import annotations

import sys
import time

from trainer import procs
from trainer.remote.local import LocalLauncher
from trainer.runfolder import RunFolder


def test_a_finished_job_leaves_no_zombie(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.path.mkdir(parents=True, exist_ok=True)
    handle = LocalLauncher().spawn(run, [sys.executable, "-c", "print('done')"])
    pid = handle["pid"]
    deadline = time.monotonic() + 30
    while procs.state(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.1)  # nobody here waits for it: only the launcher's own reaper can
    assert procs.state(pid) is None, f"pid {pid} is still listed, state {procs.state(pid)}"
    assert "done" in run.stdout_path.read_text()
