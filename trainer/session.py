"""Everything a run needs in memory: data, tokenizer, model, task adapter, optimizer and plan.

Also the calibration that makes the time estimate honest: a few real forward+backward passes on
batches of this run's own data, timed before the first optimizer step.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from core.split import Dataset, prepare_dataset
from trainer import estimate as est
from trainer.batching import epoch_batches, padded_tokens
from trainer.config import TrainConfig
from trainer.distributed import Dist, amp_dtype
from trainer.loop import (
    Hooks,
    Loop,
    Plan,
    ThreadGovernor,
    make_optimizer,
    make_plan,
    make_scheduler,
)
from trainer.model import (
    ModelSource,
    build_causal_lm,
    build_classifier,
    count_parameters,
    load_tokenizer,
    model_dims,
    resolve_source,
)
from trainer.tasks import ClassificationTask, GenerationTask

CALIBRATION_BATCHES = 12  # at most
CALIBRATION_S = 1.5  # time forward+backward passes for at least this long


def load_data(cfg: TrainConfig) -> Dataset:
    return prepare_dataset(cfg.data_spec())


@dataclass
class Session:
    cfg: TrainConfig
    data: Dataset
    task_name: str
    base_model: str
    source: ModelSource
    tokenizer: Any
    model: nn.Module  # unwrapped (DDP wraps a view of it for training)
    train_model: nn.Module  # what the loop calls: the model or its DDP wrapper
    task: Any  # ClassificationTask | GenerationTask
    labels: list[str]
    device: str
    precision: str
    plan: Plan
    optimizer: torch.optim.Optimizer
    scheduler: Any
    size: est.ModelSize
    n_trainable: int

    @property
    def amp(self) -> torch.dtype | None:
        return amp_dtype(self.precision)

    def loop(self, hooks: Hooks, rank: int = 0, world: int = 1) -> Loop:
        """The training loop over this session's model, optimizer, schedule and plan; on a
        CPU with automatic threads, a governor re-chooses the thread count as the load changes."""
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        governor = None
        if self.device == "cpu" and self.cfg.threads == 0 and world == 1 and cores > 1:
            governor = ThreadGovernor(cores, torch.get_num_threads())
        return Loop(
            self.cfg,
            self.train_model,
            self.task,
            self.optimizer,
            self.scheduler,
            self.plan,
            self.device,
            self.amp,
            hooks,
            rank,
            world,
            governor=governor,
        )


def build_session(
    cfg: TrainConfig,
    data: Dataset,
    device: str,
    precision: str,
    dist: Dist,
    train_rows: list[int] | None = None,
) -> Session:
    """`train_rows` restricts training to a subset (learning curve)."""
    base = cfg.resolved_base_model(data.task)
    src = resolve_source(base)
    tok = load_tokenizer(src)
    rows = train_rows if train_rows is not None else list(range(len(data.train_texts)))
    labels = data.labels if data.task == "classification" else []
    torch.manual_seed(cfg.seed)
    model, task = _model_and_task(cfg, data, src, tok, rows, labels, device, precision)
    train_model = model
    if dist.enabled:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [dist.local_rank] if device == "cuda" else None
        train_model = DDP(model, device_ids=ids)
    plan = make_plan(cfg, task.lengths, dist.rank, dist.world)
    opt = make_optimizer(model, cfg)
    sched = make_scheduler(opt, plan.total_steps, cfg.warmup_ratio)
    size, trainable = _model_size(model, cfg, data.task)
    return Session(
        cfg,
        data,
        data.task,
        base,
        src,
        tok,
        model,
        train_model,
        task,
        labels,
        device,
        precision,
        plan,
        opt,
        sched,
        size,
        trainable,
    )


def _model_and_task(cfg, data, src, tok, rows, labels, device, precision) -> tuple[nn.Module, Any]:
    texts = [data.train_texts[i] for i in rows]
    if data.task == "classification":
        code = {name: i for i, name in enumerate(labels)}
        y = [code[data.train_labels[i]] for i in rows]
        model = build_classifier(cfg, src, len(labels), device, precision)
        return model, ClassificationTask(tok, texts, y, cfg.max_length, cfg.label_smoothing)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    model = build_causal_lm(cfg, src, device, dtype)
    answers = [data.train_labels[i] for i in rows]
    return model, GenerationTask(tok, texts, answers, cfg.max_length)


def _model_size(model: nn.Module, cfg: TrainConfig, task: str) -> tuple[est.ModelSize, int]:
    """(size for the FLOPs model, trainable parameter count)."""
    total, trainable, emb = count_parameters(model)
    layers, hidden, heads = model_dims(_hf_config(model))
    matmul = total - emb - trainable * (cfg.method != "full")
    if task == "generation" and _tied_lm_head(model):
        matmul += model.get_output_embeddings().weight.numel()  # tied LM head: a matmul per token
    vocab = int(getattr(_hf_config(model), "vocab_size", 0) or 0) if task == "generation" else 0
    return est.ModelSize(total, matmul, layers, hidden, heads, vocab), trainable


def _tied_lm_head(model: nn.Module) -> bool:
    out, inp = model.get_output_embeddings(), model.get_input_embeddings()
    return out is not None and inp is not None and out.weight is inp.weight


def _hf_config(model: nn.Module):
    inner = model.encoder if hasattr(model, "encoder") else model
    return inner.config


def prior_estimate(s: Session, threads: int, calibration: dict | None) -> est.TimeEstimate:
    """Before anything runs: FLOPs / (calibration file or default FLOP/s)."""
    flops_s = est.effective_flops(s.device, s.precision, threads, calibration=calibration)
    source = "calibration file" if calibration else "default"
    work = _work(s)
    return est.predict_time(
        s.size, work[0], work[1], work[2], s.cfg.method, flops_s, s.device, source
    )


def _work(s: Session) -> tuple[int, int, float]:
    """(tokens, steps, mean padded length) of the whole run. The warm start (one forward pass
    over the training split + the probe fit) is counted as the training tokens of equal FLOPs."""
    tokens = s.plan.total_tokens
    if s.task_name == "classification" and s.cfg.warm_start:
        from trainer.probe import probe_flops

        per_token = est.flops_per_token(s.size, s.plan.mean_seq, s.cfg.method)
        forward = est.flops_per_token(s.size, s.plan.mean_seq, "forward") * _probe_tokens(s)
        fit = probe_flops(len(s.task.lengths), s.size.hidden, len(s.labels))
        tokens += int((forward + fit) / per_token)
    return tokens, s.plan.total_steps, s.plan.mean_seq


def _probe_tokens(s: Session) -> int:
    from trainer.batching import sorted_chunks

    chunks = sorted_chunks(s.task.lengths, 128)
    return padded_tokens(chunks, s.task.lengths)


def calibrate(s: Session, thread_options: tuple[int, ...] = (0,)) -> tuple[est.TimeEstimate, int]:
    """Time real forward+backward passes on this run's batches (no optimizer step, RNG
    restored) for at least CALIBRATION_S seconds; predict the run from the median FLOP/s of
    those batches (the median shrugs off a burst of load from other processes).

    A padded width met for the first time also pays for building its kernels (oneDNN JITs a
    matmul per shape: ~1.6 ms per op with AMX, ~40 ms per new width for MiniLM), so such a batch
    runs twice: the second pass gives the rate, the difference the cost per new width, charged
    once per width of the run's plan not yet seen. The optimizer step is timed on copies.

    With several `thread_options` (CPU), batches alternate between them and the fastest is
    kept; returns (estimate, threads chosen; 0 = left as it was)."""
    batches = epoch_batches(
        s.task.lengths, s.cfg.batch_size, s.cfg.seed + 7, 0, s.cfg.group_by_length
    )
    picks = batches[1 : 1 + CALIBRATION_BATCHES] or batches[:1]
    rng = torch.get_rng_state()
    s.train_model.train()
    _fwd_bwd(s, picks[0])  # warm-up: one-time kernel selection and allocation
    seen, shape_s = {_width(s, picks[0])}, []
    _CPU_SHARE[:] = [0.0, 0.0]
    rates: dict[int, list[float]] = {n: [] for n in thread_options}
    t_start = time.perf_counter()
    live = list(thread_options)
    for i, b in enumerate(picks * 2):
        enough = min(len(rates[n]) for n in live) >= 3
        if enough and time.perf_counter() - t_start > CALIBRATION_S:
            break
        n = live[i % len(live)]
        seconds = _timed(s, b, n)
        if _width(s, b) not in seen:  # first pass built kernels: time the batch again
            seen.add(_width(s, b))
            warm = _timed(s, b, n)
            shape_s.append(max(seconds - warm, 0.0))
            seconds = warm
        rates[n].append(_rate(s, b, seconds))
        live = _drop_hopeless(rates, live)
    opt_s = _optimizer_step_s(s)
    torch.set_rng_state(rng)
    s.optimizer.zero_grad(set_to_none=True)
    best = max((n for n in rates if rates[n]), key=lambda n: statistics.median(rates[n]))
    if best:
        torch.set_num_threads(best)
    shape = statistics.median(shape_s) if shape_s else 0.0
    warm = 0.0
    if s.task_name == "classification" and s.cfg.warm_start:
        warm = _warm_start_s(s, shape)
    return predict_run(s, rates[best], opt_s, shape, seen, warm), best


def estimate_status(s: Session, measured: est.TimeEstimate, warm_start_next: bool) -> dict:
    """Status keys written once the estimate is made: the prediction's range and parts, what is
    left of the starting phases from now (the warm start, if one comes next) as `phase_eta_s`
    from `phase_started_at`, and the CPU kernels in use."""
    parts = measured.parts
    out: dict[str, Any] = {
        "predicted_train_s_range": list(measured.to_dict()["range_s"] or []),
        "predicted_steps_s": round(parts.get("steps", 0.0) + parts.get("new_widths", 0.0), 1),
        "phase_eta_s": round(parts.get("warm_start", 0.0) if warm_start_next else 0.0, 1),
        "phase_started_at": round(time.time(), 3),
    }
    if s.device == "cpu":
        from core.cpu import matrix_flags
        from trainer.model import auto_cpu_precision, cpu_flags

        units = matrix_flags(cpu_flags())
        out["cpu_matrix_units"] = units
        out["kernel"] = f"{s.precision} ({units[0] if units else 'no matrix units'})"
        if s.cfg.precision == "auto":
            out["precision_why"] = auto_cpu_precision()[1]
    return out


def predict_run(
    s: Session,
    rates: list[float],
    step_s: float,
    shape_s: float,
    seen: set[int],
    warm_start_s: float,
) -> est.TimeEstimate:
    """Training seconds: the plan's padded tokens at the median measured FLOP/s, plus each
    optimizer step, plus building kernels for each width not met in calibration, plus the
    warm start; with a (low, high) range from the spread of the rates."""
    flops_s = statistics.median(rates)
    steps = est.predict_time(
        s.size,
        s.plan.total_tokens,
        s.plan.total_steps,
        s.plan.mean_seq,
        s.cfg.method,
        flops_s,
        s.device,
        "measured",
        overhead_s=step_s,
    )
    new_widths = len(set(s.plan.widths) - seen)
    parts = {
        "steps": steps.seconds,
        "new_widths": new_widths * shape_s,
        "warm_start": warm_start_s,
    }
    seconds = sum(parts.values())
    steps.seconds, steps.parts = seconds, parts
    share = _CPU_SHARE[0] / _CPU_SHARE[1] if s.device == "cpu" and _CPU_SHARE[1] else 1.0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    steps.range_s = est.spread_range(seconds, rates, share, load, cores)
    steps.parts["cpu_share"] = share
    return steps


def _width(s: Session, indices: list[int]) -> int:
    return max(s.task.lengths[i] for i in indices)


def _optimizer_step_s(s: Session, repeats: int = 3) -> float:
    """Seconds of one optimizer step (AdamW over the trainable parameters), timed on copies
    so the real optimizer's state is untouched."""
    groups = []
    for g in s.optimizer.param_groups:
        copies = [p.detach().clone().requires_grad_(True) for p in g["params"]]
        for c in copies:
            c.grad = torch.zeros_like(c)
        groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": copies})
    opt = type(s.optimizer)(groups)
    opt.step()  # first step allocates the moments
    t0 = time.perf_counter()
    for _ in range(repeats):
        opt.step()
    return (time.perf_counter() - t0) / repeats


def _warm_start_s(s: Session, shape_s: float) -> float:
    """Seconds of the warm start: one forward pass over the training split in length-sorted
    chunks (as `probe.warm_start_head` runs it), timed on a middle chunk (the fastest of two
    passes after a first that builds its kernels) and scaled by tokens; each distinct chunk
    width pays a third of a training width's kernel cost (forward only); plus the probe fit
    at the same FLOP/s."""
    from trainer.batching import sorted_chunks
    from trainer.probe import probe_flops
    from trainer.tasks import embed_or_score

    chunks = sorted_chunks(s.task.lengths, 128)
    mid = chunks[len(chunks) // 2]
    ids = [s.task.ids[i] for i in mid]
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        embed_or_score(s.model.features, ids, s.tokenizer.pad_token_id, s.device, s.amp)
        times.append(time.perf_counter() - t0)
    s.train_model.train()
    per_token = est.flops_per_token(s.size, s.plan.mean_seq, "forward")
    flops_s = per_token * padded_tokens([mid], s.task.lengths) / max(min(times[1:]), 1e-6)
    tokens = padded_tokens(chunks, s.task.lengths)
    widths = len({_width(s, c) for c in chunks})
    fit = probe_flops(len(s.task.lengths), s.size.hidden, len(s.labels))
    return (per_token * tokens + fit) / flops_s + widths * shape_s / 3


def _drop_hopeless(rates: dict[int, list[float]], live: list[int]) -> list[int]:
    """Stop timing a thread count that is already 4x slower than another (a step with
    oversubscribed threads can take seconds)."""
    if len(live) < 2 or any(not rates[n] for n in live):
        return live
    best = max(statistics.median(rates[n]) for n in live)
    return [n for n in live if statistics.median(rates[n]) * 4 >= best]


_CPU_SHARE: list[float] = [0.0, 0.0]  # (CPU s / threads, wall s) over the timed passes


def _timed(s: Session, indices: list[int], threads: int) -> float:
    """Seconds of one forward+backward pass on these examples."""
    if threads:
        torch.set_num_threads(threads)
    t0, c0 = time.perf_counter(), time.process_time()
    _fwd_bwd(s, indices)
    if s.device == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    _CPU_SHARE[0] += (time.process_time() - c0) / torch.get_num_threads()
    _CPU_SHARE[1] += wall
    return wall


def _rate(s: Session, indices: list[int], seconds: float) -> float:
    """FLOP/s of a forward+backward pass on these examples that took `seconds`."""
    tokens = padded_tokens([indices], s.task.lengths)
    return est.measured_flops_per_s(s.size, tokens, 0, tokens / len(indices), s.cfg.method, seconds)


def _fwd_bwd(s: Session, indices: list[int]) -> None:
    from trainer.tasks import autocast_ctx

    batch = s.task.batch(indices, s.device)
    with autocast_ctx(s.device, s.amp):
        loss = s.task.loss(s.train_model, batch)
    loss.backward()
