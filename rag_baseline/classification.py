"""The classification baselines on one split: kNN retrieval and a linear probe on the frozen
embeddings, the classic TF-IDF + linear SVM, and (when CV says it helps) their combination.

All choices (k, the classic features and C, the mix, and `best`) are made by cross-validation on
shared folds of the training split (`rag_baseline.select`); the held-out split only scores.
The classic model (one liblinear thread) fits side by side with kNN and the probe (torch and
FAISS on the other core), `rag_baseline.overlap`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.metrics import classification_metrics
from core.split import Dataset
from rag_baseline.classic import BLOCKS, Setting, TermCounts, fit_rows, run_classic
from rag_baseline.classify import (
    PROBE_MAX_ITER,
    choose_k,
    encode_labels,
    fit_logreg_lbfgs,
    knn_vote,
)
from rag_baseline.index import VectorIndex, build_index
from rag_baseline.overlap import map_side_by_side, side_by_side
from rag_baseline.quick import learning_curve
from rag_baseline.select import (
    choose_best,
    cv_combined,
    cv_probe,
    cv_splits,
    keep_combined,
    mix,
)

Say = Callable[[float, str], None]


@dataclass
class Inputs:
    """One split's texts, label codes and vectors."""

    ds: Dataset
    codes: np.ndarray
    classes: list[str]
    train_vecs: np.ndarray
    test_vecs: np.ndarray

    @property
    def test_codes(self) -> np.ndarray:
        code = {c: i for i, c in enumerate(self.classes)}
        return np.array([code.get(y, -1) for y in self.ds.test_labels], dtype=np.int64)

    def names(self, scores: np.ndarray) -> list[str]:
        return [self.classes[i] for i in scores.argmax(axis=1)]


def run_classification(
    ds: Dataset,
    train_vecs: np.ndarray,
    test_vecs: np.ndarray,
    index: VectorIndex,
    *,
    k: int | None,
    probe_c: float,
    seed: int,
    say: Say,
    full_size: int | None = None,
) -> tuple[dict, dict, dict]:
    """(method blocks, test predictions per method, {"best", "cv", "learning_curve"})."""
    codes, classes = encode_labels(ds.train_labels)
    inp = Inputs(ds, codes, classes, train_vecs, test_vecs)
    splits = cv_splits(codes, seed=seed)

    def classic():
        scale = (full_size or len(codes)) / len(codes)
        return run_classic(ds.train_texts, codes, classes, ds.test_texts, splits, scale)

    def embedding_baselines():
        say(0.76, "choosing k by cross-validation (the classic TF-IDF model fits alongside)")
        knn = _knn(inp, index, k, splits)
        say(0.8, "fitting the linear probe (the classic TF-IDF model fits alongside)")
        return knn, _probe(inp, probe_c, splits)

    classic_out, ((knn, knn_pred), probe_out) = side_by_side(classic, embedding_baselines)
    block, classic_pred, classic_oof, classic_scores, counts = classic_out
    probe, probe_logits, probe_oof = probe_out
    say(0.88, "comparing the baselines")
    block["cv_score"] = max(block["cv_accuracy"].values()) if block["cv_accuracy"] else None
    say(0.9, "bootstrapping confidence intervals")
    preds = {"knn": knn_pred, "probe": inp.names(probe_logits), "classic": classic_pred}
    blocks = {"knn": knn, "probe": probe, "classic": block}
    extra: dict = {}
    if probe_oof is not None and classic_oof is not None:
        chosen = cv_combined(probe_oof, classic_oof, codes, splits)
        kept = keep_combined(chosen["cv_score"], [probe["cv_score"], block["cv_score"]])
        extra["combined_cv"] = {**chosen, "kept": kept}
        if kept:
            w, t = chosen["weight_probe"], chosen["temperature"]
            preds["combined"] = inp.names(mix(probe_logits, classic_scores, w, t))
            blocks["combined"] = {"parts": ["probe", "classic"], **chosen}
    methods = {
        name: {**b, **classification_metrics(ds.test_labels, preds[name], ds.labels)}
        for name, b in blocks.items()
    }
    best = choose_best(methods, len(splits))
    say(0.94, f"learning curve of {best['method']}")
    curve = learning_curve(
        _scorer(best["method"], inp, methods, counts),
        ds.train_labels,
        methods[best["method"]]["accuracy"],
        best["method"],
        seed=seed,
        full_size=full_size,
        mapper=_curve_mapper(best["method"]),
    )
    cv = {"folds": len(splits), "scores": {m: methods[m].get("cv_score") for m in methods}}
    return methods, preds, {"best": best, "cv": {**cv, **extra}, "learning_curve": curve}


def _knn(inp: Inputs, index: VectorIndex, k: int | None, splits) -> tuple[dict, list[str]]:
    if k is None:
        k, cv = choose_k(inp.train_vecs, inp.codes, splits=splits)
        info = {"k": k, "k_source": "cv", "cv_accuracy": {str(c): a for c, a in cv.items()}}
        info["cv_score"] = cv[k] if cv else None
    else:
        k = min(k, len(inp.codes))
        _, cv = choose_k(inp.train_vecs, inp.codes, candidates=(k,), splits=splits)
        info = {"k": k, "k_source": "config", "cv_score": cv.get(k)}
    sims, ids = index.search(inp.test_vecs, k)
    codes = knn_vote(sims, ids, inp.codes, len(inp.classes), k)
    return info, [inp.classes[c] for c in codes]


def _probe(inp: Inputs, C: float, splits) -> tuple[dict, np.ndarray, np.ndarray | None]:
    t0 = time.perf_counter()
    cv_score, oof = cv_probe(inp.train_vecs, inp.codes, len(inp.classes), splits, C)
    cv_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    X = np.ascontiguousarray(inp.train_vecs, dtype=np.float32)
    coef, intercept = fit_logreg_lbfgs(X, inp.codes, len(inp.classes), C, PROBE_MAX_ITER)
    fit_s = time.perf_counter() - t0
    logits = np.asarray(inp.test_vecs, dtype=np.float32) @ coef.T + intercept
    block = {"C": C, "fit_s": round(fit_s, 3), "cv_s": round(cv_s, 3), "cv_score": cv_score}
    return block, logits, oof


def _scorer(
    method: str, inp: Inputs, methods: dict, counts: TermCounts
) -> Callable[[np.ndarray], float]:
    """Held-out accuracy of `method` refit on training rows `rows` (for the learning curve);
    the classic model reweights the counts of the full run, the test texts are counted once."""
    n_classes, test_codes = len(inp.classes), inp.test_codes
    block = methods["classic"]
    setting = Setting(block["features"], block["C"], block["multi_class"])
    test_counts: dict = {}
    if method in ("classic", "combined"):  # counted once, before any refit thread reads them
        test_counts = counts.transform(inp.ds.test_texts, BLOCKS[setting.features])

    def probe_logits(rows: np.ndarray) -> np.ndarray:
        C = methods["probe"]["C"]
        coef, b = fit_logreg_lbfgs(
            inp.train_vecs[rows], inp.codes[rows], n_classes, C, PROBE_MAX_ITER
        )
        return inp.test_vecs @ coef.T + b

    def classic_scores(rows: np.ndarray) -> np.ndarray:
        model = fit_rows(counts, rows, inp.codes, inp.classes, setting)
        return model.scores_of(model.vectorizer.of_counts(test_counts))

    def score(rows: np.ndarray) -> float:
        if method == "knn":
            k = min(methods["knn"]["k"], len(rows))
            sims, ids = build_index(inp.train_vecs[rows], len(rows)).search(inp.test_vecs, k)
            pred = knn_vote(sims, ids, inp.codes[rows], n_classes, k)
        elif method == "probe":
            pred = probe_logits(rows).argmax(axis=1)
        elif method == "classic":
            pred = classic_scores(rows).argmax(axis=1)
        else:
            b = methods["combined"]
            svm, logits = side_by_side(lambda: classic_scores(rows), lambda: probe_logits(rows))
            mixed = mix(logits, svm, b["weight_probe"], b["temperature"])
            pred = mixed.argmax(axis=1)
        return float((pred == test_codes).mean())

    return score


def _curve_mapper(method: str):
    """How the learning curve's refits run: two subsets at once for kNN and the probe; one at a
    time for the classic model (liblinear's random generator is global, so two fits at once
    would not repeat exactly) and the combined one (its probe and SVM already pair up)."""
    return map_side_by_side if method in ("knn", "probe") else None
