"""The training loop: AdamW with separate head/adapter learning rates, warm-up + linear decay,
bf16 autocast, length-grouped batches, periodic logging/eval/checkpoints and a stop flag.

Task specifics (how to build a batch, the loss, evaluation) live in a `TaskAdapter`
(trainer/tasks.py); this module only knows steps, epochs and time.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import torch
from torch import nn

from trainer.batching import epoch_batches, padded_tokens
from trainer.config import TrainConfig

AUTO_STEPS, MIN_AUTO_EPOCHS, MAX_AUTO_EPOCHS = 250, 2, 10


class Stopped(Exception):
    """Raised inside the loop after a stop request (SIGTERM) once a checkpoint is saved."""


class TaskAdapter(Protocol):
    lengths: list[int]  # tokens per training example

    def batch(self, indices: list[int], device: str) -> dict[str, torch.Tensor]: ...

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor: ...


@dataclass
class LoopState:
    """Where training is; saved in every checkpoint."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    samples: int = 0
    tokens: int = 0
    train_s: float = 0.0  # seconds spent in optimizer steps, summed over resumes
    train_cpu_s: float = 0.0  # CPU seconds of this process (all threads) in those steps
    last_loss: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    """All optimizer steps of the run, known up front (so ETA and estimates use real tokens)."""

    steps_per_epoch: int
    total_steps: int
    epochs: int
    tokens_per_step: list[int] = field(repr=False, default_factory=list)
    mean_seq: float = 0.0

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens_per_step)

    def remaining_tokens(self, step: int) -> int:
        return sum(self.tokens_per_step[step:])


def auto_epochs(steps_per_epoch: int) -> float:
    """Small data sets need more passes: about AUTO_STEPS optimizer steps, 2 to 10 epochs
    (measured on banking77: 10 epochs at 10 examples per class, 2 on the full set)."""
    return float(
        min(MAX_AUTO_EPOCHS, max(MIN_AUTO_EPOCHS, math.ceil(AUTO_STEPS / steps_per_epoch)))
    )


def make_plan(cfg: TrainConfig, lengths: list[int], rank: int = 0, world: int = 1) -> Plan:
    first = epoch_batches(lengths, cfg.batch_size, cfg.seed, 0, cfg.group_by_length, rank, world)
    per_epoch = len(first)
    if cfg.epochs is None and cfg.max_steps is not None:
        total = cfg.max_steps
    else:
        total = math.ceil((cfg.epochs or auto_epochs(per_epoch)) * per_epoch)
        total = min(total, cfg.max_steps or total)
    epochs = math.ceil(total / per_epoch)
    tokens: list[int] = []
    for e in range(epochs):
        batches = (
            first
            if e == 0
            else epoch_batches(
                lengths, cfg.batch_size, cfg.seed, e, cfg.group_by_length, rank, world
            )
        )
        tokens += [padded_tokens([b], lengths) for b in batches]
    tokens = tokens[:total]
    n_ex = sum(len(b) for b in first)
    mean_seq = padded_tokens(first, lengths) / max(n_ex, 1)
    return Plan(per_epoch, total, epochs, tokens, mean_seq)


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Two groups: the classification head (head_lr, no decay) and everything else (lr)."""
    head, rest = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (head if name.startswith("head.") else rest).append(p)
    groups = [{"params": rest, "lr": cfg.lr, "weight_decay": cfg.weight_decay}]
    if head:
        groups.append({"params": head, "lr": cfg.head_lr, "weight_decay": 0.0})
    fused = {"fused": True} if next(model.parameters()).is_cuda else {}
    return torch.optim.AdamW(groups, **fused)


def make_scheduler(opt: torch.optim.Optimizer, total_steps: int, warmup_ratio: float):
    warmup = max(1, int(round(warmup_ratio * total_steps))) if warmup_ratio > 0 else 0

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


@dataclass
class Hooks:
    """Called by the loop; defaults do nothing (a plain in-process run)."""

    log: Callable[[dict[str, Any]], None] = lambda row: None
    evaluate: Callable[[], dict[str, Any]] | None = None
    checkpoint: Callable[[LoopState], None] = lambda state: None
    should_stop: Callable[[], bool] = lambda: False


@dataclass
class Loop:
    cfg: TrainConfig
    model: nn.Module
    task: TaskAdapter
    optimizer: torch.optim.Optimizer
    scheduler: Any
    plan: Plan
    device: str
    amp_dtype: torch.dtype | None  # None = fp32
    hooks: Hooks = field(default_factory=Hooks)
    rank: int = 0
    world: int = 1
    recent: deque = field(default_factory=lambda: deque(maxlen=20))  # (seconds, samples, tokens)

    def step(self, batch: dict[str, torch.Tensor]) -> float:
        with torch.autocast(
            device_type="cuda" if self.device == "cuda" else "cpu",
            dtype=self.amp_dtype or torch.float32,
            enabled=self.amp_dtype is not None,
        ):
            loss = self.task.loss(self.model, batch)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    def run(self, state: LoopState) -> LoopState:
        self.model.train()
        cfg = self.cfg
        while state.step < self.plan.total_steps:
            batches = epoch_batches(
                self.task.lengths,
                cfg.batch_size,
                cfg.seed,
                state.epoch,
                cfg.group_by_length,
                self.rank,
                self.world,
            )
            for b in batches[state.batch_in_epoch :]:
                if state.step >= self.plan.total_steps:
                    break
                self._one(state, b)
                self._after_step(state, len(batches))
            if state.batch_in_epoch >= len(batches):
                state.epoch += 1
                state.batch_in_epoch = 0
                self._epoch_end(state)
        return state

    def _one(self, state: LoopState, indices: list[int]) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        batch = self.task.batch(indices, self.device)
        loss = self.step(batch)
        if self.device == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        n_tok = len(indices) * max(self.task.lengths[i] for i in indices)
        state.step += 1
        state.batch_in_epoch += 1
        state.samples += len(indices) * self.world
        state.tokens += n_tok * self.world
        state.train_s += dt
        state.train_cpu_s += time.process_time() - c0
        state.last_loss = loss
        self.recent.append((dt, len(indices) * self.world, n_tok * self.world))

    def _after_step(self, state: LoopState, n_batches: int) -> None:
        cfg = self.cfg
        done = state.step >= self.plan.total_steps
        if state.step % cfg.log_every == 0 or done:
            self.hooks.log(self.progress(state, n_batches))
        if cfg.eval_every and state.step % cfg.eval_every == 0 and not done:
            self._eval(state)
        if state.step % cfg.save_every == 0 and not done:
            self.hooks.checkpoint(state)
        if self.hooks.should_stop():
            self.hooks.checkpoint(state)
            raise Stopped()

    def _epoch_end(self, state: LoopState) -> None:
        if not self.cfg.eval_every and state.step < self.plan.total_steps:
            self._eval(state)

    def _eval(self, state: LoopState) -> None:
        if self.hooks.evaluate is None:
            return
        row = {"step": state.step, "epoch": round(self._epoch_float(state), 3)}
        row.update(self.hooks.evaluate())
        self.hooks.log(row)
        self.model.train()

    def _epoch_float(self, state: LoopState) -> float:
        return state.step / max(self.plan.steps_per_epoch, 1)

    def progress(self, state: LoopState, n_batches: int) -> dict[str, Any]:
        secs = sum(r[0] for r in self.recent) or 1e-9
        samples_s = sum(r[1] for r in self.recent) / secs
        tokens_s = sum(r[2] for r in self.recent) / secs
        remaining = self.plan.remaining_tokens(state.step) * self.world
        return {
            "step": state.step,
            "epoch": round(self._epoch_float(state), 3),
            "loss": round(state.last_loss, 5),
            "lr": self.optimizer.param_groups[0]["lr"],
            "head_lr": self.optimizer.param_groups[-1]["lr"],
            "samples_per_s": round(samples_s, 2),
            "tokens_per_s": round(tokens_s, 1),
            "eta_s": round(remaining / tokens_s, 1) if tokens_s > 0 else None,
            "train_s": round(state.train_s, 2),
            "total_steps": self.plan.total_steps,
            "threads": torch.get_num_threads() if self.device == "cpu" else None,
        }
