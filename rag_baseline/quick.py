"""A first answer in seconds at any size: a stratified sample, and a learning curve.

`stratified_sample` picks rows keeping each class's share (at least two per class where it has
them, so the CV folds still work). `learning_curve` scores a method at nested stratified subsets of
its training rows (1/8, 1/4, 1/2, all) on the same held-out items, fits accuracy against log2(size)
over the last three points, and says whether more labelled data would still help (a gain of at
least `HELPS_PER_DOUBLING` per doubling) and, for a quick run on a sample, what the curve projects
at the full training size: the error rate is fitted as a power law of the size (a straight line
in log-log, the usual learning-curve shape), which flattens where a log-linear accuracy fit runs
past 1 (banking77, 2,000-row sample -> all 10,003 rows: log-linear said 0.998, measured 0.938).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

# Rows of the quick estimate. Embedding dominates its time (~75 ticket-length texts/s on one
# loaded core), so 1,500 texts keep the first numbers near 30 s with the imports and model load;
# 1,000 training rows still give every class a share (at least 2) and a 4-point learning curve.
QUICK_TRAIN = 1000
QUICK_TEST = 500
CURVE_FRACTIONS = (0.125, 0.25, 0.5)  # of the training rows, plus all of them
# With a point from the CV fold models (each fitted on (folds - 1) / folds of the rows, scored on
# the held-out split anyway), only the two small subsets are refit: 3/8 of a full fit instead of
# 7/8, the largest refit (1/2) replaced by the folds' 2/3.
REFIT_FRACTIONS = (0.125, 0.25)
HELPS_PER_DOUBLING = 0.01  # accuracy gained per doubling of the labelled data that still helps
MIN_CURVE_ROWS = 20
CEILING = 0.99  # held-out accuracy above which more data has no room left to help


def _class_orders(labels: Sequence[str], seed: int) -> dict[str, list[int]]:
    rng = np.random.default_rng(seed)
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_class[label].append(i)
    return {c: [rows[j] for j in rng.permutation(len(rows))] for c, rows in by_class.items()}


def _take(orders: dict[str, list[int]], n: int, total: int, min_each: int) -> np.ndarray:
    picked: list[int] = []
    for rows in orders.values():
        quota = max(min(len(rows), min_each), round(n * len(rows) / total))
        picked += rows[:quota]
    return np.array(sorted(picked), dtype=np.int64)


def stratified_sample(
    labels: Sequence[str], n: int, seed: int = 0, min_each: int = 2
) -> np.ndarray:
    """Sorted row indices, about `n` of them, each class in proportion (at least `min_each`)."""
    if n >= len(labels):
        return np.arange(len(labels), dtype=np.int64)
    return _take(_class_orders(labels, seed), n, len(labels), min_each)


def nested_subsets(labels: Sequence[str], sizes: Sequence[int], seed: int = 0) -> list[np.ndarray]:
    """Stratified subsets of the given sizes, each contained in the next (one order per class)."""
    orders = _class_orders(labels, seed)
    return [_take(orders, n, len(labels), 1) for n in sizes]


def learning_curve(
    score_rows: Callable[[np.ndarray], float],
    labels: Sequence[str],
    full_accuracy: float,
    method: str,
    seed: int = 0,
    full_size: int | None = None,
    mapper: Callable[[Callable[[np.ndarray], float], list[np.ndarray]], list[float]] | None = None,
    reused: tuple[int, float] | None = None,
) -> dict:
    """Accuracy of `method` at nested fractions of the training rows (`score_rows(rows)` fits on
    those rows and returns held-out accuracy); the last point is `full_accuracy`, already known.

    `full_size`: the size of the whole training split when `labels` is only a sample of it.
    `mapper(score_rows, subsets)` scores the subsets (default one after the other; the full run
    passes `rag_baseline.overlap.map_side_by_side`).
    `reused`: (training rows, held-out accuracy) of models already fitted (the CV folds); then
    only `REFIT_FRACTIONS` are refit and this point takes the place of the half.
    """
    n = len(labels)
    fractions = CURVE_FRACTIONS if reused is None else REFIT_FRACTIONS
    sizes = [int(n * f) for f in fractions if int(n * f) >= MIN_CURVE_ROWS]
    subsets, seen = [], set()
    for rows in nested_subsets(labels, sizes, seed):  # one per class can make sizes collapse
        if len(rows) < n and len(rows) not in seen:
            subsets.append(rows)
            seen.add(len(rows))
    scores = (mapper or _in_turn)(score_rows, subsets)
    points = [{"n_train": len(r), "accuracy": round(a, 4)} for r, a in zip(subsets, scores)]
    if reused is not None and reused[0] not in seen and max(seen, default=0) < reused[0] < n:
        points.append({"n_train": int(reused[0]), "accuracy": round(float(reused[1]), 4)})
    points.append({"n_train": n, "accuracy": round(float(full_accuracy), 4)})
    curve: dict = {"method": method, "points": points}
    if len(points) < 2:
        curve.update(gain_per_doubling=None, more_data_helps=None)
        curve["verdict"] = "too few training rows for a learning curve"
        return curve
    last = points[-3:]
    x = np.log2([p["n_train"] for p in last])
    y = np.array([p["accuracy"] for p in last])
    gain = float(np.polyfit(x, y, 1)[0])
    helps = gain >= HELPS_PER_DOUBLING and points[-1]["accuracy"] < CEILING
    curve.update(gain_per_doubling=round(gain, 4), more_data_helps=helps)
    if full_size and full_size > n:
        curve["projected_at_full"] = {
            "n_train": full_size,
            "accuracy": round(_power_law_projection(last, full_size), 4),
        }
    trend = f"{100 * gain:+.1f} points per doubling of the labelled data"
    curve["verdict"] = (
        f"more labelled data would still help ({trend})"
        if helps
        else f"accuracy has levelled off ({trend}); more labelled data would help little"
    )
    return curve


def _in_turn(fn: Callable[[np.ndarray], float], items: list[np.ndarray]) -> list[float]:
    return [fn(item) for item in items]


def _power_law_projection(points: list[dict], size: int) -> float:
    """Accuracy at `size` from error = a * n^-b fitted on `points` (log-log least squares)."""
    x = np.log([p["n_train"] for p in points])
    err = np.clip([1.0 - p["accuracy"] for p in points], 1e-4, 1.0)
    slope, intercept = np.polyfit(x, np.log(err), 1)
    slope = min(slope, 0.0)  # a rising error curve projects no change, not a fall
    projected_error = float(np.exp(intercept + slope * math.log(size)))
    return max(points[-1]["accuracy"], 1.0 - min(projected_error, 1.0))
