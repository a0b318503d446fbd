"""Regression: passing `labels` to classification_metrics must not duplicate class names."""

from __future__ import annotations

from core.metrics import classification_metrics


def test_given_labels_are_not_duplicated():
    result = classification_metrics(["a", "b", "b"], ["a", "a", "b"], labels=["a", "b"])
    assert result["confusion"]["labels"] == ["a", "b"]
    assert result["confusion"]["matrix"] == [[1, 0], [1, 1]]
    assert result["per_class"]["b"]["recall"] == 0.5


def test_unknown_predictions_are_appended_once():
    result = classification_metrics(["a", "b"], ["a", "c"], labels=["a", "b"])
    assert result["confusion"]["labels"] == ["a", "b", "c"]
    assert result["accuracy"] == 0.5


def test_bootstrap_macro_f1_matches_scikit_learn_on_every_resample():
    """The vectorised bootstrap scores each resample as sklearn's macro-F1 over its classes."""
    import numpy as np
    from sklearn.metrics import f1_score

    from core.metrics import _bootstrap_indices, _macro_f1_rows

    rng = np.random.default_rng(1)
    for trial in range(30):
        k, n = int(rng.integers(2, 30)), int(rng.integers(1, 150))
        true = rng.integers(0, k, n)
        pred = np.where(rng.random(n) < 0.6, true, rng.integers(0, k, n))
        idx = _bootstrap_indices(n, 20, trial)
        expected = [
            f1_score(true[i], pred[i], labels=np.unique(true[i]), average="macro", zero_division=0)
            for i in idx
        ]
        np.testing.assert_allclose(_macro_f1_rows(true[idx], pred[idx], k), expected)
