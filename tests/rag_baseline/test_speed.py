"""Each baseline's own answer speed: the embedding counted once for the methods that embed, the
classic model timed without it, and the comparison reading each method's own figure."""

from __future__ import annotations

import numpy as np
import pytest

from rag_baseline.classic import Setting, fit_classic
from rag_baseline.classify import fit_logreg_lbfgs
from rag_baseline.index import build_index
from rag_baseline.speed import Predictors, _totals, method_speeds

TEXTS = ["card not working", "where is my card", "cancel my transfer", "transfer failed"] * 6
CODES = np.array([0, 0, 1, 1] * 6)


def test_totals_add_the_embedding_only_where_a_method_embeds():
    parts = {"knn": 0.2, "probe": 0.1, "classic": 0.5, "combined": 0.05}
    totals = _totals(1.0, parts)
    assert totals["knn"] == pytest.approx(1.2)
    assert totals["probe"] == pytest.approx(1.1)
    assert totals["classic"] == pytest.approx(0.5)  # TF-IDF reads the raw text
    assert totals["combined"] == pytest.approx(1.0 + 0.05 + 0.1 + 0.5)  # both parts + the mix


class _Embedder:
    """Deterministic vectors, with a measurable cost per call."""

    def __init__(self):
        self.calls = 0

    def encode(self, texts, use_cache=True):
        assert use_cache is False  # a speed probe never reads the cache
        self.calls += 1
        rng = np.random.default_rng(len(texts))
        v = rng.normal(size=(len(texts), 8)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_every_method_gets_its_own_figures():
    vectors = _Embedder().encode(TEXTS, use_cache=False)
    coef, b = fit_logreg_lbfgs(vectors, CODES, 2, 30.0, 20)
    classic = fit_classic(TEXTS, CODES, ["a", "b"], Setting("word", 1.0))
    predictors = Predictors(CODES, 2, build_index(vectors, 100), 3, coef, b, classic, (0.5, 0.3))
    embedder = _Embedder()
    speeds = method_speeds(embedder, predictors, TEXTS, n_batch=8, n_single=3)
    assert set(speeds) == {"knn", "probe", "classic", "combined"}
    assert embedder.calls == 1 + 3  # one batch and three single texts, shared by every method
    for figures in speeds.values():
        assert figures["items_per_s"] > 0 and figures["latency_ms_per_item"] > 0
    assert speeds["combined"]["latency_ms_per_item"] >= speeds["probe"]["latency_ms_per_item"]
    no_mix = Predictors(CODES, 2, predictors.index, 3, coef, b, classic, None)
    assert "combined" not in method_speeds(_Embedder(), no_mix, TEXTS, 8, 1)


def test_the_comparison_shows_each_baselines_own_speed():
    from comparison.build import KINDS, _system

    kind = KINDS["classification"]
    top = {"items_per_s": 100.0, "latency_ms_per_item": 14.37}  # kNN's, as results carry it
    own = {"accuracy": 0.9, "macro_f1": 0.9, "items_per_s": 2000.0, "latency_ms_per_item": 1.2}
    classic = _system(kind, "classic", own, top, None)
    assert classic.latency_ms == 1.2 and classic.ms_per_item == pytest.approx(0.5)
    old = _system(kind, "probe", {"accuracy": 0.9, "macro_f1": 0.9}, top, None)
    assert old.latency_ms == 14.37  # results from before per-method speeds: the run's figure
