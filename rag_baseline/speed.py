"""How fast each classification baseline answers a new text, end to end from raw text, uncached.

Each method is timed on its own path, on held-out texts, nothing cached: kNN = embed + search +
vote; the probe = embed + one product; the classic model = TF-IDF of the raw text + SVM (no
embedding at all); the combined model = embed + probe + TF-IDF + SVM + mix. The embedding is run
once per text and its time is added to every method that needs it, so the methods are compared
on the same embedding (and the measurement costs one embedding, not four). Two figures per
method: `items_per_s` over a batch, and `latency_ms_per_item`, the median of single texts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag_baseline.classify import knn_vote
from rag_baseline.select import mix

EMBEDDED = ("knn", "probe", "combined")  # the methods that embed the text first


@dataclass
class Predictors:
    """The fitted classification baselines of one run (what `run_classification` fitted)."""

    codes: np.ndarray  # training label codes (kNN votes)
    n_classes: int
    index: Any  # rag_baseline.index.VectorIndex
    k: int
    coef: np.ndarray  # probe
    intercept: np.ndarray
    classic: Any  # rag_baseline.classic.ClassicModel
    mixed: tuple[float, float] | None  # (weight_probe, temperature) when combined was kept

    def parts(self, texts: list[str], vectors: np.ndarray) -> dict[str, float]:
        """Seconds each method spends after the embedding on these texts (the classic model on
        the raw texts); the combined model's own step (the mix) only, its parts are added."""
        spent = {}
        t0 = time.perf_counter()
        sims, ids = self.index.search(vectors, self.k)
        knn_vote(sims, ids, self.codes, self.n_classes, self.k)
        spent["knn"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        logits = vectors @ self.coef.T + self.intercept
        logits.argmax(axis=1)
        spent["probe"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        svm = self.classic.scores(texts)
        svm.argmax(axis=1)
        spent["classic"] = time.perf_counter() - t0
        if self.mixed is not None:
            t0 = time.perf_counter()
            mix(logits, svm, *self.mixed).argmax(axis=1)
            spent["combined"] = time.perf_counter() - t0
        return spent


def _totals(embed_s: float, parts: dict[str, float]) -> dict[str, float]:
    """Seconds per method end to end: the embedding counted for the methods that embed."""
    out = {m: s + (embed_s if m in EMBEDDED else 0.0) for m, s in parts.items()}
    if "combined" in out:
        out["combined"] += parts["probe"] + parts["classic"]
    return out


def method_speeds(
    embedder: Any, predictors: Predictors, texts: list[str], n_batch: int, n_single: int
) -> dict[str, dict[str, float]]:
    """{method: {"items_per_s", "latency_ms_per_item"}} on `texts[:n_batch]` as one batch and
    the first `n_single` texts one at a time (median)."""
    batch = texts[:n_batch]
    t0 = time.perf_counter()
    vectors = embedder.encode(batch, use_cache=False)
    batch_s = _totals(time.perf_counter() - t0, predictors.parts(batch, vectors))
    singles: dict[str, list[float]] = {m: [] for m in batch_s}
    for text in texts[:n_single]:
        t0 = time.perf_counter()
        vector = embedder.encode([text], use_cache=False)
        for method, seconds in _totals(
            time.perf_counter() - t0, predictors.parts([text], vector)
        ).items():
            singles[method].append(seconds)
    return {
        m: {
            "items_per_s": round(len(batch) / max(batch_s[m], 1e-9), 1),
            "latency_ms_per_item": round(1000 * float(np.median(singles[m])), 2),
        }
        for m in batch_s
    }
