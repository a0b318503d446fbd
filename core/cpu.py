"""This machine's CPU: its model and flags (/proc/cpuinfo), its matrix units, and how busy its
cores are right now (/proc/stat, the load average). One home for these facts: the RAG
baseline's run-time plan, the trainer's precision choice and thread governor, and every
benchmark row read them here. torch is imported only to ask whether it has oneDNN.

The thread governor and the baseline's choice of running the classic model beside the
embedding ask `idle_cores`: a timing burst says how fast two threads run a small product, not
whether another process holds the second core.

    idle, sample = idle_cores(None)      # first sample: idle is None
    idle, sample = idle_cores(sample)    # idle cores of the whole machine since then
    idle_cores_now(0.2)                  # the same over a 0.2 s window, or None off Linux
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

# Matrix units as lscpu names the flags, strongest first; the first one present names the host.
MATRIX_UNITS = (
    ("amx_bf16", "AMX-BF16"),
    ("amx_int8", "AMX-INT8"),
    ("avx512_bf16", "AVX512-BF16"),
    ("avx512_vnni", "AVX512-VNNI"),
    ("avx512f", "AVX-512"),
    ("avx2", "AVX2"),
)
MATRIX_FLAGS = tuple(flag for flag, _ in MATRIX_UNITS)


def matrix_flags(flags: set[str] | frozenset[str]) -> list[str]:
    """The matrix-unit flags among `flags`, best first, as lscpu spells them."""
    return [f for f in MATRIX_FLAGS if f in flags]


@dataclass(frozen=True)
class CpuInfo:
    """The CPU as this process sees it."""

    model: str
    flags: frozenset[str]
    cores: int  # usable by this process (its affinity mask)
    onednn: bool  # torch built with oneDNN, which runs the fused bf16 kernels

    @property
    def matrix_units(self) -> list[str]:
        return [name for flag, name in MATRIX_UNITS if flag in self.flags]

    @property
    def bf16_unit(self) -> Literal["amx", "avx512_bf16", "none"]:
        """Which unit multiplies bfloat16 natively: AMX tiles, AVX512-BF16, or none."""
        if "amx_bf16" in self.flags:
            return "amx"
        return "avx512_bf16" if "avx512_bf16" in self.flags else "none"

    def describe(self) -> str:
        units = ", ".join(self.matrix_units) or "no AVX2 or matrix units"
        return f"{self.model}, {self.cores} cores, {units}"


def parse_cpuinfo(text: str) -> tuple[str, frozenset[str]]:
    """(model name, flags) of the first processor in a /proc/cpuinfo text."""
    model, flags = "unknown CPU", frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model == "unknown CPU":
            model = " ".join(value.split())
        elif key == "flags" and not flags:
            flags = frozenset(value.split())
    return model, flags


@cache
def cpu_info() -> CpuInfo:
    """This machine's CPU (cached for the process)."""
    try:
        model, flags = parse_cpuinfo(Path("/proc/cpuinfo").read_text())
    except OSError:  # not Linux: nothing native assumed
        model, flags = "unknown CPU", frozenset()
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        import torch

        onednn = bool(torch.backends.mkldnn.is_available())
    except ImportError:
        onednn = False
    return CpuInfo(model, flags, cores, onednn)


def load_average() -> tuple[float, float, float] | None:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return None
    return round(one, 2), round(five, 2), round(fifteen, 2)


def host_line() -> str:
    """The CPU, its matrix units and the load right now: what every benchmark row states."""
    load = load_average()
    text = cpu_info().describe()
    return text + (f"; load average {load[0]} / {load[1]} / {load[2]}" if load else "")


def idle_cores(prev: tuple[float, float] | None) -> tuple[float | None, tuple[float, float]]:
    """(idle cores of the whole machine since `prev`, new sample) from /proc/stat; None where
    unreadable or on the first sample."""
    try:
        with open("/proc/stat") as fh:
            fields = [float(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None, prev or (0.0, 0.0)
    idle, total = fields[3] + (fields[4] if len(fields) > 4 else 0.0), sum(fields)
    if prev is None or total <= prev[1]:
        return None, (idle, total)
    return (idle - prev[0]) / (total - prev[1]) * (os.cpu_count() or 1), (idle, total)


def idle_cores_now(window_s: float = 0.2) -> float | None:
    """Idle cores of the whole machine over the next `window_s` seconds (this process sleeps
    meanwhile, so its own threads do not count); None where /proc/stat cannot be read."""
    _, sample = idle_cores(None)
    time.sleep(window_s)
    idle, _ = idle_cores(sample)
    return idle
