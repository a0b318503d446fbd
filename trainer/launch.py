"""Where a training job runs: one launcher interface, two implementations. No torch, no Ray.

`LocalLauncher` starts the trainer CLI as a subprocess of this machine; `trainer.launch_ray.
RayLauncher` submits the same CLI as a Ray job. `trainer.jobs.JobManager` owns the registry,
the queue and the run folders, and talks to a job only through its launcher:

    handle = launcher.start(run, ["train", "--config", ".../config.json"])  # registry fields
    launcher.alive(handle)      # still queued or running?
    launcher.stop(handle)       # ask it to stop (the trainer saves a checkpoint)

`ClusterSpec` is the "Ray cluster at ADDRESS" choice: a typed, validated dataclass the app and
`python -m trainer launch --cluster ADDRESS [--gpus N --gpu-type T]` build.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from trainer import procs
from trainer.runfolder import RunFolder

REPO_ROOT = Path(__file__).resolve().parents[1]
RAY_DEVICE_PREFIX = "ray:"
_ADDRESS = re.compile(r"^(https?|ray)://[A-Za-z0-9._\-\[\]:]+(:\d+)?/?$")


class ClusterError(ValueError):
    """The cluster is unreachable, lacks what the job needs, or refused it (one line)."""


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


def _f(default: Any, help: str, **kw: Any) -> Any:
    return field(default=default, metadata={"help": help}, **kw)


@dataclass
class ClusterSpec:
    """A Ray cluster to run on and what to ask it for."""

    address: str = _f("", "dashboard URL (http://HOST:8265) or ray://HOST:10001")
    gpus: int = _f(0, "GPUs for the job; 0 = CPU only; more than 1 runs torchrun on one node")
    gpu_type: str = _f(
        "", "GPU kind from the advisor's price table (e.g. H100-80GB, L4); '' = any GPU"
    )
    cpus: float = _f(1.0, "CPUs reserved for the job")
    price_per_hour: float | None = _f(
        None, "USD per GPU-hour (per node-hour on CPU); default: the advisor's price table"
    )
    pip: str = _f("", "extra pip requirements installed on the cluster, comma-separated")
    python: str = _f("python", "the Python of the cluster that has the project's dependencies")

    def __post_init__(self) -> None:
        self.address = self.address.strip().rstrip("/")
        rules = [
            ("address", bool(_ADDRESS.match(self.address)), "use http://HOST:PORT or ray://HOST"),
            ("gpus", isinstance(self.gpus, int) and 0 <= self.gpus <= 64, "0 to 64 GPUs"),
            ("cpus", 0 <= float(self.cpus) <= 512, "0 to 512 CPUs"),
            ("gpu_type", bool(re.match(r"^[A-Za-z0-9._-]*$", self.gpu_type)), "a GPU name"),
            (
                "price_per_hour",
                self.price_per_hour is None or 0 <= self.price_per_hour < 1000,
                "0 to 1000 USD",
            ),
            ("python", bool(self.python.strip()), "a Python executable on the cluster"),
        ]
        for name, ok, allowed in rules:
            if not ok:
                raise ValueError(f"cluster {name}: {allowed} (got {getattr(self, name)!r})")
        self.cpus = float(self.cpus)

    @property
    def dashboard(self) -> str:
        """Ray Jobs speak HTTP to the dashboard: ray://HOST:PORT means HOST's dashboard :8265."""
        if self.address.startswith("ray://"):
            host = self.address[len("ray://") :].rsplit(":", 1)[0]
            return f"http://{host}:8265"
        return self.address

    @property
    def device(self) -> str:
        """The registry's device column for runs on this cluster."""
        return RAY_DEVICE_PREFIX + self.dashboard

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterSpec:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"cluster {unknown[0]}: unknown setting; known: {sorted(names)}")
        return cls(**data)

    @classmethod
    def coerce(cls, value: str | dict[str, Any] | ClusterSpec) -> ClusterSpec:
        if isinstance(value, ClusterSpec):
            return value
        if isinstance(value, str):
            return cls(address=value)
        return cls.from_dict(value)


def is_remote(device: str | None) -> bool:
    return bool(device) and str(device).startswith(RAY_DEVICE_PREFIX)


def handle_of(command: str) -> dict[str, Any]:
    """A registry row's command column: a JSON argv (local) or a JSON handle (remote)."""
    data = json.loads(command)
    return data if isinstance(data, dict) else {"argv": data}
