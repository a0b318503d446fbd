"""Comparison and decision memo (pure Python) on predictions whose agreement pattern is known."""

from __future__ import annotations

import csv
from html.parser import HTMLParser

import pytest

from advisor import Answers, estimate, load_assumptions
from core.metrics import classification_metrics, mcnemar
from ui import compare, memo

N = 60
GOLD = ["billing" if i % 2 else "access" for i in range(N)]
OTHER = {"billing": "access", "access": "billing"}


def _preds(right: set[int]) -> list[str]:
    return [g if i in right else OTHER[g] for i, g in enumerate(GOLD)]


@pytest.fixture
def case(tmp_path):
    """kNN right on items 0-39, probe on 0-44, fine-tune on 0-49 plus a held-out id only it has."""
    ids = [f"r{i}" for i in range(N)]
    knn, probe, ft = _preds(set(range(40))), _preds(set(range(45))), _preds(set(range(50)))
    base_csv, run_csv = tmp_path / "baseline.csv", tmp_path / "run.csv"
    with base_csv.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "gold", "knn", "probe"])
        w.writerows(zip(ids, GOLD, knn, probe))
    with run_csv.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "gold", "pred"])
        w.writerows(zip(ids, GOLD, ft))
    baseline = {
        "split_id": "s1",
        "n_test": N,
        "latency_ms_per_item": 2.0,
        "items_per_s": 500.0,
        "knn": {"k": 5, **classification_metrics(GOLD, knn)},
        "probe": classification_metrics(GOLD, probe),
    }
    final = {
        "split_id": "s1",
        "device": "cpu",
        "eval_s": 0.24,
        "n_test": N,
        "predicted_train_s": 100.0,
        "train_s": 120.0,
        **classification_metrics(GOLD, ft),
    }
    return baseline, base_csv, final, run_csv


def _build(case, config=None):
    baseline, base_csv, final, run_csv = case
    return compare.build(
        baseline, base_csv, final, run_csv, config or {}, Answers(), load_assumptions()
    )


def test_paired_test_uses_the_same_items(case):
    comp = _build(case)
    assert comp["n_paired"] == N
    by_other = {t["b"]: t for t in comp["tests"]}
    ft_right = [i < 50 for i in range(N)]
    assert by_other["knn"] == {
        **by_other["knn"],
        **mcnemar(ft_right, [i < 40 for i in range(N)]),
    }
    assert (by_other["knn"]["a_only"], by_other["knn"]["b_only"]) == (10, 0)
    assert by_other["knn"]["better"] == "fine_tune"
    assert by_other["probe"]["a_only"] == 5


def test_cost_per_1000_and_trial_cost_follow_the_price(case):
    comp = _build(case)
    price = load_assumptions().gpu("cpu").usd_per_hour.expected
    ft = next(s for s in comp["systems"] if s["key"] == "fine_tune")
    assert ft["ms_per_item"] == pytest.approx(4.0)  # 0.24 s for 60 held-out items
    assert ft["usd_per_1000"] == pytest.approx(4.0 * 1000 / 3.6e6 * price, rel=1e-3)
    knn = next(s for s in comp["systems"] if s["key"] == "knn")
    assert knn["ms_per_item"] == pytest.approx(2.0) and knn["latency_ms"] == 2.0
    assert comp["trial"]["actual_usd"] == pytest.approx(120 / 3600 * price, rel=1e-3)
    assert comp["trial"]["ratio"] == pytest.approx(1.2)


def test_break_even_is_recomputed_from_measured_accuracy(case):
    baseline, _, final, _ = case
    comp = _build(case)
    measured = estimate(
        Answers(),
        load_assumptions(),
        measured_accuracy={"rag": baseline["knn"]["accuracy"], "fine_tune": final["accuracy"]},
    )
    assert comp["roi"]["measured"]["break_even_months"] == measured.to_dict()["break_even_months"]
    assert (
        comp["roi"]["assumed"]["break_even_months"]
        == estimate(Answers()).to_dict()["break_even_months"]
    )


def test_different_gold_labels_mean_different_splits(case, tmp_path):
    baseline, base_csv, final, run_csv = case
    rows = list(csv.reader(run_csv.open()))
    rows[1][1] = "refund"
    with run_csv.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    with pytest.raises(ValueError, match="not scored on the same split"):
        _build((baseline, base_csv, final, run_csv))


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


@pytest.mark.parametrize("override", [False, True])
def test_memo_has_verdict_numbers_charts_and_assumptions(case, override):
    comp = _build(case, {"gate_override": override})
    baseline, _, final, _ = case
    report = estimate(Answers(), measured_accuracy=comp["measured_accuracy"]).to_dict()
    secs = memo.sections(comp, report, "demo-project")
    md, html = memo.to_markdown(secs), memo.to_html(secs)
    for text in (md, html):
        assert "demo-project" in text
        assert compare.conclusion(comp).split("(")[0].strip() in text
        assert f"{final['accuracy']:.3f}" in text
        assert "McNemar" in text
        assert "engineering.weekly_rate_usd" in text  # assumptions with sources
        assert ("against the advisor's verdict" in text) is override
    assert md.count("data:image/svg+xml;base64,") == 2
    parser = _Checker()
    parser.feed(html)
    assert parser.tags.count("svg") == 2 and "table" in parser.tags


def test_generation_compares_exact_match_after_normalisation(tmp_path):
    from core.metrics import generation_metrics

    refs = ["Paris", "42", "blue whale", "yes"]
    rag, nearest, ft = ["paris.", "41", "Blue whale", "no"], ["Rome", "42", "x", "no"], [
        "Paris", "42", "blue whale!", "no"]  # fmt: skip
    ids = [f"r{i}" for i in range(len(refs))]
    base_csv, run_csv = tmp_path / "b.csv", tmp_path / "r.csv"
    with base_csv.open("w", newline="") as fh:
        csv.writer(fh).writerows(
            [["id", "reference", "rag", "nearest"], *zip(ids, refs, rag, nearest)]
        )
    with run_csv.open("w", newline="") as fh:
        csv.writer(fh).writerows([["id", "gold", "pred"], *zip(ids, refs, ft)])
    baseline = {
        "task": "generation",
        "split_id": "g",
        "n_test": 4,
        "items_per_s": 10.0,
        "rag": generation_metrics(refs, rag),
        "nearest": generation_metrics(refs, nearest),
    }
    final = {"split_id": "g", "n_test": 4, "eval_s": 2.0, **generation_metrics(refs, ft)}
    comp = compare.build(baseline, base_csv, final, run_csv, {}, Answers(), load_assumptions())
    assert comp["metric_labels"] == ["Exact match", "Token F1"]
    assert [s["key"] for s in comp["systems"]] == ["rag", "nearest", "fine_tune"]
    by_other = {t["b"]: t for t in comp["tests"]}
    # rag right on 0 and 2 (after normalisation), fine-tune right on 0, 1, 2.
    assert (by_other["rag"]["a_only"], by_other["rag"]["b_only"]) == (1, 0)
    assert comp["measured_accuracy"] == {"rag": 0.5, "fine_tune": 0.75}
    assert "Exact match" in memo.to_markdown(
        memo.sections(comp, estimate(Answers()).to_dict(), "g")
    )
