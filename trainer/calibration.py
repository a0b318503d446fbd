"""The time estimate made honest: real training steps on this run's own batches, timed before the
first one that counts, then undone.

A step's time is not proportional to its tokens: each step also pays a fixed cost (Python, the
optimizer, small kernels), ~40 ms of a 70-560 ms MiniLM step on a 2-core CPU. A single FLOP/s
taken from a few narrow batches therefore charges the fixed cost again for every token of the
wide ones (measured: +16-23% on 1,540 banking77 rows). So the calibration times whole steps at
widths spread over the plan's range (its token quantiles, the widest included unless one pass
would take longer than MAX_PASS_S) and prices every step of the plan from a robust line of
seconds against tokens (`estimate.fit_step_time`).

A padded width met for the first time also builds its kernels (oneDNN JITs a matmul per shape,
~40 ms per new width for MiniLM), so each timed width runs twice: the second pass gives the
time, the difference the cost per new width, charged once per width of the plan not yet seen.
Run as part of `python -m trainer train`; the parts land in metrics.json's `estimates`.
"""

from __future__ import annotations

import copy
import logging
import os
import statistics
import time
from typing import Any

import torch

from trainer import estimate as est
from trainer.batching import epoch_batches, padded_tokens, sorted_chunks
from trainer.session import Session

# Steps timed at these quantiles of one epoch's step tokens. Not the widest (1.1 s of passes on
# 1,540 banking77 rows, ~20% of the calibration): the few steps above the 95th percentile run
# ~30% above the line, ~2% of a run's time.
QUANTILES = (0.0, 0.25, 0.5, 0.75, 0.95)
THREAD_PASSES = 2  # passes of the middle batch per thread option: one builds, one is timed
TIMED_PASSES = 2  # timed passes of each pick after the one that builds its kernels
MAX_PASS_S = 2.0  # a batch whose step would take longer is priced by extrapolation instead

_CPU_SHARE: list[float] = [0.0, 0.0]  # (CPU s / threads, wall s) over the timed passes
log = logging.getLogger("trainer")


def prior_estimate(s: Session, threads: int, calibration: dict | None) -> est.TimeEstimate:
    """Before anything runs: FLOPs / (calibration file or default FLOP/s)."""
    flops_s = est.effective_flops(s.device, s.precision, threads, calibration=calibration)
    source = "calibration file" if calibration else "default"
    tokens = s.plan.total_tokens
    if s.task_name == "classification" and s.cfg.warm_start:
        # the warm start (a forward pass over the training split + the probe fit) counted as
        # the training tokens of equal FLOPs
        from trainer.probe import probe_flops

        per_token = est.flops_per_token(s.size, s.plan.mean_seq, s.cfg.method)
        chunks = sorted_chunks(s.task.lengths, 128)
        forward = est.flops_per_token(s.size, s.plan.mean_seq, "forward")
        forward *= padded_tokens(chunks, s.task.lengths)
        fit = probe_flops(len(s.task.lengths), s.size.hidden, len(s.labels))
        tokens += int((forward + fit) / per_token)
    return est.predict_time(
        s.size, tokens, s.plan.total_steps, s.plan.mean_seq, s.cfg.method, flops_s, s.device, source
    )


def calibrate(
    s: Session, thread_options: tuple[int, ...] = (0,), steps_factor: float = 1.0
) -> tuple[est.TimeEstimate, int]:
    """Time real steps (forward, backward, optimizer) on batches of a shuffled epoch, then put
    the weights, optimizer state and RNG back as they were. With several `thread_options` (CPU)
    the middle batch is timed at each and the fastest kept. `steps_factor`: how much longer
    steps ran in earlier runs here than calibrated (`estimate.steps_factor`). Returns
    (estimate, threads chosen; 0 = left as it was)."""
    batches = epoch_batches(
        s.task.lengths, s.cfg.batch_size, s.cfg.seed + 7, 0, s.cfg.group_by_length
    )
    picks = spread_picks(batches, s.task.lengths, QUANTILES)
    saved, rng = _snapshot(s), torch.get_rng_state()
    s.train_model.train()
    _CPU_SHARE[:] = [0.0, 0.0]
    try:
        best, repeats = _choose_threads(s, picks[len(picks) // 2], thread_options)
        points, shape = _time_points(s, picks, min(repeats))
        warm_start = _warm_start_s(s, shape)
    finally:
        _restore(s, saved)
        torch.set_rng_state(rng)
    if best:
        torch.set_num_threads(best)
    timed = {x for x, _ in points}
    seen = {_width(s, b) for b in picks if _tokens(s, b) in timed}
    log.info(
        "calibration: %s thread(s); step ms by padded tokens: %s",
        best or torch.get_num_threads(),
        ", ".join(f"{x}: {y * 1000:.0f}" for x, y in sorted(points)),
    )
    out = predict_run(s, points, repeats, shape, seen, warm_start, steps_factor)
    return out, best


def _time_points(
    s: Session, picks: list[list[int]], mid_s: float
) -> tuple[list[tuple[int, float]], float]:
    """([(tokens, seconds of a step)], seconds to build a new width's kernels). Every pick's
    first pass builds its kernels; then the picks are timed TIMED_PASSES times more, in turn,
    so that a timed step follows a step of another shape as in training (one pass on this
    2-core VM varies by +-15%; the fit takes the median over all of them). A pick whose step
    the line so far prices above MAX_PASS_S is left out and extrapolated."""
    mid = picks[len(picks) // 2]
    guess, first, kept = {_tokens(s, mid): mid_s}, {}, [mid]
    for b in picks:
        x = _tokens(s, b)
        if x in guess or est.fit_step_time(list(guess.items()))(x) > MAX_PASS_S:
            continue
        first[x] = guess[x] = _timed(s, b)
        kept.append(b)
    kept.sort(key=lambda b: _tokens(s, b))
    samples = [(_tokens(s, mid), mid_s)]
    samples += [(_tokens(s, b), _timed(s, b)) for _ in range(TIMED_PASSES) for b in kept]
    line = est.fit_step_time(samples)
    built = [max(first[x] - line(x), 0.0) for x in first]
    return samples, statistics.median(built) if built else 0.0


def spread_picks(
    batches: list[list[int]], lengths: list[int], quantiles: tuple[float, ...]
) -> list[list[int]]:
    """Batches of distinct padded widths at these quantiles of the epoch's step tokens,
    smallest first; full-size batches only when there are any (an epoch's short last batch is
    priced by extrapolation)."""
    full = [b for b in batches if len(b) == max(len(x) for x in batches)] or batches
    ranked = sorted(full, key=lambda b: padded_tokens([b], lengths))
    out, widths = [], set()
    for q in quantiles:
        b = ranked[round(q * (len(ranked) - 1))]
        w = max(lengths[i] for i in b)
        if w not in widths:
            out.append(b)
            widths.add(w)
    return out


def _choose_threads(s: Session, batch: list[int], options: tuple[int, ...]) -> tuple[int, list]:
    """(fastest thread option, its timed passes of `batch`); each option's first pass builds
    that thread count's kernels and is not counted."""
    timed: dict[int, list[float]] = {}
    for n in options:
        runs = [_timed(s, batch, n) for _ in range(THREAD_PASSES)]
        timed[n] = runs[1:]
    best = min(timed, key=lambda n: min(timed[n]))
    if best:
        torch.set_num_threads(best)
    return best, timed[best]


def predict_run(
    s: Session,
    points: list[tuple[int, float]],
    repeats: list[float],
    shape_s: float,
    seen: set[int],
    warm_start_s: float,
    steps_factor: float = 1.0,
) -> est.TimeEstimate:
    """Training seconds: every planned step priced by the line through the timed (tokens,
    seconds) points (times the in-run factor earlier runs here measured), plus building
    kernels for each width not met in calibration, plus the warm start; with a (low, high)
    range from the spread of the repeated passes and the machine's load."""
    step_time = est.fit_step_time(points)
    steps_s = steps_factor * sum(step_time(t) for t in s.plan.tokens_per_step)
    flops = est.flops_per_token(s.size, s.plan.mean_seq, s.cfg.method) * s.plan.total_tokens
    new_widths = len(set(s.plan.widths) - seen)
    parts = {"steps": steps_s, "new_widths": new_widths * shape_s, "warm_start": warm_start_s}
    seconds = sum(parts.values())
    flops_s = flops / max(steps_s, 1e-9)
    out = est.TimeEstimate(
        seconds, flops, s.plan.total_tokens, s.plan.total_steps, flops_s, "measured"
    )
    out.parts, out.step_time = parts, step_time
    mid = statistics.median(repeats)
    rates = [flops_s * mid / max(r, 1e-9) for r in repeats]  # the passes' spread, as rates
    share = _CPU_SHARE[0] / _CPU_SHARE[1] if s.device == "cpu" and _CPU_SHARE[1] else 1.0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    out.range_s = est.spread_range(seconds, rates, share, load, cores)
    out.parts.update(cpu_share=share, steps_factor=steps_factor)
    return out


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


def _warm_start_s(s: Session, shape_s: float) -> float:
    """Seconds of the warm start, 0 when the run has none: one forward pass over the training
    split in length-sorted chunks (as `probe.warm_start_head` runs it, in eval mode), timed on
    the smallest and the middle chunk, every chunk priced from the line through them; each
    other distinct chunk width pays a third of a training width's kernel cost (forward only);
    plus the probe fit at the same FLOP/s."""
    if s.task_name != "classification" or not s.cfg.warm_start:
        return 0.0
    from trainer.probe import probe_flops

    chunks = sorted_chunks(s.task.lengths, 128)
    points: dict[int, float] = {}
    s.model.eval()
    by_size = sorted(chunks, key=lambda c: _tokens(s, c))  # (sorted_chunks: widest first)
    for c in (by_size[0], by_size[len(by_size) // 2]):
        x = _tokens(s, c)
        guess = est.fit_step_time(list(points.items()))(x) if points else 0.0
        if x not in points and guess <= MAX_PASS_S:
            points[x] = _timed_forward(s, c)
    s.train_model.train()
    chunk_time = est.fit_step_time(list(points.items()))
    seconds = sum(chunk_time(_tokens(s, c)) for c in chunks)
    widths = len({_width(s, c) for c in chunks}) - len(points)
    forward = est.flops_per_token(s.size, s.plan.mean_seq, "forward")
    forward *= padded_tokens(chunks, s.task.lengths)
    fit = probe_flops(len(s.task.lengths), s.size.hidden, len(s.labels))
    return seconds * (1 + fit / max(forward, 1.0)) + max(widths, 0) * shape_s / 3


def _timed_forward(s: Session, chunk: list[int]) -> float:
    """Seconds of the warm start's forward pass over one chunk: a pass after one that builds
    its kernels."""
    from trainer.tasks import embed_or_score

    ids = [s.task.ids[i] for i in chunk]
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        embed_or_score(s.model.features, ids, s.tokenizer.pad_token_id, s.device, s.amp)
        times.append(time.perf_counter() - t0)
    return times[-1]


def _snapshot(s: Session) -> tuple[list[torch.Tensor], dict]:
    """Copies of what a real step changes: the trainable weights and the optimizer's state."""
    weights = [p.detach().clone() for p in s.model.parameters() if p.requires_grad]
    return weights, copy.deepcopy(s.optimizer.state_dict())


def _restore(s: Session, saved: tuple[list[torch.Tensor], dict]) -> None:
    weights, optimizer = saved
    with torch.no_grad():
        for p, w in zip((p for p in s.model.parameters() if p.requires_grad), weights):
            p.copy_(w)
    s.optimizer.load_state_dict(optimizer)
    s.optimizer.zero_grad(set_to_none=True)


def _width(s: Session, indices: list[int]) -> int:
    return max(s.task.lengths[i] for i in indices)


def _tokens(s: Session, indices: list[int]) -> int:
    return padded_tokens([indices], s.task.lengths)


def _timed(s: Session, indices: list[int], threads: int = 0) -> float:
    """Seconds of one real training step on these examples, as `Loop._one` takes it: build
    the batch, forward, backward, optimizer step, gradients freed (the learning-rate schedule
    is left alone: a step of it is microseconds)."""
    from trainer.tasks import autocast_ctx

    if threads:
        torch.set_num_threads(threads)
    t0, c0 = time.perf_counter(), time.process_time()
    batch = s.task.batch(indices, s.device)
    with autocast_ctx(s.device, s.amp):
        loss = s.task.loss(s.train_model, batch)
    loss.backward()
    s.optimizer.step()
    s.optimizer.zero_grad(set_to_none=True)
    if s.device == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    _CPU_SHARE[0] += (time.process_time() - c0) / torch.get_num_threads()
    _CPU_SHARE[1] += wall
    return wall
