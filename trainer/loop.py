"""The training loop: AdamW with separate head/adapter learning rates, warm-up + linear decay,
bf16 autocast, length-grouped batches, periodic logging/eval/checkpoints and a stop flag.

Task specifics (how to build a batch, the loss, evaluation) live in a `TaskAdapter`
(trainer/tasks.py); this module only knows steps, epochs and time.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import torch
from torch import nn

from core.cpu import idle_cores
from core.schedule import auto_epochs
from trainer.batching import epoch_batches, padded_tokens
from trainer.config import TrainConfig

log = logging.getLogger("trainer")


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
    thread_changes: int = 0  # times the thread governor switched the thread count

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
    widths: frozenset[int] = frozenset()  # distinct padded lengths (each builds its kernels)

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens_per_step)

    def remaining_tokens(self, step: int) -> int:
        return sum(self.tokens_per_step[step:])


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
    widths: set[int] = set()
    for e in range(epochs):
        batches = (
            first
            if e == 0
            else epoch_batches(
                lengths, cfg.batch_size, cfg.seed, e, cfg.group_by_length, rank, world
            )
        )
        tokens += [padded_tokens([b], lengths) for b in batches]
        widths |= {max(lengths[i] for i in b) for b in batches}
    tokens = tokens[:total]
    n_ex = sum(len(b) for b in first)
    mean_seq = padded_tokens(first, lengths) / max(n_ex, 1)
    return Plan(per_epoch, total, epochs, tokens, mean_seq, frozenset(widths))


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
class ThreadGovernor:
    """Re-chooses the CPU thread count during the run (the calibration chose it once).

    With all cores, torch's OpenMP regions wait for every thread; when another process takes a
    core, a step that took 0.1 s can take seconds. So: when the rate (tokens/s) of the last
    few steps falls below DROP x the rate measured earlier at this thread count, or one step
    takes SPIKE x as long as it should, drop to one thread. At one thread, when /proc/stat says
    the other cores have been idle for a while, try all cores for TRIAL steps and keep them
    only if they are KEEP x faster (else back off, waiting twice as long before the next try).
    """

    max_threads: int
    threads: int
    DROP = 0.55
    SPIKE = 6.0
    KEEP = 1.15
    TRIAL = 6
    WINDOW = 5
    recheck_s: float = 4.0
    rates: dict[int, deque] = field(default_factory=dict)  # threads -> recent good rates
    SMALL = 0.25  # a step under this share of the usual tokens is not judged (see observe)
    recent: deque = field(default_factory=lambda: deque(maxlen=5))
    sizes: deque = field(default_factory=lambda: deque(maxlen=20))  # tokens of recent steps
    trial: list[float] | None = None
    waited_s: float = 0.0
    idle_sample: tuple[float, float] | None = None
    set_threads: Callable[[int], None] = torch.set_num_threads

    def observe(
        self, tokens: int, seconds: float, new_shape: bool = False
    ) -> tuple[int, str] | None:
        """Feed one step; returns (new thread count, why) when it switched.

        Two kinds of step are not evidence: one whose batch shape (rows, padded width) is new
        to this thread count (oneDNN builds its kernels then), and one far smaller than usual
        (an epoch's last few rows: the optimizer step's fixed ~30 ms dominates, so its
        tokens/s reads 11-15x slower on a quiet host, as if another process took the core).
        """
        sizes = self.sizes
        small = len(sizes) >= 3 and tokens < self.SMALL * statistics.median(sizes)
        sizes.append(tokens)
        if new_shape or small:
            return None
        rate = tokens / max(seconds, 1e-9)
        ref = self._reference(self.threads)
        if self.trial is not None:
            return self._trial_step(rate)
        if self.threads > 1 and ref and rate * self.SPIKE < ref:
            return self._switch(1, f"one step ran {ref / rate:.0f}x slower than before")
        self.recent.append(rate)
        if self.threads > 1 and ref and len(self.recent) == self.recent.maxlen:
            now = statistics.median(self.recent)
            if now < self.DROP * ref:
                return self._switch(1, f"rate fell to {now / ref:.0%} of the earlier rate")
        if ref is None or rate > 0.7 * ref:  # a step at the usual pace: part of the reference
            self.rates.setdefault(self.threads, deque(maxlen=20)).append(rate)
        if self.threads == 1 and self.max_threads > 1:
            return self._maybe_try_more(seconds)
        return None

    def _reference(self, threads: int) -> float | None:
        got = self.rates.get(threads)
        return statistics.median(got) if got and len(got) >= 3 else None

    def _maybe_try_more(self, seconds: float) -> tuple[int, str] | None:
        self.waited_s += seconds
        if self.waited_s < self.recheck_s:
            return None
        self.waited_s = 0.0
        idle, self.idle_sample = idle_cores(self.idle_sample)
        if idle is None or idle < 0.7 * (self.max_threads - 1):
            return None
        self.trial = []
        self.set_threads(self.max_threads)
        self.threads = self.max_threads
        return None  # announced when kept

    def _trial_step(self, rate: float) -> tuple[int, str] | None:
        one, trial = self._reference(1), self.trial
        assert trial is not None
        trial.append(rate)
        bad_spike = one is not None and rate * self.SPIKE < one
        if len(trial) < self.TRIAL and not bad_spike:
            return None
        got = statistics.median(trial[1:] or trial)  # the first step pays for new kernels
        self.trial = None
        if one is not None and got >= self.KEEP * one and not bad_spike:
            self.rates[self.max_threads] = deque(trial[1:] or trial, maxlen=20)
            self.recheck_s = 4.0
            return self._switch(
                self.max_threads, f"other cores idle; {got / one:.1f}x one thread", quiet=True
            )
        self.recheck_s = min(self.recheck_s * 2, 120.0)
        self.set_threads(1)
        self.threads = 1
        return None

    def _switch(self, threads: int, why: str, quiet: bool = False) -> tuple[int, str]:
        if not quiet:
            self.set_threads(threads)
        self.threads = threads
        self.recent.clear()
        return threads, why


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
    governor: ThreadGovernor | None = None  # CPU, auto threads: re-chosen when the rate drops
    shapes_seen: set = field(default_factory=set)  # (threads, rows, width) the governor has seen
    step_time: Callable[[float], float] | None = None  # tokens -> seconds (calibration)

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
        width = max(self.task.lengths[i] for i in indices)
        n_tok = len(indices) * width
        state.step += 1
        state.batch_in_epoch += 1
        state.samples += len(indices) * self.world
        state.tokens += n_tok * self.world
        state.train_s += dt
        state.train_cpu_s += time.process_time() - c0
        state.last_loss = loss
        self.recent.append((dt, len(indices) * self.world, n_tok * self.world))
        if self.governor is not None:
            shape = (self.governor.threads, len(indices), width)
            new_shape = shape not in self.shapes_seen
            self.shapes_seen.add(shape)
            changed = self.governor.observe(n_tok, dt, new_shape)
            if changed:
                state.thread_changes += 1
                log.info("step %d: %d thread(s): %s", state.step, changed[0], changed[1])

    def _after_step(self, state: LoopState, n_batches: int) -> None:
        cfg = self.cfg
        done = state.step >= self.plan.total_steps
        if state.step % cfg.log_every == 0 or done:
            self.hooks.log(self.progress(state, n_batches))
        # Also at the last step: the held-out line reaches the end of the run, even when a
        # resume came after the last periodic evaluation (a 60-step run evaluated every 10
        # steps and resumed at 52 used to show no held-out point after 50).
        if done or (cfg.eval_every and state.step % cfg.eval_every == 0):
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
        eta = self._eta(state.step, secs, tokens_s)
        return {
            "step": state.step,
            "epoch": round(self._epoch_float(state), 3),
            "loss": round(state.last_loss, 5),
            "lr": self.optimizer.param_groups[0]["lr"],
            "head_lr": self.optimizer.param_groups[-1]["lr"],
            "samples_per_s": round(samples_s, 2),
            "tokens_per_s": round(tokens_s, 1),
            "eta_s": round(eta, 1) if eta is not None else None,
            "train_s": round(state.train_s, 2),
            "total_steps": self.plan.total_steps,
            "threads": torch.get_num_threads() if self.device == "cpu" else None,
        }

    def _eta(self, step: int, secs: float, tokens_s: float) -> float | None:
        """Seconds left. With the calibration's step-time line: the remaining steps priced by
        it, scaled by how the recent steps ran against it (a step's fixed cost makes time per
        token differ between narrow and wide batches, so tokens / recent tokens/s is off by
        the width mix of the recent window). Without: remaining tokens / recent tokens/s."""
        if self.step_time is not None and self.recent:
            expected = sum(self.step_time(r[2] / self.world) for r in self.recent)
            left = sum(self.step_time(t) for t in self.plan.tokens_per_step[step:])
            return left * secs / max(expected, 1e-9)
        if tokens_s <= 0:
            return None
        return self.plan.remaining_tokens(step) * self.world / tokens_s
