"""What this CPU has, and the choices a run makes from it at run time, not at tuning time.

A tuning measured on one host does not carry to another: on an AMD Zen 4 host (AVX512-BF16, no
AMX) bf16 products ran ~2.5x fp32, on an Intel Xeon with AMX ~8x (1.1-1.5 TFLOPS per core against
~150 GFLOPS fp32, oneDNN `brg_matmul:avx10_1_512_amx`), and on a CPU without native bf16 they are
emulated and slower than fp32. So:

- `cpu_info()` reads the CPU model, its flags (the ones `lscpu` prints) and whether torch has
  oneDNN, once per process;
- `choose_plan(cpu, ...)` turns them into the kernel precision, the embedding's token budget and
  whether the probe's products run in bf16 (pure: a unit test feeds it flags);
- the thread counts and the overlap of the classic TF-IDF model with the embedding baselines are
  measured in the run's first seconds (`rag_baseline.threads`) and decided here by
  `choose_overlap` (pure as well);
- every result carries the plan (`plan`), and every benchmark row names the host (`host_line`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

# The CPU's facts live in core.cpu (the trainer and the benchmarks read them too); re-exported
# here for the callers that know them as the plan's inputs.
from core.cpu import CpuInfo, cpu_info, host_line, load_average, parse_cpuinfo  # noqa: F401

Precision = Literal["bf16", "fp32"]
Overlap = Literal["embedding", "side_by_side", "serial"]
# Tokens per embedding batch. With AMX the products are so fast that the per-batch Python and
# attention overhead counts: 16k tokens per batch took 3.10 / 3.13 CPU-s for 4,000 banking77
# texts on one thread against 3.70 / 3.26 at 4k (two rounds, AMX host, 2026-12-03, loaded);
# on AVX512-BF16 and fp32 2k/4k/8k measured alike (docs/benchmarks.md), so they keep 4k.
TOKEN_BUDGET = {"amx": 16384, "avx512_bf16": 4096, "fp32": 4096}
# The second core must make a burst of small products at least this much faster for the classic
# model (one liblinear thread) to run beside the embedding baselines; below it the other core is
# taken by another process, and two jobs on one free core only wait on each other (and the GIL).
SIDE_BY_SIDE_SPEEDUP = 1.25
IDLE_SLACK = 0.5  # idle cores short of two that still count as two free (daemons, the sampler)
# Training rows from which the classic model starts beside the embedding rather than after it:
# below, its fits take well under a second and the embedding keeps all cores.
EMBEDDING_OVERLAP_ROWS = 2000


@dataclass(frozen=True)
class Plan:
    """What this run does on this CPU, and why."""

    precision: Precision  # of the embedding's matrix products
    bf16_unit: str  # "amx", "avx512_bf16" or "none"
    token_budget: int  # tokens per embedding batch
    probe_bf16: bool  # the probe's L-BFGS products in bf16 (large problems only)
    reasons: tuple[str, ...]

    def to_dict(self) -> dict:
        return {**asdict(self), "reasons": list(self.reasons)}


def choose_precision(cpu: CpuInfo, requested: str = "auto", device: str = "cpu") -> Precision:
    """bf16 where the CPU multiplies it natively (AMX or AVX512-BF16) through oneDNN, or on a
    GPU; fp32 elsewhere (emulated bf16 is slower than fp32); an explicit request wins."""
    if requested in ("bf16", "fp32"):
        return requested  # type: ignore[return-value]
    if device.startswith("cuda"):
        return "bf16"
    return "bf16" if cpu.bf16_unit != "none" and cpu.onednn else "fp32"


def choose_plan(cpu: CpuInfo, requested: str = "auto", device: str = "cpu") -> Plan:
    """The kernel precision, token budget and probe products for `cpu` (no measurement)."""
    precision = choose_precision(cpu, requested, device)
    unit = cpu.bf16_unit if cpu.onednn else "none"
    reasons = []
    if requested in ("bf16", "fp32"):
        reasons.append(f"precision {precision}: asked for")
    elif precision == "bf16":
        where = "the GPU" if device.startswith("cuda") else f"{unit} through oneDNN"
        reasons.append(f"precision bf16: native bf16 products on {where}")
    else:
        reasons.append("precision fp32: no native bf16 (AMX or AVX512-BF16 with oneDNN)")
    kind = unit if precision == "bf16" and unit != "none" else "fp32"
    budget = TOKEN_BUDGET[kind]
    reasons.append(f"token budget {budget}: {kind} batches")
    probe_bf16 = precision == "bf16" and unit != "none" and not device.startswith("cuda")
    return Plan(precision, unit, budget, probe_bf16, tuple(reasons))


def choose_overlap(
    cores: int, speedup: float | None, n_train: int = 0, idle: float | None = None
) -> Overlap:
    """When the classic model (one liblinear thread) runs: "embedding" = from the start, beside
    the embedding (which then uses one core fewer until it is done) and then beside kNN and the
    probe; "side_by_side" = beside kNN and the probe only; "serial" = after them.

    Beside other work only with at least two cores and a second core free right now: `idle`
    cores of the machine (`core.cpu.idle_cores_now`, this process asleep) decide where known,
    since a timing burst of small products also reads "busy" on an idle 2-core host (~1 run in
    3 there); else the `speedup` of all cores over one (`rag_baseline.threads.measured_speedup`;
    None when not measured). From the start only on `EMBEDDING_OVERLAP_ROWS` training rows or
    more.
    """
    if cores < 2:
        return "serial"
    if idle is not None:
        if idle < min(cores, 2) - IDLE_SLACK:
            return "serial"
    elif speedup is not None and speedup < SIDE_BY_SIDE_SPEEDUP:
        return "serial"
    return "embedding" if n_train >= EMBEDDING_OVERLAP_ROWS else "side_by_side"
