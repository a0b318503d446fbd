"""Everything a run needs in memory: data, tokenizer, model, task adapter, optimizer and plan.
The time estimate made from it lives in trainer/calibration.py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from core.split import Dataset, prepare_dataset
from trainer import estimate as est
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

    def loop(
        self, hooks: Hooks, rank: int = 0, world: int = 1, step_time: est.StepTime | None = None
    ) -> Loop:
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
            step_time=step_time,
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
