"""The classification baselines on one split: kNN retrieval and a linear probe on the frozen
embeddings, the classic TF-IDF + linear SVM, and (when CV says it helps) their combination.

All choices (k, the classic features and C, the mix, and `best`) are made by cross-validation on
shared folds of the training split (`rag_baseline.select`); the held-out split only scores.
The CV fold models are reused: the probe's refit starts from their mean, and their held-out
scores are the learning curve's point at a fold's size (no refit for it). The combined model is
tried only where CV could keep it. The classic model (one liblinear thread) runs beside the
embedding, beside kNN and the probe, or after them, as `rag_baseline.plan.choose_overlap` decided
from the cores and a measurement of them (`rag_baseline.overlap`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from core.metrics import classification_metrics
from core.split import Dataset
from rag_baseline.classic import ClassicRun, fit_rows, run_classic
from rag_baseline.classify import (
    PROBE_MAX_ITER,
    choose_k,
    encode_labels,
    fit_logreg_lbfgs,
    knn_vote,
)
from rag_baseline.index import VectorIndex, build_index
from rag_baseline.overlap import map_side_by_side, share_of_cores, side_by_side, thread_share
from rag_baseline.plan import Overlap
from rag_baseline.quick import learning_curve
from rag_baseline.select import (
    choose_best,
    combined_can_be_kept,
    cv_combined,
    cv_probe,
    cv_splits,
    keep_combined,
    mix,
    refit_probe,
)
from rag_baseline.speed import Predictors

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
    overlap: Overlap = "side_by_side",
    started: Future | None = None,
) -> tuple[dict, dict, dict, Predictors]:
    """(method blocks, test predictions per method, {"best", "cv", "learning_curve"}, the fitted
    predictors for the speed measurement). `overlap`: the classic model beside kNN and the probe,
    or after them (`rag_baseline.plan.choose_overlap`); `started`: its run, already started
    beside the embedding (`classic_job`)."""
    codes, classes = encode_labels(ds.train_labels)
    inp = Inputs(ds, codes, classes, train_vecs, test_vecs)
    splits = cv_splits(codes, seed=seed)
    classic = classic_job(ds, seed, full_size)

    def embedding_baselines():
        say(0.76, "choosing k by cross-validation (the classic TF-IDF model fits alongside)")
        knn = _knn(inp, index, k, splits)
        say(0.8, "fitting the linear probe (the classic TF-IDF model fits alongside)")
        return knn, _probe(inp, probe_c, splits)

    if started is not None:  # one core fewer while it still runs
        with thread_share(share_of_cores(2)) if not started.done() else nullcontext():
            (knn, knn_pred), probe = embedding_baselines()
        run = started.result()
    elif overlap != "serial":
        run, ((knn, knn_pred), probe) = side_by_side(classic, embedding_baselines)
    else:
        (knn, knn_pred), probe = embedding_baselines()
        say(0.84, "fitting the classic TF-IDF model")
        run = classic()
    block = run.block
    say(0.88, "comparing the baselines")
    block["cv_score"] = max(block["cv_accuracy"].values()) if block["cv_accuracy"] else None
    say(0.9, "bootstrapping confidence intervals")
    preds = {"knn": knn_pred, "probe": inp.names(probe.logits), "classic": run.predictions}
    blocks = {"knn": knn, "probe": probe.block, "classic": block}
    extra: dict = {}
    mixed = None
    if probe.oof is not None and run.oof is not None:
        extra["combined_cv"] = {"kept": False, "tried": False}  # a part is at the CV ceiling
        if combined_can_be_kept([probe.block["cv_score"], block["cv_score"]]):
            chosen = cv_combined(probe.oof, run.oof, codes, splits)
            kept = keep_combined(chosen["cv_score"], [probe.block["cv_score"], block["cv_score"]])
            extra["combined_cv"] = {**chosen, "kept": kept, "tried": True}
            if kept:
                mixed = (chosen["weight_probe"], chosen["temperature"])
                preds["combined"] = inp.names(mix(probe.logits, run.test_scores, *mixed))
                blocks["combined"] = {"parts": ["probe", "classic"], **chosen}
    methods = {
        name: {**b, **classification_metrics(ds.test_labels, preds[name], ds.labels)}
        for name, b in blocks.items()
    }
    best = choose_best(methods, len(splits))
    say(0.94, f"learning curve of {best['method']}")
    curve = learning_curve(
        _scorer(best["method"], inp, methods, run, overlap),
        ds.train_labels,
        methods[best["method"]]["accuracy"],
        best["method"],
        seed=seed,
        full_size=full_size,
        mapper=_curve_mapper(best["method"], overlap),
        reused=_fold_point(best["method"], inp, splits, probe, run, mixed, methods),
    )
    cv = {"folds": len(splits), "scores": {m: methods[m].get("cv_score") for m in methods}}
    predictors = Predictors(
        codes, len(classes), index, knn["k"], probe.coef, probe.intercept, run.model, mixed
    )
    chosen_all = {"best": best, "cv": {**cv, **extra}, "learning_curve": curve}
    return methods, preds, chosen_all, predictors


def classic_job(ds: Dataset, seed: int, full_size: int | None) -> Callable[[], ClassicRun]:
    """The classic model's whole run (counts, CV on the shared folds, refit) as one job that can
    start before the embedding: it needs only the texts."""
    codes, classes = encode_labels(ds.train_labels)
    splits = cv_splits(codes, seed=seed)
    scale = (full_size or len(codes)) / len(codes)
    return lambda: run_classic(ds.train_texts, codes, classes, ds.test_texts, splits, scale)


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


@dataclass
class ProbeRun:
    block: dict
    logits: np.ndarray  # held-out
    oof: np.ndarray | None
    folds: list[tuple[np.ndarray, np.ndarray]]  # (coef, intercept) of each CV fold
    coef: np.ndarray
    intercept: np.ndarray


def _probe(inp: Inputs, C: float, splits) -> ProbeRun:
    t0 = time.perf_counter()
    cv_score, oof, folds = cv_probe(inp.train_vecs, inp.codes, len(inp.classes), splits, C)
    cv_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    coef, intercept = refit_probe(inp.train_vecs, inp.codes, len(inp.classes), C, folds)
    fit_s = time.perf_counter() - t0
    logits = np.asarray(inp.test_vecs, dtype=np.float32) @ coef.T + intercept
    block = {"C": C, "fit_s": round(fit_s, 3), "cv_s": round(cv_s, 3), "cv_score": cv_score}
    return ProbeRun(block, logits, oof, folds, coef, intercept)


def _fold_point(
    method: str,
    inp: Inputs,
    splits,
    probe: ProbeRun,
    run: ClassicRun,
    mixed: tuple[float, float] | None,
    methods: dict,
) -> tuple[int, float] | None:
    """(mean training rows of a CV fold, the fold models' mean held-out accuracy) of `method`:
    the learning curve's point that needs no refit; None without folds."""
    if not splits or (method in ("classic", "combined") and run.fold_test is None):
        return None
    test_codes, n_classes = inp.test_codes, len(inp.classes)
    scores = []
    for f, (train_idx, _) in enumerate(splits):
        if method == "knn":
            k = min(methods["knn"]["k"], len(train_idx))
            index = build_index(inp.train_vecs[train_idx], len(train_idx))
            sims, ids = index.search(inp.test_vecs, k)
            pred = knn_vote(sims, ids, inp.codes[train_idx], n_classes, k)
        else:
            coef, b = probe.folds[f]
            logits = inp.test_vecs @ coef.T + b
            if method == "probe":
                pred = logits.argmax(axis=1)
            elif method == "classic":
                pred = run.fold_test[f].argmax(axis=1)
            else:
                pred = mix(logits, run.fold_test[f], *mixed).argmax(axis=1)
        scores.append(float((pred == test_codes).mean()))
    return int(np.mean([len(tr) for tr, _ in splits])), float(np.mean(scores))


def _scorer(method: str, inp: Inputs, methods: dict, run: ClassicRun, overlap: Overlap):
    """Held-out accuracy of `method` refit on training rows `rows` (for the learning curve);
    the classic model reweights the counts of the full run, the test texts are counted once."""
    n_classes, test_codes = len(inp.classes), inp.test_codes
    setting = run.model.setting

    def probe_logits(rows: np.ndarray) -> np.ndarray:
        C = methods["probe"]["C"]
        coef, b = fit_logreg_lbfgs(
            inp.train_vecs[rows], inp.codes[rows], n_classes, C, PROBE_MAX_ITER
        )
        return inp.test_vecs @ coef.T + b

    def classic_scores(rows: np.ndarray) -> np.ndarray:
        model = fit_rows(run.counts, rows, inp.codes, inp.classes, setting)
        return model.scores_of(model.vectorizer.of_counts(run.test_counts))

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
            pair = side_by_side if overlap != "serial" else _in_turn
            svm, logits = pair(lambda: classic_scores(rows), lambda: probe_logits(rows))
            mixed = mix(logits, svm, b["weight_probe"], b["temperature"])
            pred = mixed.argmax(axis=1)
        return float((pred == test_codes).mean())

    return score


def _in_turn(first, second):
    return first(), second()


def _curve_mapper(method: str, overlap: Overlap):
    """How the learning curve's refits run: two subsets at once for kNN and the probe; one at a
    time for the classic model (liblinear's random generator is global, so two fits at once
    would not repeat exactly) and the combined one (its probe and SVM already pair up); one at
    a time for every method when the plan says serial."""
    side = overlap != "serial" and method in ("knn", "probe")
    return map_side_by_side if side else None
