"""Embedding cache, FAISS index and the two classifiers, on synthetic vectors (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from rag_baseline.cache import MAX_SHARDS, EmbeddingCache, text_keys
from rag_baseline.classify import (
    choose_k,
    encode_labels,
    fit_probe,
    knn_vote,
    probe_predict,
)
from rag_baseline.embed import cpu_has_native_bf16
from rag_baseline.index import build_index, index_report, measure_recall


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _clusters(seed: int = 0, n_classes: int = 4, per: int = 30, dim: int = 16, noise=0.35):
    """Unit vectors around one random centre per class; (X, labels)."""
    rng = np.random.default_rng(seed)
    centres = _unit(rng, n_classes, dim)
    X = np.repeat(centres, per, axis=0) + noise * rng.standard_normal((n_classes * per, dim))
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    labels = [f"class_{i}" for i in range(n_classes) for _ in range(per)]
    return X, labels


def test_text_keys_depend_on_space_and_text():
    a = text_keys("space-a", ["hello", "world", "hello"])
    b = text_keys("space-b", ["hello"])
    assert a.dtype == np.dtype("S32") and a.shape == (3,)
    assert a[0] == a[2] and a[0] != a[1] and a[0] != b[0]


def test_cache_roundtrip_and_merge(tmp_path):
    rng = np.random.default_rng(0)
    cache = EmbeddingCache(tmp_path, "space", dim=8)
    texts = [f"text {i}" for i in range(40)]
    keys = text_keys("space", texts)
    vecs = _unit(rng, 40, 8)
    for start in range(0, 40, 4):  # 10 shards -> merged once above MAX_SHARDS
        cache.store(keys[start : start + 4], vecs[start : start + 4])
    assert len(list(cache.folder.glob("keys-*.npy"))) <= MAX_SHARDS
    probe_keys = np.concatenate([keys[::-1], text_keys("space", ["unseen"])])
    found, got = cache.lookup(probe_keys)
    assert found.tolist() == [True] * 40 + [False]
    np.testing.assert_array_equal(got[:40], vecs[::-1])
    assert not got[40].any()
    other = EmbeddingCache(tmp_path, "other space", dim=8)
    assert not other.lookup(keys)[0].any()


def test_damaged_cache_shard_is_a_miss(tmp_path):
    cache = EmbeddingCache(tmp_path, "space", dim=4)
    keys = text_keys("space", ["a", "b"])
    cache.store(keys, np.ones((2, 4), dtype=np.float32))
    for vec_file in cache.folder.glob("vecs-*.npy"):
        vec_file.write_bytes(b"not a numpy file")
    found, _ = cache.lookup(keys)
    assert not found.any()


def test_flat_index_matches_brute_force():
    rng = np.random.default_rng(1)
    base, queries = _unit(rng, 300, 24), _unit(rng, 20, 24)
    index = build_index(base)
    sims, ids = index.search(queries, 5)
    expected = np.argsort(-(queries @ base.T), axis=1)[:, :5]
    np.testing.assert_array_equal(ids, expected)
    np.testing.assert_allclose(sims, np.take_along_axis(queries @ base.T, expected, 1), atol=1e-5)
    assert index_report(index, base, queries, 5) == {"type": "flat_ip", "exact": True, "n": 300}


def test_approximate_index_reports_recall():
    rng = np.random.default_rng(2)
    base, queries = _unit(rng, 2000, 32), _unit(rng, 200, 32)
    index = build_index(base, approx_threshold=1000)
    assert index.kind == "hnsw_ip"
    report = index_report(index, base, queries, 10)
    assert report["type"] == "hnsw_ip" and report["exact"] is False
    assert report["recall_k"] == 10
    assert 0.9 <= report["recall_at_k"] <= 1.0
    assert measure_recall(build_index(base), base, queries, 10) == 1.0  # exact vs exact


def test_knn_vote_weights_nearer_neighbours():
    train_codes = np.array([0, 1, 1])
    ids = np.array([[0, 1, 2]])
    # one very close neighbour of class 0 outweighs two far ones of class 1
    assert knn_vote(np.array([[0.95, 0.70, 0.69]]), ids, train_codes, 2, k=3)[0] == 0
    # two close neighbours of class 1 outvote one slightly closer of class 0
    assert knn_vote(np.array([[0.95, 0.94, 0.94]]), ids, train_codes, 2, k=3)[0] == 1
    assert knn_vote(np.array([[0.95, 0.94, 0.94]]), ids, train_codes, 2, k=1)[0] == 0
    # padding ids (-1, when k > n) are ignored
    assert knn_vote(np.array([[0.5, -3.4e38]]), np.array([[2, -1]]), train_codes, 2, k=2)[0] == 1


def test_choose_k_prefers_larger_k_on_noisy_clusters():
    X, labels = _clusters(noise=0.5, per=40)
    codes, _ = encode_labels(labels)
    k, scores = choose_k(X, codes)
    assert set(scores) == {1, 3, 5, 10, 20}
    assert scores[k] == max(scores.values())
    assert scores[k] > scores[1]  # noise makes 1-NN the worst choice
    assert choose_k(X[:4], codes[:4] * 0 + np.array([0, 1, 0, 1]))[0] == 1  # tiny data


def test_probe_shapes_and_accuracy():
    X, labels = _clusters(noise=0.4)
    coef, intercept, classes = fit_probe(X, labels)
    assert coef.shape == (4, 16) and intercept.shape == (4,) and classes == sorted(set(labels))
    assert coef.dtype == np.float32
    pred = probe_predict(coef, intercept, classes, X)
    assert np.mean(np.array(pred) == np.array(labels)) > 0.95


def test_torch_probe_agrees_with_sklearn():
    X, labels = _clusters(noise=0.8, per=40, seed=3)
    Xt, yt = _clusters(noise=0.8, per=20, seed=3)  # same centres, new noise
    preds = {}
    for backend in ("torch", "sklearn"):
        coef, intercept, classes = fit_probe(X, labels, C=1.0, max_iter=500, backend=backend)
        preds[backend] = np.array(probe_predict(coef, intercept, classes, Xt))
    assert np.mean(preds["torch"] == preds["sklearn"]) >= 0.97
    accuracy = {b: np.mean(p == np.array(yt)) for b, p in preds.items()}
    assert abs(accuracy["torch"] - accuracy["sklearn"]) <= 0.03


def test_probe_binary_and_bad_input():
    X, labels = _clusters(n_classes=2)
    coef, intercept, classes = fit_probe(X, labels, backend="sklearn")
    assert coef.shape == (2, 16) and len(classes) == 2
    assert np.mean(np.array(probe_predict(coef, intercept, classes, X)) == labels) > 0.95
    with pytest.raises(ValueError, match="C must be > 0"):
        fit_probe(X, labels, C=0)
    with pytest.raises(ValueError, match="two classes"):
        fit_probe(X, ["same"] * len(X))


def test_probe_intercept_survives_centring():
    """Rows far from the origin: the fit centres them, the returned intercept must undo it."""
    X, labels = _clusters(noise=0.8, per=40, seed=5)
    shift = np.linspace(-3.0, 3.0, X.shape[1], dtype=np.float32)
    preds = {}
    for backend in ("torch", "sklearn"):
        coef, intercept, classes = fit_probe(
            X + shift, labels, C=1.0, max_iter=500, backend=backend
        )
        preds[backend] = np.array(probe_predict(coef, intercept, classes, X + shift))
    assert np.mean(preds["torch"] == preds["sklearn"]) >= 0.97


@pytest.mark.skipif(not cpu_has_native_bf16(), reason="bf16 products only where the CPU has them")
def test_bf16_probe_reaches_the_float32_solution(monkeypatch):
    from rag_baseline import classify

    X, labels = _clusters(n_classes=40, per=100, dim=128, noise=1.2, seed=7)  # 20M: bf16
    codes, _ = encode_labels(labels)
    assert len(X) * X.shape[1] * 40 >= classify.BF16_MIN_WORK
    fits = {"bf16": classify.fit_logreg_lbfgs(X, codes, 40, 30.0, 40)}
    monkeypatch.setattr(classify, "BF16_MIN_WORK", 10**15)
    fits["fp32"] = classify.fit_logreg_lbfgs(X, codes, 40, 30.0, 40)
    pred = {k: (X @ w.T + b).argmax(axis=1) for k, (w, b) in fits.items()}
    assert np.mean(pred["bf16"] == pred["fp32"]) >= 0.98
    assert abs(np.mean(pred["bf16"] == codes) - np.mean(pred["fp32"] == codes)) <= 0.01
