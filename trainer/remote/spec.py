"""The "Ray cluster at ADDRESS" choice: a typed, validated dataclass the app and
`python -m trainer launch --cluster ADDRESS [--gpus N --gpu-type T]` build. No torch, no Ray.

    spec = ClusterSpec("http://127.0.0.1:8265", gpus=1, gpu_type="L4")
    spec.dashboard   # where Ray's Jobs API answers
    spec.device      # the registry's device column: ray:<dashboard>
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Any

RAY_DEVICE_PREFIX = "ray:"
_ADDRESS = re.compile(r"^(https?|ray)://[A-Za-z0-9._\-\[\]:]+(:\d+)?/?$")


class ClusterError(ValueError):
    """The cluster is unreachable, lacks what the job needs, or refused it (one line)."""


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
    lost_after_min: float = _f(
        10.0, "minutes without an answer from the cluster before a running job is marked lost"
    )

    def __post_init__(self) -> None:
        self.address = self.address.strip().rstrip("/")
        rules = [
            ("address", bool(_ADDRESS.match(self.address)), "use http://HOST:PORT or ray://HOST"),
            ("gpus", isinstance(self.gpus, int) and 0 <= self.gpus <= 64, "0 to 64 GPUs"),
            ("cpus", _number(self.cpus) and 0 <= float(self.cpus) <= 512, "0 to 512 CPUs"),
            ("gpu_type", bool(re.match(r"^[A-Za-z0-9._-]{0,40}$", self.gpu_type)), "a GPU name"),
            (
                "price_per_hour",
                self.price_per_hour is None
                or (_number(self.price_per_hour) and 0 <= self.price_per_hour < 1000),
                "0 to 1000 USD",
            ),
            ("pip", isinstance(self.pip, str) and len(self.pip) <= 2000, "a short pip list"),
            (
                "python",
                bool(re.match(r"^[A-Za-z0-9_./+-]{1,200}$", self.python)),
                "a Python executable on the cluster (a name or a path, no spaces)",
            ),
            (
                "lost_after_min",
                _number(self.lost_after_min) and 0.1 <= self.lost_after_min <= 7 * 24 * 60,
                "0.1 minutes to a week",
            ),
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
        if not isinstance(data, dict):
            raise ValueError(f"cluster: expected a JSON object, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"cluster {unknown[0]}: unknown setting; known: {sorted(names)}")
        try:
            return cls(**data)
        except TypeError as exc:  # a wrongly typed field from a file
            raise ValueError(f"cluster: {exc}") from None

    @classmethod
    def coerce(cls, value: str | dict[str, Any] | ClusterSpec) -> ClusterSpec:
        if isinstance(value, ClusterSpec):
            return value
        if isinstance(value, str):
            return cls(address=value)
        return cls.from_dict(value)


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def is_remote(device: str | None) -> bool:
    return bool(device) and str(device).startswith(RAY_DEVICE_PREFIX)


def handle_of(command: str) -> dict[str, Any]:
    """A registry row's command column: a JSON argv (local) or a JSON handle (remote)."""
    data = json.loads(command)
    return data if isinstance(data, dict) else {"argv": data}
