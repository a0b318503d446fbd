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
