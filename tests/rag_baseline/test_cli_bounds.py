"""Bounded memory and honest inputs in `rag_baseline evaluate` (issue 17 items 5 and 6), through
the CLI: the app's memory plan (a stratified sample said on stderr, or a one-line refusal), a
label count that cannot fit refused in one line before any model loads (50,000 labels of 4 rows
each aborted inside liblinear), identifier-like labels kept as classification, and an inferred
task said on stderr with the flag that overrides it."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import core.budget
from rag_baseline.cli import main
from tests.conftest import DEMO_TICKETS, REPO


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag_baseline", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env=dict(os.environ, PYTHONPATH=str(REPO), **(env or {})),
    )


def _one_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "bad_array" not in proc.stderr, proc.stderr[-3000:]
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, proc.stderr[-3000:]
    assert not any(ln.startswith("[") for ln in proc.stderr.splitlines())  # no progress: no work
    return errors[0]


def many_labels_file(path: Path, classes: int = 50_000, rows_each: int = 4) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        for c in range(classes):
            for j in range(rows_each):
                w.writerow(
                    [f"customer message {j} about topic {c} and account {c * 7 + j}", f"l{c}"]
                )
    return path


def identifier_labels_file(path: Path, n: int = 77) -> Path:
    """77 rows, 77 intents like banking77's `card_arrival_3`: one example per class."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        for i in range(n):
            w.writerow([f"question {i}: where is my card, it has not arrived", f"card_arrival_{i}"])
    return path


def test_fifty_thousand_labels_are_one_line_before_any_model(tmp_path):
    data = many_labels_file(tmp_path / "labels.csv")
    line = _one_error(_cli("evaluate", "--train", str(data), "--split-dir", str(tmp_path / "s")))
    assert "50,000 classes" in line and "merge rare classes" in line, line


def test_over_the_memory_limit_even_for_a_sample_is_refused_in_one_line(tmp_path):
    args = ["evaluate", "--train", str(DEMO_TICKETS), "--split-dir", str(tmp_path / "s"), "--json"]
    proc = _cli(*args, env={"ADVISOR_BASELINE_MEMORY_GB": "1"})
    line = _one_error(proc)
    assert "ADVISOR_BASELINE_MEMORY_GB" in line and "sampled baseline" in line, line
    assert proc.stdout == ""


def test_over_the_limit_runs_on_a_stratified_sample_and_says_so(tmp_path, monkeypatch, capsys):
    """The app's plan in the CLI: the sample sizes are scaled down so the test embeds 300 texts
    (the rule is the same at 20,000 + 5,000)."""
    monkeypatch.setattr(core.budget, "SAMPLE_TRAIN", 200)
    monkeypatch.setattr(core.budget, "SAMPLE_TEST", 100)
    full = core.budget.baseline_gb(2000, 20 * core.budget.CHARS_PER_WORD)
    monkeypatch.setenv("ADVISOR_BASELINE_MEMORY_GB", f"{full - 0.01:.3f}")
    out = tmp_path / "out"
    args = ["--train", str(DEMO_TICKETS), "--text-col", "text", "--label-col", "category"]
    args += ["--split-dir", str(tmp_path / "s"), "--out", str(out), "--no-cache", "--quiet"]
    assert main(["evaluate", *args, "--json"]) == 0
    captured = capsys.readouterr()
    notes = [ln for ln in captured.err.splitlines() if "stratified sample" in ln]
    assert len(notes) == 1 and notes[0].startswith("note: "), captured.err[-2000:]
    result = json.loads(captured.out)
    assert result["memory_plan"]["sample"] is True
    assert result["n_train"] < 400 and result["warnings"][0] == result["memory_plan"]["message"]
    assert json.loads((out / "results.json").read_text())["memory_plan"]["sample"] is True


def test_identifier_labels_stay_classification_and_are_refused_in_one_line(tmp_path):
    data = identifier_labels_file(tmp_path / "intents.csv")
    line = _one_error(_cli("evaluate", "--train", str(data), "--split-dir", str(tmp_path / "s")))
    assert "examples per class" in line and "read as classification" in line, line
    assert "--task generation" in line, line


@pytest.mark.parametrize("given", [None, "generation"])
def test_an_inferred_task_is_said_on_stderr_with_its_flag(tmp_path, given):
    args = ["validate", "--train", str(DEMO_TICKETS), "--split-dir", str(tmp_path / "s"), "--json"]
    args += ["--text-col", "text", "--label-col", "category"]
    proc = _cli(*args, *(["--task", given] if given else []))
    assert proc.returncode == 0, proc.stderr[-2000:]
    notes = [ln for ln in proc.stderr.splitlines() if ln.startswith("note: task:")]
    if given:  # nothing was inferred, nothing is said
        assert notes == [], proc.stderr
        return
    assert len(notes) == 1 and "classification" in notes[0], proc.stderr
    assert "--task generation" in notes[0], proc.stderr
    assert json.loads(proc.stdout)["task"] == "classification"
