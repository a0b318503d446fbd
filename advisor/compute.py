"""Training compute: tokens, FLOPs, memory, GPU count, time and cost of fine-tuning.

Model (all figures from the assumptions):
  tokens   = examples x (input + output tokens) x epochs
  FLOPs    = k x params x tokens, k = 6 for a full fine-tune, 4 for LoRA/QLoRA
  memory   = weights (2 B/param, 0.5 for QLoRA) + optimizer (full: Adam states + grads;
             LoRA: the adapter's) + activations + overhead  ->  GPU count
  time     = FLOPs / (GPUs x peak FLOP/s x MFU)         (one run, wall clock)
  cost     = (time + set-up hours) x GPUs x price x experimental runs

The trainer calls `training_estimate` before a run (its own model size, data and device), then
again with the measured `tokens_per_s` (or `peak_flops`/`mfu`) to re-estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from advisor.answers import Answers
from advisor.assumptions import Assumptions, load_assumptions
from advisor.plan import resolve_plan
from advisor.ranges import Range


@dataclass(frozen=True)
class MemoryEstimate:
    weights: Range  # GB, all of these
    optimizer: Range
    activations: Range
    overhead: Range

    @property
    def total(self) -> Range:
        return self.weights + self.optimizer + self.activations + self.overhead


@dataclass(frozen=True)
class TrainingEstimate:
    gpu: str
    gpu_count: int
    gpu_memory_gb: float  # needed in total, expected; compare with count x device memory
    device_memory_gb: float  # per device
    memory: MemoryEstimate
    tokens: int  # training tokens of one run, all epochs
    flops: float  # one run
    peak_flops: float  # FLOP/s per device
    mfu: Range
    train_hours: Range  # wall clock of one run
    gpu_hours: Range  # billed for one run: (training + set-up hours) x GPUs
    runs: Range
    compute_usd: Range  # all experimental runs
    compute_usd_per_run: Range
    managed_service_usd: Range  # all runs at the managed-service hourly price
    experimentation_usd: Range  # dev box, sweeps, failed runs, evaluations (not in compute_usd)

    def to_dict(self) -> dict[str, Any]:
        return {
            "gpu": self.gpu,
            "gpu_count": self.gpu_count,
            "gpu_memory_gb": round(self.gpu_memory_gb, 2),
            "train_hours": round(self.train_hours.expected, 4),
            "compute_usd": round(self.compute_usd.expected, 2),
            "device_memory_gb": self.device_memory_gb,
            "memory_gb": {
                "weights": round(self.memory.weights.expected, 2),
                "optimizer": round(self.memory.optimizer.expected, 2),
                "activations": round(self.memory.activations.expected, 2),
                "overhead": round(self.memory.overhead.expected, 2),
                "total": self.memory.total.to_dict(),
            },
            "tokens": self.tokens,
            "flops": self.flops,
            "peak_flops": self.peak_flops,
            "mfu": self.mfu.to_dict(3),
            "train_seconds": round(self.train_hours.expected * 3600, 1),
            "train_hours_range": self.train_hours.to_dict(4),
            "gpu_hours": self.gpu_hours.to_dict(4),
            "runs": self.runs.to_dict(),
            "compute_usd_range": self.compute_usd.to_dict(),
            "compute_usd_per_run": self.compute_usd_per_run.to_dict(),
            "managed_service_usd": self.managed_service_usd.to_dict(),
            "experimentation_usd": self.experimentation_usd.to_dict(),
        }


def training_examples(answers: Answers) -> int:
    """Examples the plan trains on: those the user has plus those still to label."""
    return answers.labeled_examples + answers.examples_to_label


def training_tokens(answers: Answers, n_examples: int | None = None) -> int:
    n = training_examples(answers) if n_examples is None else n_examples
    return n * (answers.avg_input_tokens + answers.avg_output_tokens) * answers.epochs


def params_b(answers: Answers, assumptions: Assumptions) -> float:
    """The plan's model size: the answer, or the named model's size from the table."""
    if answers.base_model_params_b > 0:
        return answers.base_model_params_b
    return resolve_plan(answers, assumptions).params_b


def training_flops(answers: Answers, assumptions: Assumptions, tokens: int) -> float:
    k = "full" if answers.method == "full" else "lora"
    per = assumptions.value(f"compute.flops_per_param_token_{k}")
    return per * params_b(answers, assumptions) * 1e9 * tokens


def memory_estimate(answers: Answers, assumptions: Assumptions) -> MemoryEstimate:
    """GB needed to train, summed over all devices (sharded training splits it)."""
    a = assumptions
    p_b = params_b(answers, a)  # billions, so bytes/param x p_b = GB
    w_key = "4bit" if answers.method == "qlora" else "16bit"
    weights = a.range(f"memory.weight_bytes_per_param_{w_key}") * p_b
    if answers.method == "full":
        optimizer = a.range("memory.full_optimizer_bytes_per_param") * p_b
    else:
        trainable = a.range("memory.lora_trainable_fraction") * p_b
        optimizer = trainable * a.range("memory.lora_bytes_per_trainable_param")
    batch_k_tokens = a.value("memory.micro_batch_tokens") / 1000
    activations = a.range("memory.activation_mb_per_b_params_per_1k_tokens") * (
        p_b * batch_k_tokens / 1000
    )
    subtotal = weights + optimizer + activations
    overhead = subtotal * a.range("memory.overhead_fraction") + a.range("memory.fixed_overhead_gb")
    return MemoryEstimate(weights, optimizer, activations, overhead)


def gpus_needed(total_gb: float, device_gb: float) -> int:
    """Devices to hold `total_gb`: 1, 2, 4, 8, then whole 8-GPU nodes."""
    n = max(1, math.ceil(total_gb / device_gb))
    if n <= 8:
        return 1 << (n - 1).bit_length()
    return 8 * math.ceil(n / 8)


def training_estimate(
    answers: Answers,
    assumptions: Assumptions | None = None,
    gpu: str | None = None,
    n_examples: int | None = None,
    *,
    peak_flops: float | None = None,
    mfu: float | None = None,
    tokens_per_s: float | None = None,
    gpu_count: int | None = None,
) -> TrainingEstimate:
    """Predict memory, GPU count, time and cost of fine-tuning for `answers`.

    gpu: a name from the price table (default `answers.gpu`); n_examples: training examples
    (default `answers.labeled_examples`). Measured overrides: peak_flops (FLOP/s per device),
    mfu (0-1), tokens_per_s (training tokens per second over all devices; wins over the
    FLOP model), gpu_count (devices actually used). Model size, lengths, epochs and method come
    from `answers`: use `dataclasses.replace(answers, ...)` to describe another run.
    """
    a = assumptions or load_assumptions()
    name = gpu or answers.gpu
    spec = a.gpu(resolve_plan(answers, a).gpu if name == "auto" else name)
    _check_overrides(n_examples, peak_flops, mfu, tokens_per_s, gpu_count)
    tokens = training_tokens(answers, n_examples)
    flops = training_flops(answers, a, tokens)
    memory = memory_estimate(answers, a)
    count = gpu_count or gpus_needed(memory.total.expected, spec.memory_gb)
    peak = peak_flops or spec.peak_flops
    if tokens_per_s:
        # Effective MFU implied by the measurement (above 1 means `peak` is set too low).
        eff = Range.point(flops / tokens * tokens_per_s / (count * peak) if tokens else 0.0)
        train_s = Range.point(tokens / tokens_per_s)
    else:
        eff = Range.point(mfu) if mfu is not None else (spec.mfu or a.range("compute.mfu"))
        train_s = Range.point(flops) / (eff * (count * peak))
    train_hours = train_s.scale(1 / 3600)
    # Billed time also covers set-up, evaluation and idle time on every device.
    gpu_hours = (train_hours + a.range("compute.setup_hours_per_run")).scale(count)
    runs = a.range("compute.experimental_runs")
    per_run = gpu_hours * spec.usd_per_hour
    return TrainingEstimate(
        gpu=spec.name,
        gpu_count=count,
        gpu_memory_gb=memory.total.expected,
        device_memory_gb=spec.memory_gb,
        memory=memory,
        tokens=tokens,
        flops=flops,
        peak_flops=peak,
        mfu=eff,
        train_hours=train_hours,
        gpu_hours=gpu_hours,
        runs=runs,
        compute_usd=per_run * runs,
        compute_usd_per_run=per_run,
        managed_service_usd=gpu_hours * a.range("seed.managed_usd_per_training_hour") * runs,
        experimentation_usd=a.range("compute.experimentation_gpu_hours").scale(count)
        * spec.usd_per_hour,
    )


def _check_overrides(
    n_examples: int | None,
    peak_flops: float | None,
    mfu: float | None,
    tokens_per_s: float | None,
    gpu_count: int | None,
) -> None:
    if n_examples is not None and (isinstance(n_examples, bool) or n_examples < 0):
        raise ValueError(f"n_examples: must be a whole number >= 0 (got {n_examples!r})")
    for name, v in (("peak_flops", peak_flops), ("tokens_per_s", tokens_per_s)):
        if v is not None and not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name}: must be a number > 0 (got {v!r})")
    if mfu is not None and not (isinstance(mfu, int | float) and 0 < mfu <= 1):
        raise ValueError(f"mfu: must be a fraction in (0, 1] (got {mfu!r})")
    if gpu_count is not None and (not isinstance(gpu_count, int) or gpu_count < 1):
        raise ValueError(f"gpu_count: must be a whole number >= 1 (got {gpu_count!r})")
