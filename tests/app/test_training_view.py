"""The Runs page lists every baseline method the Data & baseline page shows (kNN, probe, TF-IDF
and the combination where kept) and the best one by name, as saved in results.json."""

from __future__ import annotations

import json

from tests.app.conftest import app_state, go
from ui.state import current_project


def _result(split: str) -> dict:
    block = {"accuracy": 0.0, "macro_f1": 0.0}
    return {
        "split_id": split, "task": "classification", "n_train": 1600, "n_test": 400,
        "knn": {**block, "accuracy": 0.781}, "probe": {**block, "accuracy": 0.806},
        "classic": {**block, "accuracy": 0.823}, "combined": {**block, "accuracy": 0.829},
        "methods": ["knn", "probe", "classic", "combined"], "total_s": 41.5,
        "best": {"method": "combined", "accuracy": 0.829, "cv_accuracy": 0.81,
                 "name": "Probe + TF-IDF combined", "by": "3-fold cross-validation"},
    }  # fmt: skip


def test_runs_page_lists_every_baseline_method_and_the_named_best(app):
    at = app()
    project = current_project(app_state(at))
    folder = project.results_dir / "baseline-abc123"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps(_result("abc123")))
    (project.results_dir / "baseline-bad").mkdir()
    (project.results_dir / "baseline-bad" / "results.json").write_text("[1, 2]")  # skipped
    go(at, "runs")
    assert not at.exception, at.exception
    frame = at.dataframe[0].value
    assert len(frame) == 1
    row = frame.iloc[0]
    for column, value in (("kNN", 0.781), ("probe", 0.806), ("TF-IDF", 0.823),
                          ("combined", 0.829)):  # fmt: skip
        assert row[column] == value, column
    assert row["best (by CV)"] == "Probe + TF-IDF combined: 0.829"
