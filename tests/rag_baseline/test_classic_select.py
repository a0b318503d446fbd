"""The classic TF-IDF baseline, CV-based selection (`best`, the combined model) and the quick
estimate's sampling and learning curve, on small real text (no embedding model)."""

from __future__ import annotations

import csv
from collections import Counter

import numpy as np
import pytest

from rag_baseline.classic import (
    CHAR_BUDGET,
    CRAMMER_SINGER_CHARS,
    Setting,
    candidates,
    cv_classic,
    fit_classic,
)
from rag_baseline.classify import encode_labels
from rag_baseline.quick import learning_curve, nested_subsets, stratified_sample
from rag_baseline.select import (
    MIN_COMBINED_GAIN,
    choose_best,
    cv_combined,
    cv_splits,
    keep_combined,
    mix,
)


def _read(path) -> tuple[list[str], list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], [r["category"] for r in rows]


@pytest.fixture(scope="module")
def texts(small_data):
    train, y_train = _read(small_data["train"])
    test, y_test = _read(small_data["test"])
    return train, y_train, test, y_test


def test_classic_cv_picks_a_candidate_and_scores_well(texts):
    train, y_train, test, y_test = texts
    codes, classes = encode_labels(y_train)
    splits = cv_splits(codes, seed=0)
    assert len(splits) == 3
    settings = candidates(train)
    assert {s.features for s in settings} == {"word", "word+char"}  # small data: both tried
    best, scores, oof, _ = cv_classic(train, codes, classes, splits, settings)
    assert set(scores) == {s.name for s in settings}
    assert scores[best.name] == max(scores.values())
    assert oof.shape == (len(train), len(classes))
    model = fit_classic(train, codes, classes, best)
    accuracy = np.mean([p == y for p, y in zip(model.predict(test), y_test)])
    assert accuracy >= 0.75  # 10 distinct intents, 30 examples each


def test_char_ngrams_only_below_the_budget():
    long = ["x" * 1000] * (CHAR_BUDGET // 1000 + 1)
    assert {s.features for s in candidates(long)} == {"word"}


def test_large_training_text_switches_to_one_crammer_singer_problem():
    """Past the size where one-vs-rest's per-class passes outgrow the cache, every setting (CV,
    refit, curve) solves one multi-class problem; a quick sample of such data does the same."""
    small = ["refund please", "where is my card"] * 10
    assert {s.multi_class for s in candidates(small)} == {"ovr"}
    scale = CRAMMER_SINGER_CHARS / sum(len(t) for t in small) + 1
    chosen = candidates(small, scale)
    assert {s.multi_class for s in chosen} == {"crammer_singer"}
    assert all(s.name.endswith("crammer-singer") for s in chosen)
    texts = ["refund my money please", "money back now", "where is my card", "card not here"] * 3
    labels = ["refund", "refund", "card", "card"] * 3
    codes, classes = encode_labels(labels)
    for three in (False, True):  # binary, and three classes (one column per class both ways)
        names = [*classes, "transfer"] if three else classes
        rows = texts + (["send money abroad", "transfer to my friend"] * 3 if three else [])
        y = np.concatenate([codes, [2] * 6]) if three else codes
        model = fit_classic(rows, y, names, Setting("word", 1.0, "crammer_singer"))
        assert model.scores(["refund"]).shape == (1, len(names))
        assert model.predict(["refund my money", "my card"]) == ["refund", "card"]


def test_classic_binary_and_unseen_class_columns():
    texts = ["refund please", "money back", "where is my card", "card not here"] * 3
    labels = ["refund", "refund", "card", "card"] * 3
    codes, classes = encode_labels(labels)
    model = fit_classic(texts, codes, classes, Setting("word", 1.0))
    assert model.scores(["refund my money"]).shape == (1, 2)
    assert model.predict(["refund my money", "my card"]) == ["refund", "card"]
    # A fold whose training part lacks a class: that column is -inf, never predicted.
    three = [*classes, "zzz_unseen"]
    model = fit_classic(texts, codes, three, Setting("word", 1.0))
    scores = model.scores(["card"])
    assert scores.shape == (1, 3) and np.isneginf(scores[0, 2])


def test_best_is_chosen_by_cv_not_by_test_accuracy():
    methods = {
        "knn": {"accuracy": 0.95, "cv_score": 0.80},
        "probe": {"accuracy": 0.90, "cv_score": 0.86},
        "classic": {"accuracy": 0.70, "cv_score": 0.86},  # ties go to the cheaper classic
    }
    best = choose_best(methods, folds=3)
    assert best["method"] == "classic" and best["accuracy"] == 0.70
    assert best["cv_accuracy"] == 0.86 and "3-fold" in best["by"] and best["name"]
    no_cv = {m: {**b, "cv_score": None} for m, b in methods.items()}
    assert choose_best(no_cv, folds=0)["method"] == "probe"
    generation = {"rag": {"exact_match": 0.4}, "nearest": {"exact_match": 0.5}}
    assert choose_best(generation, folds=0) == {
        **choose_best(generation, folds=0),
        "method": "rag",
        "accuracy": 0.4,
    }


def test_combined_kept_only_with_a_cv_gain():
    assert keep_combined(0.90, [0.88, 0.89]) is True
    assert keep_combined(0.89 + MIN_COMBINED_GAIN / 2, [0.88, 0.89]) is False
    assert keep_combined(0.9, [None, None]) is False
    rng = np.random.default_rng(0)
    codes = np.repeat(np.arange(3), 10)
    good = np.eye(3)[codes] * 5 + rng.normal(0, 1, (30, 3))  # informative scores
    noise = rng.normal(0, 1, (30, 3))
    splits = cv_splits(codes)
    chosen = cv_combined(good, noise, codes, splits)
    assert chosen["weight_probe"] == max(w for w in (0.3, 0.5, 0.7))  # trusts the good part
    probs = mix(good, noise, 0.5, 0.1)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)


def test_stratified_sample_keeps_shares_and_rare_classes():
    labels = ["a"] * 900 + ["b"] * 90 + ["c"] * 3
    rows = stratified_sample(labels, 100, seed=0)
    counts = Counter(labels[i] for i in rows)
    assert counts["a"] == 91 and counts["b"] == 9 and counts["c"] == 2
    assert list(rows) == sorted(set(rows.tolist()))
    assert len(stratified_sample(labels, 5000)) == len(labels)
    small, big = nested_subsets(labels, [50, 200], seed=1)
    assert set(small) <= set(big) and abs(len(big) - 200) <= 3


def test_learning_curve_says_whether_more_data_helps():
    labels = [str(i % 4) for i in range(400)]

    def rising(rows):  # +5 points per doubling
        return 0.5 + 0.05 * np.log2(len(rows) / 50)

    curve = learning_curve(rising, labels, rising(np.arange(400)), "probe", full_size=1600)
    sizes = [p["n_train"] for p in curve["points"]]
    assert sizes == pytest.approx([50, 100, 200, 400], abs=4)  # whole rows per class
    assert curve["more_data_helps"] is True
    assert curve["gain_per_doubling"] == pytest.approx(0.05, abs=1e-3)
    # Error as a power law of size: above the last point, below the log-linear 0.65 + 2 x 0.05.
    assert 0.65 < curve["projected_at_full"]["accuracy"] < 0.75
    assert curve["projected_at_full"]["n_train"] == 1600
    assert "would still help" in curve["verdict"]
    flat = learning_curve(lambda rows: 0.9, labels, 0.9, "classic")
    assert flat["more_data_helps"] is False and "levelled off" in flat["verdict"]
    assert "projected_at_full" not in flat


def test_learning_curve_reuses_the_fold_point_and_refits_only_small_subsets():
    labels = [str(i % 4) for i in range(400)]
    fitted = []

    def score(rows):
        fitted.append(len(rows))
        return 0.5 + 0.05 * np.log2(len(rows) / 50)

    curve = learning_curve(score, labels, 0.65, "probe", reused=(266, 0.62))
    assert fitted == pytest.approx([50, 100], abs=4)  # the half is not refit
    sizes = [p["n_train"] for p in curve["points"]]
    assert sizes[2:] == [266, 400] and curve["points"][2]["accuracy"] == 0.62
    fitted.clear()
    learning_curve(score, labels, 0.65, "probe")  # without folds: the half is refit
    assert fitted == pytest.approx([50, 100, 200], abs=4)


def test_learning_curve_sizes_never_repeat():
    labels = [str(i % 40) for i in range(100)]  # 1/8 and 1/4 both collapse to one per class
    curve = learning_curve(lambda rows: 0.5, labels, 0.6, "knn")
    sizes = [p["n_train"] for p in curve["points"]]
    assert sizes == sorted(set(sizes)) and sizes[-1] == 100


@pytest.mark.parametrize("features", ["word", "word+char"])
def test_counted_once_features_equal_a_vectorizer_fitted_on_the_rows(texts, features):
    """Reweighting shared counts on a subset gives the model a TfidfVectorizer (+ FeatureUnion)
    fitted on that subset alone would give: same decision values on the test texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion
    from sklearn.svm import LinearSVC

    from rag_baseline.classic import TermCounts, fit_rows

    train, y_train, test, _ = texts
    codes, classes = encode_labels(y_train)
    rows = np.sort(np.random.default_rng(0).choice(len(train), len(train) // 2, replace=False))
    word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32)
    char = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, dtype=np.float32
    )
    vec = word if features == "word" else FeatureUnion([("word", word), ("char", char)])
    X = vec.fit_transform([train[i] for i in rows])
    reference = (
        LinearSVC(C=1.0, tol=1e-3).fit(X, codes[rows]).decision_function(vec.transform(test))
    )
    model = fit_rows(TermCounts(train, [features]), rows, codes, classes, Setting(features, 1.0))
    ours = model.scores(test)[:, model.columns]
    assert np.abs(ours - reference).max() < 5e-3
    assert (ours.argmax(1) == reference.argmax(1)).mean() >= 0.99


def test_a_sample_tries_the_candidates_of_its_full_split():
    sample = ["refund please, the card did not arrive"] * 100  # ~4k characters
    assert {s.features for s in candidates(sample)} == {"word", "word+char"}
    scale = 2 * CHAR_BUDGET / sum(len(t) for t in sample)  # the full split is over the budget
    assert {s.features for s in candidates(sample, scale)} == {"word"}
