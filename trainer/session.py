"""Everything a run needs in memory: data, tokenizer, model, task adapter, optimizer and plan.

Also the calibration that makes the time estimate honest: a few real forward+backward passes on
batches of this run's own data, timed before the first optimizer step.
"""

from __future__ import annotations

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
from trainer.loop import Hooks, Loop, Plan, make_optimizer, make_plan, make_scheduler
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
        """The training loop over this session's model, optimizer, schedule and plan."""
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
        model = build_classifier(cfg, src, len(labels), device)
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

    With several `thread_options` (CPU), batches alternate between them and the fastest is
    kept; returns (estimate, threads chosen; 0 = left as it was)."""
    batches = epoch_batches(
        s.task.lengths, s.cfg.batch_size, s.cfg.seed + 7, 0, s.cfg.group_by_length
    )
    picks = batches[1 : 1 + CALIBRATION_BATCHES] or batches[:1]
    rng = torch.get_rng_state()
    s.train_model.train()
    _fwd_bwd(s, picks[0])  # warm-up: one-time kernel selection and allocation
    rates: dict[int, list[float]] = {n: [] for n in thread_options}
    t_start = time.perf_counter()
    live = list(thread_options)
    for i, b in enumerate(picks * 2):
        enough = min(len(rates[n]) for n in live) >= 3
        if enough and time.perf_counter() - t_start > CALIBRATION_S:
            break
        n = live[i % len(live)]
        rates[n].append(_timed_rate(s, b, n))
        live = _drop_hopeless(rates, live)
    torch.set_rng_state(rng)
    s.optimizer.zero_grad(set_to_none=True)
    best = max((n for n in rates if rates[n]), key=lambda n: statistics.median(rates[n]))
    if best:
        torch.set_num_threads(best)
    work = _work(s)
    flops_s = statistics.median(rates[best])
    estimate = est.predict_time(
        s.size, work[0], work[1], work[2], s.cfg.method, flops_s, s.device, "measured"
    )
    return estimate, best


def _drop_hopeless(rates: dict[int, list[float]], live: list[int]) -> list[int]:
    """Stop timing a thread count that is already 4x slower than another (a step with
    oversubscribed threads can take seconds)."""
    if len(live) < 2 or any(not rates[n] for n in live):
        return live
    best = max(statistics.median(rates[n]) for n in live)
    return [n for n in live if statistics.median(rates[n]) * 4 >= best]


def _timed_rate(s: Session, indices: list[int], threads: int) -> float:
    """FLOP/s of one forward+backward pass on these examples."""
    if threads:
        torch.set_num_threads(threads)
    t0 = time.perf_counter()
    _fwd_bwd(s, indices)
    if s.device == "cuda":
        torch.cuda.synchronize()
    tokens = padded_tokens([indices], s.task.lengths)
    seconds = time.perf_counter() - t0
    return est.measured_flops_per_s(s.size, tokens, 0, tokens / len(indices), s.cfg.method, seconds)


def _fwd_bwd(s: Session, indices: list[int]) -> None:
    from trainer.tasks import autocast_ctx

    batch = s.task.batch(indices, s.device)
    with autocast_ctx(s.device, s.amp):
        loss = s.task.loss(s.train_model, batch)
    loss.backward()
