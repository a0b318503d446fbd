"""The comparison hands the advisor the evidence behind its measured figures (intervals, paired
McNemar tests per option), so a trial whose lead is within noise does not flip the verdict to a
costlier set-up; every page (comparison.project.project_report), the saved comparison and the
CLI memo give the same verdict."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

import comparison
from advisor import Answers, load_assumptions
from advisor.text import IN_TEXT
from comparison.project import measured_with_evidence, project_report
from core.metrics import classification_metrics

REPO = Path(__file__).resolve().parents[2]
ROUTER = {"task_type": "classification", "n_classes": 8, "monthly_volume": 20000,
          "labeled_examples": 5000, "human_minutes_per_item": 3.0, "stage": "production",
          "tried_prompting": True, "tried_rag": True, "data_change": "yearly",
          "total_budget_usd": 100000}  # fmt: skip
N = 200
GOLD = ["billing" if i % 2 else "access" for i in range(N)]
FLIP = {"billing": "access", "access": "billing"}


def preds(right: set[int]) -> list[str]:
    return [g if i in right else FLIP[g] for i, g in enumerate(GOLD)]


def write_case(folder: Path, ft_gain: int, ft_loss: int) -> tuple:
    """The probe (the best cheap baseline) right on rows 0-169 (0.85), kNN on 0-159; the trial
    also right on `ft_gain` rows the probe misses and wrong on `ft_loss` rows it gets."""
    probe_right = set(range(170))
    ft_right = (probe_right - set(range(ft_loss))) | set(range(170, 170 + ft_gain))
    ids = [f"r{i}" for i in range(N)]
    knn, probe, ft = preds(set(range(160))), preds(probe_right), preds(ft_right)
    folder.mkdir(parents=True, exist_ok=True)
    base_csv, run_csv = folder / "baseline.csv", folder / "run.csv"
    with base_csv.open("w", newline="") as fh:
        csv.writer(fh).writerows([["id", "gold", "knn", "probe"], *zip(ids, GOLD, knn, probe)])
    with run_csv.open("w", newline="") as fh:
        csv.writer(fh).writerows([["id", "gold", "pred"], *zip(ids, GOLD, ft)])
    baseline = {"split_id": "s1", "n_test": N, "items_per_s": 500.0,
                "knn": classification_metrics(GOLD, knn),
                "probe": classification_metrics(GOLD, probe),
                "best": {"method": "probe", "accuracy": 0.85, "name": "Linear probe"}}  # fmt: skip
    final = {"split_id": "s1", "device": "cpu", "n_test": N, "eval_s": 1.0,
             **classification_metrics(GOLD, ft)}  # fmt: skip
    return baseline, base_csv, final, run_csv


def build(case) -> dict:
    baseline, base_csv, final, run_csv = case
    answers = Answers.from_dict(ROUTER)
    return comparison.build(
        baseline, base_csv, final, run_csv, {}, answers, load_assumptions()
    ).to_dict()


def test_a_trial_lead_within_noise_keeps_the_small_classifier(tmp_path):
    comp = build(write_case(tmp_path, ft_gain=22, ft_loss=12))  # 0.90 against 0.85
    test = next(t for t in comp["tests"] if t["b"] == "probe")
    assert not test["significant"] and test["p_value"] > 0.05
    paired = {(t["a"], t["b"]): t for t in comp["evidence"]["paired"]}
    assert paired["fine_tune", "classifier"]["p_value"] == test["p_value"]
    assert (paired["fine_tune", "classifier"]["a_only"], paired["fine_tune", "classifier"]
            ["b_only"]) == (22, 12)  # fmt: skip
    assert {"classifier", "rag", "fine_tune"} == set(comp["evidence"]["intervals"])
    report = comp["report"]
    assert report["cheapest_at_horizon"] == "fine_tune"  # at the points alone: the trial
    assert report["recommendation"] == "classifier" and report["noise"]["held"]
    assert report["robust"] is False
    assert comp["conclusion"].endswith("the verdict is the small classifier.")


def test_a_significant_trial_lead_flips_to_fine_tuning(tmp_path):
    comp = build(write_case(tmp_path, ft_gain=24, ft_loss=4))  # 0.95 against 0.85
    assert next(t for t in comp["tests"] if t["b"] == "probe")["significant"]
    assert comp["report"]["recommendation"] == "fine_tune"
    assert comp["report"]["noise"]["held"] is False


def project(tmp_path: Path, case) -> Path:
    baseline, base_csv, final, run_csv = case
    root = tmp_path / "ws" / "tickets"
    base = root / "results" / "baseline-s1"
    run = root / "runs" / "run-1"
    base.mkdir(parents=True)
    run.mkdir(parents=True)
    (root / "answers.json").write_text(json.dumps(ROUTER))
    (root / "data.json").write_text(json.dumps({"split_id": "s1"}))
    (base / "results.json").write_text(json.dumps(baseline))
    (base / "predictions.csv").write_text(base_csv.read_text())
    (run / "metrics.json").write_text(json.dumps(final))
    (run / "predictions.csv").write_text(run_csv.read_text())
    return root


@pytest.mark.parametrize(("gain", "loss"), [(22, 12), (24, 4)])
def test_every_page_and_the_memo_give_the_comparison_verdict(tmp_path, gain, loss):
    case = write_case(tmp_path, gain, loss)
    root = project(tmp_path, case)
    answers, a = Answers.from_dict(ROUTER), load_assumptions()
    before = project_report(root, "s1", answers, a)  # baseline only: its intervals
    assert before["robust"] is not None and "fine_tune" not in before["evidence"]["measured"]
    comp = build(case)
    comparison.save_comparison(comp, root)
    pages = project_report(root, "s1", answers, a)
    assert pages["recommendation"] == comp["report"]["recommendation"]
    assert pages["noise"] == comp["report"]["noise"] and pages["robust"] == comp["report"]["robust"]
    r = subprocess.run([sys.executable, "-m", "advisor", "memo", "--project", str(root)],
                       capture_output=True, text=True, timeout=120, cwd=REPO)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert f"**Recommendation: {IN_TEXT[comp['report']['recommendation']]}" in r.stdout
    assert r.stdout.count("Noise check: ") == 1  # one line in the memo


def test_a_rerun_baseline_drops_the_stale_evidence(tmp_path):
    case = write_case(tmp_path, 22, 12)
    root = project(tmp_path, case)
    comp = build(case)
    comparison.save_comparison(comp, root)
    results = root / "results" / "baseline-s1" / "results.json"
    base = json.loads(results.read_text())
    base["probe"]["accuracy"] = 0.86  # another figure for the classifier than compared
    base["best"]["accuracy"] = 0.86
    results.write_text(json.dumps(base))
    accuracy, _, evidence = measured_with_evidence(root, "s1")
    assert accuracy["classifier"] == 0.86
    assert "classifier" not in evidence["intervals"]
    assert all("classifier" not in (t["a"], t["b"]) for t in evidence["paired"])
