"""One training run from config to exported adapter, in this process.

Used by the foreground CLI, by background jobs (`trainer.jobs` starts `python -m trainer train`)
and by every rank under `torchrun` / `accelerate launch` (only rank 0 writes the run folder).
Phases: load data + model -> estimate -> warm start (or resume) -> loop -> held-out metrics ->
export -> optional learning curve. Status transitions: running -> completed | failed | cancelled.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from core.data import DataError
from core.models import ModelNotFoundError
from trainer import estimate as est
from trainer import procs
from trainer.calibration import calibrate, estimate_status, prior_estimate
from trainer.checkpoint import (
    StorageError,
    UnsafeCheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from trainer.config import InputError, TrainConfig
from trainer.distributed import (
    Dist,
    any_rank,
    barrier,
    init_distributed,
    resolve_device,
    resolve_precision,
    shutdown,
)
from trainer.loop import Hooks, LoopState, Stopped
from trainer.procs import StopFlag
from trainer.report import finish
from trainer.runfolder import (
    RunFolder,
    new_run_id,
    storage_errno,
    storage_reason,
    write_json_atomic,
)
from trainer.runguard import (
    check_data_unchanged,
    claim_run,
    record_data,
    remove_temporaries,
)
from trainer.session import Session, build_session, load_data

BAD_INPUT = (DataError, ModelNotFoundError, InputError, UnsafeCheckpointError)
log = logging.getLogger("trainer")


class RunFailed(RuntimeError):
    """The run ended as failed; the message is the reason written to status.json."""


@dataclass
class Ctx:
    cfg: TrainConfig
    run: RunFolder
    dist: Dist
    device: str
    precision: str
    threads: int
    stop: StopFlag
    resume: bool
    lock_fd: int | None = None  # the run's lock, held until this process ends
    t0: float = field(default_factory=time.perf_counter)
    info: dict[str, Any] = field(default_factory=dict)


def train(cfg: TrainConfig, resume: bool = False, stop: StopFlag | None = None) -> dict[str, Any]:
    """Run (or resume) training; returns the summary. Raises DataError/ModelNotFoundError/
    InputError for bad input, RunFailed for other failures, after writing status.json.
    `stop`: an already installed SIGTERM flag (the CLI installs one before importing torch)."""
    ctx = _open_run(cfg, resume, stop)
    run, cfg = ctx.run, ctx.cfg
    try:
        return _execute(ctx)
    except Stopped:
        return _cancelled(ctx)
    except BAD_INPUT as exc:
        run.write_status("failed", str(exc), phase="failed")
        raise
    except torch.cuda.OutOfMemoryError:
        raise _fail(ctx, _oom_reason(cfg, "CUDA")) from None
    except MemoryError:
        raise _fail(ctx, _oom_reason(cfg, "CPU")) from None
    except StorageError as exc:
        raise _fail(ctx, str(exc)) from None
    except Exception as exc:
        code = storage_errno(exc)
        if code is not None:  # a full disk or a read-only folder: one line, no traceback
            raise _fail(ctx, storage_reason(code, run.path)) from None
        log.error("%s", traceback.format_exc())
        raise _fail(ctx, f"{type(exc).__name__}: {exc}") from None
    finally:
        shutdown(ctx.dist)


def _open_run(cfg: TrainConfig, resume: bool, stop: StopFlag | None) -> Ctx:
    """Signals, device, threads, process group, run folder, config.json and status running."""
    if stop is None:
        stop = StopFlag()
        stop.install()
    _quiet_library_warnings()
    device = resolve_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    local_procs = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))  # DDP ranks on this machine
    threads = cfg.threads or max(1, len(os.sched_getaffinity(0)) // local_procs)
    if device == "cpu":
        torch.set_num_threads(threads)
    dist = init_distributed(device)
    cfg = replace(cfg, run_id=_agree_run_id(cfg, dist))
    run = RunFolder(Path(cfg.runs_dir) / cfg.run_id, writer=dist.is_main)
    lock_fd = claim_run(run, resume)
    _setup_logging(run, dist)
    if dist.is_main and not resume:
        write_json_atomic(run.config_path, cfg.to_dict())
    pid = os.getpid()
    run.write_status(
        "running",
        "",
        pid=pid,
        pid_start=procs.start_time(pid),
        device=device,
        precision=precision,
        world_size=dist.world,
        phase="loading",
        resumed=resume,
        gate_override=cfg.gate_override,
        ended_at=None,
        **est.loading_eta(cfg.runs_dir, device, cfg.base_model, cfg.task),
    )
    return Ctx(cfg, run, dist, device, precision, threads, stop, resume, lock_fd)


def _execute(ctx: Ctx) -> dict[str, Any]:
    cfg = ctx.cfg
    log.info(
        "run %s: device=%s precision=%s threads=%d world=%d",
        cfg.run_id,
        ctx.device,
        ctx.precision,
        ctx.threads,
        ctx.dist.world,
    )
    check_data_unchanged(ctx.run, cfg, ctx.resume)
    data = load_data(cfg)
    record_data(ctx.run, cfg, data.split_id, ctx.resume)
    for w in data.warnings:
        log.warning("%s", w)
    s = build_session(cfg, data, ctx.device, ctx.precision, ctx.dist)
    ctx.info["setup_s"] = round(time.perf_counter() - ctx.t0, 2)
    _check_stop(ctx)
    _estimate(ctx, s)
    state = _start_state(ctx, s)
    state = _train_loop(ctx, s, state)
    barrier(ctx.dist)
    if not ctx.dist.is_main:
        return {"run_id": cfg.run_id, "rank": ctx.dist.rank, "status": "completed"}
    summary = finish(ctx, s, state)
    if ctx.stop():  # the stop came after the last training step: say what happened to it
        note = (
            f"a stop request ({ctx.stop.signal_name or 'signal'}) arrived during the final "
            "evaluation; training had finished, so the run was completed"
        )
        ctx.run.write_status("completed", note, phase="completed")
        log.info("%s", note)
        summary["note"] = note
    return summary


def _estimate(ctx: Ctx, s: Session) -> None:
    key = est.calibration_key(ctx.device, ctx.precision, s.base_model, ctx.threads)
    calibration = est.load_calibration(ctx.cfg.runs_dir, key)
    prior = prior_estimate(s, ctx.threads, calibration)
    options = (ctx.threads, 1) if _tune_threads(ctx) else (0,)
    measured, chosen = calibrate(s, options, est.steps_factor(calibration))
    ctx.threads = chosen or ctx.threads
    mem = est.estimate_memory_bytes(
        s.size,
        s.n_trainable,
        ctx.cfg.batch_size,
        max(s.task.lengths),
        ctx.precision,
        ctx.cfg.method,
        ctx.device,
        resident=est.resident_bytes() if ctx.device == "cpu" else None,
    )
    ctx.info.update(
        prior=prior.to_dict(),
        measured=measured.to_dict(),
        calibration_key=key,
        memory_estimate_gb=round(mem["total"] / 1e9, 3),
    )
    ctx.run.update_status(
        predicted_train_s=round(measured.seconds, 1),
        predicted_train_s_prior=round(prior.seconds, 1),
        total_steps=s.plan.total_steps,
        memory_estimate_gb=round(mem["total"] / 1e9, 3),
        **estimate_status(s, measured, not (ctx.resume and ctx.run.latest_checkpoint())),
    )
    if ctx.dist.is_main:  # the next run's first ETA
        cfg, loading_s = ctx.cfg, time.perf_counter() - ctx.t0
        est.save_loading_s(cfg.runs_dir, ctx.device, cfg.base_model, cfg.task, loading_s)
    log.info(
        "estimate: %.0f s before calibration (%s), %.0f s measured; %d steps, %d tokens, "
        "%d thread(s)",
        prior.seconds,
        prior.source,
        measured.seconds,
        s.plan.total_steps,
        s.plan.total_tokens,
        ctx.threads,
    )


def _start_state(ctx: Ctx, s: Session) -> LoopState:
    ckpt = ctx.run.latest_checkpoint() if ctx.resume else None
    if ckpt is not None:
        state, _ = load_checkpoint(ckpt, s.model, s.optimizer, s.scheduler)
        ctx.run.trim_metrics(state.step)  # the steps after the checkpoint are replayed
        log.info("resumed from %s (step %d of %d)", ckpt.name, state.step, s.plan.total_steps)
        ctx.info["resumed_from_step"] = state.step
        return state
    state = LoopState()
    if s.task_name == "classification" and ctx.cfg.warm_start:
        state.train_s += _warm_start(ctx, s)
        state.train_cpu_s += (ctx.info.get("warm_start") or {}).get("cpu_s", 0.0)
    return state


def _warm_start(ctx: Ctx, s: Session) -> float:
    from trainer.probe import warm_start_head

    ctx.run.update_status(phase="warm_start")
    if ctx.dist.is_main:  # DDP copies rank 0's head to every rank at the first sync
        try:
            t = warm_start_head(
                s.model, s.task, len(s.labels), ctx.device, s.amp, ctx.cfg.seed, ctx.stop
            )
        except InterruptedError:
            raise Stopped() from None
        log.info("warm start (linear probe): %s", t)
        ctx.info["warm_start"] = t
        _broadcast_head(ctx, s)
        return float(t["total_s"])
    _broadcast_head(ctx, s)
    return 0.0


def _broadcast_head(ctx: Ctx, s: Session) -> None:
    if ctx.dist.enabled:
        import torch.distributed as dist

        for p in s.model.head.parameters():
            dist.broadcast(p.data, src=0)


def _train_loop(ctx: Ctx, s: Session, state: LoopState) -> LoopState:
    run, cfg = ctx.run, ctx.cfg
    ctx.run.update_status(phase="training")

    def on_log(row: dict[str, Any]) -> None:
        run.append_metrics({**row, "time": round(time.time(), 3)})
        if "loss" in row:
            run.update_status(
                step=row["step"],
                epoch=row["epoch"],
                eta_s=row["eta_s"],
                progress=round(row["step"] / row["total_steps"], 4),
            )
            log.info(
                "step %d/%d loss %.4f %.1f samples/s eta %ss",
                row["step"],
                row["total_steps"],
                row["loss"],
                row["samples_per_s"],
                row["eta_s"],
            )

    def on_eval() -> dict[str, Any]:
        from trainer.finalize import quick_eval

        return quick_eval(s, cfg.eval_samples) if ctx.dist.is_main else {}

    hooks = Hooks(
        log=on_log,
        evaluate=on_eval,
        checkpoint=lambda st: save_checkpoint(run, s.model, s.optimizer, s.scheduler, st),
        should_stop=lambda: any_rank(ctx.dist, ctx.stop(), ctx.device),
    )
    line = (ctx.info.get("measured") or {}).get("step_time")
    step_time = est.StepTime(**line) if line else None
    state = s.loop(hooks, ctx.dist.rank, ctx.dist.world, step_time).run(state)
    save_checkpoint(run, s.model, s.optimizer, s.scheduler, state)
    return state


def _tune_threads(ctx: Ctx) -> bool:
    """Auto threads on a CPU (not under DDP): the calibration also times 1 thread and keeps
    the faster. With all cores, torch's OpenMP regions wait for every thread, and when other
    processes share the cores a descheduled thread stalls each region: measured on the 2-core
    dev machine under load, 4-10 samples/s with 2 threads against ~165 with 1 (quiet, 2 threads
    are ~1.7x faster). During training `loop.ThreadGovernor` re-chooses it as the load changes."""
    return ctx.device == "cpu" and ctx.cfg.threads == 0 and not ctx.dist.enabled and ctx.threads > 1


def _check_stop(ctx: Ctx) -> None:
    if ctx.stop():
        raise Stopped()


def _cancelled(ctx: Ctx) -> dict[str, Any]:
    ckpt = ctx.run.latest_checkpoint()
    how = ctx.stop.signal_name or "stop request"
    if ckpt is not None:
        reason = (
            f"cancelled ({how}); checkpoint {ckpt.name} saved - continue with "
            f"`python -m trainer resume {ctx.cfg.run_id} --runs-dir {ctx.run.path.parent}`"
        )
    else:
        reason = f"cancelled ({how}) before the first training step; no checkpoint"
    # The status names the step the checkpoint holds (a resume continues from there), not
    # the last logged one.
    step = int(ckpt.name.split("-")[1]) if ckpt is not None else 0
    total = (ctx.run.status() or {}).get("total_steps")
    at = {"step": step, "progress": round(step / total, 4)} if total else {"step": step}
    ctx.run.write_status("cancelled", reason, phase="cancelled", checkpoint_step=step, **at)
    log.info("%s", reason)
    return {
        "run_id": ctx.cfg.run_id,
        "run_dir": str(ctx.run.path),
        "status": "cancelled",
        "reason": reason,
        "device": ctx.device,
    }


def _fail(ctx: Ctx, reason: str) -> RunFailed:
    remove_temporaries(ctx.run)
    try:
        ctx.run.write_status("failed", reason, phase="failed")
    except OSError as exc:  # even the status cannot be written: the reason still goes out
        log.error("could not record the failure in %s: %s", ctx.run.status_path, exc)
    log.error("failed: %s", reason)
    return RunFailed(reason)


def _oom_reason(cfg: TrainConfig, where: str) -> str:
    smaller = max(1, cfg.batch_size // 2)
    fix = f"lower --batch-size (e.g. {smaller}) or --max-length (now {cfg.max_length})"
    if where == "CUDA" and cfg.method != "qlora":
        fix += ", or use --method qlora"
    return f"{where} out of memory at batch_size={cfg.batch_size}: {fix}"


def _agree_run_id(cfg: TrainConfig, dist: Dist) -> str:
    run_id = cfg.run_id or new_run_id()
    if dist.enabled and cfg.run_id is None:
        import torch.distributed as tdist

        box = [run_id]
        tdist.broadcast_object_list(box, src=0)
        run_id = box[0]
    return run_id


def _setup_logging(run: RunFolder, dist: Dist) -> None:
    """Log lines to stderr; also to stdout.log unless the job manager already points stdout and
    stderr there (TRAINER_MANAGED=1)."""
    log.setLevel(logging.INFO)
    log.propagate = False
    logging.raiseExceptions = False  # a full disk must not turn log lines into tracebacks
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()
    if not dist.is_main:
        log.addHandler(logging.NullHandler())
        return
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if os.environ.get("TRAINER_MANAGED") != "1":
        handlers.append(logging.FileHandler(run.stdout_path))
    for h in handlers:
        h.setFormatter(fmt)
        log.addHandler(h)


def _quiet_library_warnings() -> None:
    """Known, harmless library notices that would fill stdout.log on every run."""
    for pattern in (
        ".*is_gradient_checkpointing.*",  # transformers 5 deprecation, triggered inside peft
        ".*Could not find a config file.*",  # peft, for the GGUF base folder
    ):
        warnings.filterwarnings("ignore", message=pattern)
