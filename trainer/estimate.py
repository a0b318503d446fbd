"""Honest training-time, memory and cost estimates; pure Python (the app imports it).

Time model:
    FLOPs = k x N x T          k = 4 for LoRA/QLoRA (forward + input gradients), 6 for full,
                               2 for forward-only passes (linear-probe features, evaluation);
                               N = non-embedding parameters, T = padded tokens actually processed
    time  = FLOPs / F + steps x overhead_s      (the prior, before anything ran)
The measured prediction (trainer/calibration.py) times whole steps at a spread of widths and
prices each planned step by `fit_step_time`, plus a kernel-building cost per padded width
not met in calibration and the warm start timed on its own; with a (low, high) range for a busy
machine: `spread_range`.
The prior's F (effective FLOP/s) comes from a calibration file written by the last completed run
on this device (`runs/calibration.json`), or the defaults below. On a GPU, F = peak FLOP/s x MFU.

The CPU defaults were measured with all-MiniLM-L6-v2 + LoRA (all linear layers), one thread, on
the development machine (AMD EPYC, AVX-512 BF16, no AMX): a full banking77 run (626 steps plus
the warm start) did 154 GFLOP/s per CPU-second in bf16; fp32 runs at about half that. Threads
scale at about 0.85 each.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FLOPS_FACTOR = {"lora": 4.0, "qlora": 4.0, "full": 6.0, "forward": 2.0}
CPU_FLOPS_PER_THREAD = {"bf16": 150e9, "fp32": 75e9}
THREAD_EFFICIENCY = 0.85
CPU_STEP_OVERHEAD_S = 0.004
GPU_PEAK_FLOPS = {"bf16": 989e12, "fp32": 67e12}  # H100 SXM dense; pass peak_flops for others
GPU_MFU = 0.25  # small models on one GPU rarely do better
GPU_STEP_OVERHEAD_S = 0.01

# Known shipped models, so an estimate needs no download or torch: (total params, params that
# do a matmul per token (non-embedding; a tied LM head counts), layers, hidden size, heads,
# LM vocabulary (0 for encoders))
KNOWN_MODELS = {
    "all-MiniLM-L6-v2": (22_713_216, 10_646_784, 6, 384, 12, 0),
    "SmolLM2-135M-Instruct": (134_515_008, 134_515_008, 30, 576, 9, 49_152),
}


@dataclass
class ModelSize:
    total: int
    non_embedding: int
    layers: int
    hidden: int
    heads: int
    vocab: int = 0  # causal LMs: the logits over the vocabulary are a large activation


def known_model_size(base_model: str) -> ModelSize | None:
    for key, dims in KNOWN_MODELS.items():
        if key.lower() in base_model.lower():
            return ModelSize(*dims)
    return None


BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # native bf16 dot products (else bf16 is emulated)
BF16_MARGIN = 1.15  # bf16 must beat fp32 by this much in the burst: it costs a little accuracy


def choose_cpu_precision(
    flags: set[str] | frozenset[str], burst: dict[str, float] | None = None
) -> tuple[str, str]:
    """(precision, why) for `precision=auto` on a CPU, from its flags and, where measured, a
    burst of matmuls at the model's width in each precision (FLOP/s). Without native bf16
    (AMX or AVX512-BF16) bf16 is emulated and slower: fp32. With it, bf16 only if the burst
    confirms it (a VM can hide AMX from the kernel, or the flags can lie)."""
    native = [f for f in BF16_FLAGS if f in flags]
    if not native:
        return "fp32", "no native bf16 (no amx_bf16 or avx512_bf16 flag)"
    if not burst or not burst.get("fp32") or not burst.get("bf16"):
        return "bf16", f"{native[0]} present (no burst measured)"
    ratio = burst["bf16"] / burst["fp32"]
    if ratio >= BF16_MARGIN:
        return "bf16", f"{native[0]}: bf16 burst {ratio:.1f}x fp32"
    return "fp32", f"{native[0]} present but the bf16 burst was only {ratio:.2f}x fp32"


def flops_per_token(size: ModelSize, seq_len: float, kind: str) -> float:
    """k x (N + attention score/value matmuls, 2 x layers x seq x hidden per token)."""
    return FLOPS_FACTOR[kind] * (size.non_embedding + 2 * size.layers * seq_len * size.hidden)


def effective_flops(
    device: str,
    precision: str,
    threads: int = 1,
    peak_flops: float | None = None,
    mfu: float | None = None,
    calibration: dict[str, Any] | None = None,
) -> float:
    """FLOP/s one process achieves on training steps, from the best source available."""
    if calibration and calibration.get("flops_per_s"):
        return float(calibration["flops_per_s"])
    if device == "cuda":
        return (peak_flops or GPU_PEAK_FLOPS[precision]) * (mfu or GPU_MFU)
    per_thread = CPU_FLOPS_PER_THREAD[precision]
    return per_thread * (1 + THREAD_EFFICIENCY * (max(threads, 1) - 1))


@dataclass
class TimeEstimate:
    seconds: float
    flops: float
    tokens: int
    steps: int
    flops_per_s: float
    source: str  # "measured" | "calibration file" | "default"
    range_s: tuple[float, float] | None = None  # (low, high) from the spread of measured rates
    parts: dict[str, float] = field(default_factory=dict)  # seconds by part (steps, shapes...)
    step_time: StepTime | None = None  # measured: the line each step is priced by (ETA too)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 2)
        d["range_s"] = [round(x, 1) for x in self.range_s] if self.range_s else None
        d["parts"] = {k: round(v, 2) for k, v in self.parts.items()}
        return d


def spread_range(
    seconds: float,
    rates: list[float],
    cpu_share: float = 1.0,
    load: float = 0.0,
    cores: int = 1,
) -> tuple[float, float]:
    """(low, high) seconds around a prediction made from measured rates.

    Quiet machine: the median rate over the upper and lower quartile rates of the calibration
    batches, at least +-10%. Under load: low is the time had the calibration had its cores to
    itself (`cpu_share`: CPU seconds per wall second per thread while it ran, < 1 when other
    processes took turns), high the time if the machine stays as busy as the 1-minute load
    average says (`load` runnable processes on `cores`: each gets cores / load of a core)."""
    lo, hi = seconds * 0.9, seconds * 1.1
    if len(rates) >= 2:
        q = sorted(rates)
        med, lo_rate, hi_rate = q[len(q) // 2], q[len(q) // 4], q[(3 * len(q)) // 4]
        lo, hi = min(seconds * med / hi_rate, lo), max(seconds * med / lo_rate, hi)
    quiet = seconds * min(max(cpu_share, 0.05), 1.0)  # had the passes had their cores
    lo = min(lo, quiet)
    if cores > 0 and load > cores:
        hi = max(hi, quiet * load / cores)
    return lo, hi


def predict_time(
    size: ModelSize,
    tokens: int,
    steps: int,
    seq_len: float,
    method: str,
    flops_per_s: float,
    device: str = "cpu",
    source: str = "default",
    overhead_s: float | None = None,
) -> TimeEstimate:
    """Seconds for `steps` optimizer steps over `tokens` padded tokens of mean length `seq_len`."""
    flops = flops_per_token(size, seq_len, method) * tokens
    if overhead_s is None:
        overhead_s = GPU_STEP_OVERHEAD_S if device == "cuda" else CPU_STEP_OVERHEAD_S
    seconds = flops / flops_per_s + steps * overhead_s
    return TimeEstimate(seconds, flops, tokens, steps, flops_per_s, source)


@dataclass(frozen=True)
class StepTime:
    """Seconds of a step as fixed + per_token x padded tokens, fitted to timed steps."""

    fixed_s: float
    per_token_s: float

    def __call__(self, tokens: float) -> float:
        return self.fixed_s + self.per_token_s * tokens


def fit_step_time(samples: Sequence[tuple[float, float]]) -> StepTime:
    """Theil-Sen fit of seconds against tokens over timed (tokens, seconds) samples: the median
    of the pairwise slopes (pairs of equal tokens skipped), then the median intercept, so one
    pass slowed by another process does not bend the line (least squares would). Both terms
    are kept >= 0; samples of one size give a proportional model. Measured on MiniLM (2-core
    AMX CPU, batch 32): affine within 3% from width 7 to 45; the widest batches (81) run ~30%
    above the line, one step in 50."""
    if not samples:
        raise ValueError("fit_step_time: no timed samples")
    slopes = [
        (y1 - y0) / (x1 - x0)
        for i, (x0, y0) in enumerate(samples)
        for x1, y1 in samples[i + 1 :]
        if x1 != x0
    ]
    if not slopes:
        return StepTime(0.0, statistics.median(y / max(x, 1) for x, y in samples))
    slope = max(statistics.median(slopes), 0.0)
    fixed = statistics.median(y - slope * x for x, y in samples)
    if fixed < 0:  # a line through the origin: the slope of the median rate instead
        return StepTime(0.0, statistics.median(y / max(x, 1) for x, y in samples))
    return StepTime(fixed, slope)


def measured_flops_per_s(
    size: ModelSize, tokens: int, steps: int, seq_len: float, method: str, seconds: float
) -> float:
    """Invert `predict_time`: the FLOP/s that explains `seconds` for that work."""
    overhead = steps * CPU_STEP_OVERHEAD_S
    return flops_per_token(size, seq_len, method) * tokens / max(seconds - overhead, 1e-6)


def eta_seconds(remaining_tokens: int, tokens_per_s: float, remaining_steps: int = 0) -> float:
    """Re-estimate from measured throughput (tokens/s over recent steps)."""
    if tokens_per_s <= 0:
        return float("nan")
    return remaining_tokens / tokens_per_s


def estimate_memory_bytes(
    size: ModelSize,
    n_trainable: int,
    batch: int,
    seq_len: int,
    precision: str,
    method: str,
    device: str = "cpu",
    resident: float | None = None,
) -> dict[str, float]:
    """Peak memory of training, in bytes, by part.

    weights: 4 B/param (fp32 master weights on CPU or with full FT), 2 in bf16 on GPU, 0.55 in
    4-bit QLoRA; trainable: weight + grad + two Adam moments, fp32 (16 B); activations: per
    layer about seq x batch x hidden x 34 bytes (bf16; x2 in fp32) plus 5 x heads x seq^2 x batch
    for attention (Korthikanti et al. 2022), kept for the backward pass; causal LMs add the
    logits (batch x seq x vocab, three copies).

    CPU (peak RSS): the process itself (Python, torch, transformers: CPU_RUNTIME_BYTES) and,
    where the trainer measured it after loading the model and data (`resident`), that figure
    instead of runtime + weights; then CPU_RUN_GROWTH_BYTES and CPU_ACT_FACTOR x the
    activations (fitted on measured peaks, see docs/benchmarks.md).
    """
    if device == "cpu":
        return _cpu_memory(size, n_trainable, batch, seq_len, precision, method, resident)
    if method == "qlora":
        w_bytes = 0.55
    elif device == "cuda" and precision == "bf16" and method != "full":
        w_bytes = 2.0
    else:
        w_bytes = 4.0
    weights = size.total * w_bytes
    trainable = n_trainable * 16.0
    activations = _activation_bytes(size, batch, seq_len, precision)
    overhead = 0.1 * (weights + trainable + activations) + (500e6 if device == "cuda" else 0.0)
    total = weights + trainable + activations + overhead
    return {
        "weights": weights,
        "trainable": trainable,
        "activations": activations,
        "overhead": overhead,
        "total": total,
    }


def _activation_bytes(size, batch: int, seq_len: int, precision: str) -> float:
    """Activations kept for the backward pass (see `memory_estimate`): per layer and, for a
    causal LM, the logits (bf16 or fp32 output, its fp32 copy for the loss, the fp32 gradient)."""
    act_scale = 1.0 if precision == "bf16" else 2.0
    per_layer = seq_len * batch * (size.hidden * 34 + 5 * size.heads * seq_len) * act_scale
    logits = batch * seq_len * size.vocab * (2 * act_scale + 8)
    return per_layer * size.layers + logits


CPU_RUNTIME_BYTES = 0.30e9  # python + torch + transformers + peft imported (measured 0.295 GB)
# Peak RSS above what the process holds once the model and data are loaded (MiniLM + LoRA,
# measured on the demo tickets and banking77, 60 steps + held-out predictions + export): a
# fixed part (allocator arenas, oneDNN scratchpads and kernels, evaluation batches of 128)
# and a share of the modelled training activations (the allocator caches one block per shape).
CPU_RUN_GROWTH_BYTES = 0.56e9
CPU_ACT_FACTOR = 0.27


def _cpu_memory(size, n_trainable, batch, seq_len, precision, method, resident):
    weights = size.total * (4.0 if method == "full" or precision != "bf16" else 2.0)
    base = resident if resident is not None else CPU_RUNTIME_BYTES + weights + size.total * 4.0
    trainable = n_trainable * (12.0 if resident is not None else 16.0)  # grad + Adam moments
    activations = CPU_ACT_FACTOR * _activation_bytes(size, batch, seq_len, precision)
    total = base + trainable + activations + CPU_RUN_GROWTH_BYTES
    return {
        "weights": weights,
        "resident": base,
        "trainable": trainable,
        "activations": activations,
        "overhead": CPU_RUN_GROWTH_BYTES,
        "total": total,
    }


def resident_bytes() -> float | None:
    """This process's resident memory now (Linux), for the CPU memory estimate."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    import os

    return float(pages * os.sysconf("SC_PAGE_SIZE"))


def cost_usd(seconds: float, price_per_hour: float | None) -> float | None:
    """Compute cost of the run; None when no price is known (e.g. the user's own machine)."""
    if price_per_hour is None:
        return None
    return round(seconds / 3600 * price_per_hour, 4)


def calibration_key(device: str, precision: str, model: str, threads: int) -> str:
    return f"{device}/{precision}/{model}/{threads}"


def load_calibration(runs_dir: str | Path, key: str) -> dict[str, Any] | None:
    try:
        data = json.loads((Path(runs_dir) / "calibration.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    entry = data.get(key)
    return entry if isinstance(entry, dict) else None


def save_calibration(runs_dir: str | Path, key: str, entry: dict[str, Any]) -> None:
    """Remember the FLOP/s a completed run measured, for the next estimate on this device."""
    from trainer.runfolder import write_json_atomic

    path = Path(runs_dir) / "calibration.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        data = {}
    data[key] = entry
    write_json_atomic(path, data)


# Steps in a run take longer than the same steps timed in calibration: glibc's allocator
# fragments as batch shapes change (the same step slows by ~10% over a minute; with jemalloc
# it does not), and evaluations and checkpoints between steps evict caches. Measured on the
# 2-core Xeon: 0.94-1.12x (docs/benchmarks.md). Each completed, undisturbed run records its
# own ratio; the next prediction on the device applies the running mean, within these bounds.
STEPS_FACTOR_BOUNDS = (0.7, 1.5)


def steps_factor(calibration: dict[str, Any] | None) -> float:
    """The in-run factor learned by earlier runs on this device (1.0 before any)."""
    lo, hi = STEPS_FACTOR_BOUNDS
    try:
        f = float((calibration or {}).get("steps_factor", 1.0))
    except (TypeError, ValueError):  # calibration.json is input too
        return 1.0
    return min(max(f, lo), hi) if f == f else 1.0


def learn_steps_factor(previous: float, observed: float, weight: float = 0.5) -> float:
    """The running mean kept for the next run: half the old factor, half this run's."""
    lo, hi = STEPS_FACTOR_BOUNDS
    return round(min(max((1 - weight) * previous + weight * observed, lo), hi), 4)


# Seconds from the trainer's first status to the end of its calibration (data, tokenizer,
# model, calibration), before any run on this device has measured it: measured on the 2-core
# Xeon (MiniLM ~6-13 s depending on load; SmolLM2's GGUF is dequantized on load).
DEFAULT_LOADING_S = {"generation": 30.0, "classification": 10.0, "auto": 10.0}
LOADING_KEY = "loading/{device}/{model}/{task}"


def loading_eta(runs_dir: str | Path, device: str, model: str, task: str) -> dict[str, float]:
    """Status keys for the first report: `phase_eta_s`, what the loading phase should take
    (the last run's measurement for this device, model and task, else a default), counted from
    `phase_started_at` (now)."""
    import time

    key = LOADING_KEY.format(device=device, model=model, task=task)
    seconds = (load_calibration(runs_dir, key) or {}).get("seconds")
    if not isinstance(seconds, int | float) or not 0 < seconds < 86_400:
        seconds = DEFAULT_LOADING_S.get(task, DEFAULT_LOADING_S["auto"])
    return {"phase_eta_s": round(float(seconds), 1), "phase_started_at": round(time.time(), 3)}


def save_loading_s(runs_dir: str | Path, device: str, model: str, task: str, seconds: float):
    """Remember how long loading took, for the next run's first ETA."""
    key = LOADING_KEY.format(device=device, model=model, task=task)
    try:
        save_calibration(runs_dir, key, {"seconds": round(seconds, 2)})
    except OSError:  # an ETA hint is not worth failing a run over
        pass
