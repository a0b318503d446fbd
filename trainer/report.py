"""The end of a run: held-out metrics, predictions.csv, adapter export, predicted vs actual
time, the optional learning curve, and status `completed`. Rank 0 only."""

from __future__ import annotations

import logging
import time
from typing import Any

import torch

from trainer import estimate as est
from trainer.finalize import export_adapter, export_merged, predict_test, score, write_predictions
from trainer.loop import LoopState
from trainer.procs import peak_rss_gb
from trainer.runfolder import write_json_atomic
from trainer.session import Session

log = logging.getLogger("trainer")
TIMING_KEYS = (
    "train_s", "train_cpu_s", "train_samples_per_s", "train_tokens_per_s", "predicted_train_s",
    "predicted_train_s_prior", "warm_start_s", "eval_s", "wall_s", "n_train", "n_test",
    "gate_override", "steps", "epochs", "items_per_s", "latency_ms_per_item",
)  # fmt: skip
SUMMARY_KEYS = (
    "accuracy",
    "macro_f1",
    "accuracy_ci95",
    "macro_f1_ci95",
    "exact_match",
    "token_f1",
    "exact_match_ci95",
    "token_f1_ci95",
)


def finish(ctx, s: Session, state: LoopState) -> dict[str, Any]:
    run = ctx.run
    run.update_status(phase="evaluating")
    t0 = time.perf_counter()
    preds = predict_test(s)
    metrics = score(s, preds)
    eval_s = time.perf_counter() - t0
    speed = serving_speed(s) if s.task_name == "classification" else {}
    write_predictions(run.predictions_path, s.data.test_ids, s.data.test_labels, preds)
    run.update_status(phase="exporting")
    export_adapter(s, run)
    timing = {**_timing(ctx, s, state, eval_s), **speed}
    curve = _curve(ctx, s, metrics) if ctx.cfg.learning_curve else None
    merged = export_merged(s, run) if ctx.cfg.merge else None
    final = _final_record(ctx, s, metrics, timing, curve, merged)
    write_json_atomic(run.final_metrics_path, final)
    _save_calibration(ctx, s, state)
    summary = _summary(ctx, final)
    run.write_status(
        "completed",
        "",
        phase="completed",
        eta_s=0.0,
        progress=1.0,
        **{
            k: summary[k]
            for k in ("accuracy", "macro_f1", "exact_match", "token_f1", "train_s")
            if k in summary
        },
    )
    log.info("completed: %s", {k: summary.get(k) for k in ("accuracy", "exact_match", "train_s")})
    return summary


def _final_record(ctx, s: Session, metrics, timing, curve, merged) -> dict[str, Any]:
    return {
        "run_id": ctx.cfg.run_id,
        "task": s.task_name,
        "base_model": s.base_model,
        "method": ctx.cfg.method,
        "device": ctx.device,
        "precision": ctx.precision,
        "threads": ctx.threads,
        "world_size": ctx.dist.world,
        "split_id": s.data.split_id,
        "n_train": len(s.data.train_texts),
        "n_test": len(s.data.test_texts),
        "gate_override": ctx.cfg.gate_override,
        **metrics,
        **timing,
        "params_total": s.size.total,
        "params_trainable": s.n_trainable,
        "memory_estimate_gb": ctx.info.get("memory_estimate_gb"),
        "peak_memory_gb": _peak_memory(ctx.device, peak_rss_gb()),
        "learning_curve": curve,
        "merged_dir": str(merged) if merged else None,
        "warnings": s.data.warnings,
        "estimates": {"prior": ctx.info.get("prior"), "measured": ctx.info.get("measured")},
    }


def _timing(ctx, s: Session, state: LoopState, eval_s: float) -> dict[str, Any]:
    predicted = ctx.info["measured"]["seconds"]
    prior = ctx.info["prior"]["seconds"]
    resumed = "resumed_from_step" in ctx.info
    return {
        "train_s": round(state.train_s, 2),
        "train_cpu_s": round(state.train_cpu_s, 2),
        "warm_start_s": (ctx.info.get("warm_start") or {}).get("total_s", 0.0),
        "train_samples": state.samples,
        "train_tokens": state.tokens,
        "train_samples_per_s": round(state.samples / max(state.train_s, 1e-9), 2),
        "train_tokens_per_s": round(state.tokens / max(state.train_s, 1e-9), 1),
        "steps": state.step,
        "epochs": round(state.step / max(s.plan.steps_per_epoch, 1), 3),
        "predicted_train_s": round(predicted, 2),
        "predicted_train_s_prior": round(prior, 2),
        "predicted_over_actual": round(predicted / max(state.train_s, 1e-9), 3),
        "prediction_note": (
            "run was resumed: train_s sums all segments, the prediction covers the whole run"
            if resumed
            else "predicted from timed forward+backward passes on this run's batches"
        ),
        "setup_s": ctx.info.get("setup_s"),
        "eval_s": round(eval_s, 2),
        "wall_s": round(time.perf_counter() - ctx.t0, 2),
    }


def serving_speed(s: Session) -> dict[str, float]:
    """Answer speed measured exactly as the RAG baseline's (rag_baseline.evaluate): the first
    THROUGHPUT_SAMPLE held-out texts in one batch from raw text, then LATENCY_SAMPLE texts one
    at a time (median), so the two per-item times compare."""
    import statistics

    from rag_baseline.evaluate import LATENCY_SAMPLE, THROUGHPUT_SAMPLE
    from trainer.tasks import classify

    def run(texts: list[str]) -> float:
        t0 = time.perf_counter()
        classify(s.model, s.tokenizer, texts, s.cfg.max_length, s.device, s.amp).argmax(1)
        return time.perf_counter() - t0

    texts = s.data.test_texts[:THROUGHPUT_SAMPLE]
    batch_s = run(texts)
    single = [run([t]) for t in s.data.test_texts[:LATENCY_SAMPLE]]
    return {
        "items_per_s": round(len(texts) / batch_s, 1),
        "latency_ms_per_item": round(1000 * statistics.median(single), 2),
    }


def _peak_memory(device: str, rss_gb: float) -> dict[str, float]:
    out = {"cpu_rss_gb": rss_gb}
    if device == "cuda":
        out["cuda_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 3)
    return out


def _curve(ctx, s: Session, metrics: dict[str, Any]) -> list[dict[str, Any]]:
    from trainer.curve import learning_curve

    ctx.run.update_status(phase="learning_curve")
    return learning_curve(ctx, s, metrics)


def _save_calibration(ctx, s: Session, state: LoopState) -> None:
    """Measured FLOP/s of the steps, for the next run's prior estimate on this device."""
    if state.train_s <= 0 or "resumed_from_step" in ctx.info:
        return
    tokens = ctx.info["measured"]["tokens"]
    flops_s = est.measured_flops_per_s(
        s.size, tokens, s.plan.total_steps, s.plan.mean_seq, ctx.cfg.method, state.train_s
    )
    entry = {"flops_per_s": round(flops_s), "run_id": ctx.cfg.run_id, "time": time.time()}
    key = ctx.info["calibration_key"]
    factor = est.steps_factor(est.load_calibration(ctx.cfg.runs_dir, key))
    observed = _observed_steps_factor(ctx, state)
    if observed is not None:  # else keep what earlier runs learned
        factor = est.learn_steps_factor(factor, observed)
    entry["steps_factor"] = factor
    est.save_calibration(ctx.cfg.runs_dir, key, entry)


def _observed_steps_factor(ctx, state: LoopState) -> float | None:
    """Seconds the steps took over the seconds calibration gave them (before any learned
    factor); None for a run the thread governor re-chose threads in (another process
    disturbed it, so it says nothing about this machine's steady state)."""
    parts = ctx.info["measured"].get("parts") or {}
    used = parts.get("steps_factor") or 1.0
    predicted = parts.get("steps", 0.0) / used
    warm = (ctx.info.get("warm_start") or {}).get("total_s", 0.0)
    steps_s = state.train_s - warm - parts.get("new_widths", 0.0)
    if state.thread_changes or predicted <= 0 or steps_s <= 0:
        return None
    return steps_s / predicted


def _summary(ctx, final: dict[str, Any]) -> dict[str, Any]:
    out = {
        "run_id": ctx.cfg.run_id,
        "run_dir": str(ctx.run.path),
        "status": "completed",
        "task": final["task"],
        "device": ctx.device,
        "precision": ctx.precision,
    }
    out.update({k: final[k] for k in SUMMARY_KEYS + TIMING_KEYS if k in final})
    return out
