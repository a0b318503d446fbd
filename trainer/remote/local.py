"""Where a training job runs: one launcher interface, two implementations. No torch, no Ray.

`LocalLauncher` starts the trainer CLI as a subprocess of this machine; `trainer.remote.cluster.
RayLauncher` submits the same CLI as a Ray job. `trainer.jobs.JobManager` owns the queue and the
run folders, and talks to a job only through its launcher:

    handle = launcher.start(run, ["train", "--config", ".../config.json"])  # registry fields
    launcher.alive(handle)      # still queued or running?
    launcher.stop(handle)       # ask it to stop (the trainer saves a checkpoint)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Protocol

from trainer import procs
from trainer.runfolder import RunFolder

REPO_ROOT = Path(__file__).resolve().parents[2]


class Launcher(Protocol):
    """How a job is started, watched and stopped somewhere."""

    def start(self, run: RunFolder, trainer_args: list[str]) -> dict[str, Any]:
        """Start `python -m trainer <trainer_args>` for `run`; returns the handle to store."""
        ...

    def alive(self, handle: dict[str, Any]) -> bool: ...

    def stop(self, handle: dict[str, Any], force: bool = False) -> None: ...


class LocalLauncher:
    """A subprocess of this machine, in its own process session; stdout to the run's
    stdout.log. Handle: {pid, pid_start} (the start time guards against pid reuse)."""

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable

    def command(self, trainer_args: list[str]) -> list[str]:
        return [self.python, "-m", "trainer", *trainer_args]

    def start(self, run: RunFolder, trainer_args: list[str]) -> dict[str, Any]:
        return self.spawn(run, self.command(trainer_args))

    def spawn(self, run: RunFolder, argv: list[str]) -> dict[str, Any]:
        """Start `argv` (a registry row's command) for `run`; returns {pid, pid_start}."""
        env = dict(os.environ, TRAINER_MANAGED="1", PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
        with open(run.stdout_path, "ab") as out:
            proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
        # Collect the exit status as soon as the job ends, so a finished job never lingers as
        # a <defunct> child of a long-lived parent (the app's server) that polls status.json.
        threading.Thread(target=proc.wait, daemon=True, name=f"reap-{proc.pid}").start()
        return {"pid": proc.pid, "pid_start": procs.start_time(proc.pid)}

    def alive(self, handle: dict[str, Any]) -> bool:
        return procs.alive(handle.get("pid"), handle.get("pid_start"))

    def stop(self, handle: dict[str, Any], force: bool = False) -> None:
        """SIGTERM (SIGKILL with force) to the job's process group (its pgid is its pid)."""
        pid = handle.get("pid")
        if not pid:
            return
        sig = signal.SIGKILL if force else signal.SIGTERM
        try:
            if handle.get("group", True):
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            pass
