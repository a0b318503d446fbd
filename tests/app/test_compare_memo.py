"""Comparison (comparison package) and decision memo (advisor.memo), pure Python, on predictions
whose agreement pattern is known; the memo and the CLIs tell the same story as the app."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from html.parser import HTMLParser

import pytest

import comparison
from advisor import Answers, estimate, load_assumptions, memo
from advisor.text import IN_TEXT, OPTION_COLORS, OPTION_NAMES
from comparison.build import KNN_PROXY
from core.metrics import classification_metrics, mcnemar
from tests.app.conftest import REPO
from tests.app.helpers import JUSTIFYING

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


def _build(case, config=None, answers=None):
    baseline, base_csv, final, run_csv = case
    return comparison.build(
        baseline, base_csv, final, run_csv, config or {}, answers or Answers(), load_assumptions()
    ).to_dict()


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


def test_the_verdict_is_recomputed_from_measured_accuracy(case):
    baseline, _, final, _ = case
    comp = _build(case)
    # probe (0.75) beats kNN (0.67): the best cheap baseline is the small classifier, costed
    # as deployed; kNN stands in for an LLM RAG as a proxy
    assert comp["best_baseline"] == "probe"
    measured = {"classifier": baseline["probe"]["accuracy"], "rag": baseline["knn"]["accuracy"],
                "fine_tune": final["accuracy"]}  # fmt: skip
    assert comp["measured_accuracy"] == measured
    by = {"classifier": "best cheap baseline: Linear probe", "rag": KNN_PROXY}
    assert comp["report"] == json.loads(json.dumps(estimate(Answers(), measured_accuracy=measured,
                                                            measured_by=by,
                                                            measured_evidence=comp["evidence"]
                                                            ).to_dict()))  # fmt: skip
    msg = comp["report"]["evidence"]["message"]
    assert "The small classifier (best cheap baseline: Linear probe) 0.75" in msg
    assert "RAG (proxy: kNN retrieval" in msg
    opts = comp["report"]["options"]
    assert opts["classifier"]["accuracy_source"] == "measured" and not opts["classifier"]["proxy"]
    assert opts["rag"]["proxy"] is True
    assert (
        comp["assumed_report"]["break_even_months"]
        == estimate(Answers()).to_dict()["break_even_months"]
    )
    rec = IN_TEXT[comp["report"]["recommendation"]]
    assert comp["conclusion"].endswith(f"the verdict is {rec}.")
    assert "RAG baseline" in comp["conclusion"]


def test_a_combined_best_baseline_is_compared_and_named(case):
    """The baseline's CV picked its probe + TF-IDF mix: the comparison tests against it and the
    advisor's evidence says which baseline stood for the cheap option."""
    baseline, base_csv, final, run_csv = case
    mixed = _preds(set(range(47)))
    rows = list(csv.reader(base_csv.open()))
    with base_csv.open("w", newline="") as fh:
        csv.writer(fh).writerows([[*r, c] for r, c in zip(rows, ["combined", *mixed])])
    name = "Probe + TF-IDF combined"
    best = {"method": "combined", "accuracy": 47 / N, "name": name}
    with_mix = {**baseline, "combined": classification_metrics(GOLD, mixed), "best": best}
    comp = _build((with_mix, base_csv, final, run_csv))
    assert comp["best_baseline"] == "combined"
    assert comp["measured_accuracy"]["classifier"] == round(47 / N, 4)
    assert {t["b"] for t in comp["tests"]} == {"knn", "probe", "combined"}
    assert next(t for t in comp["tests"] if t["b"] == "combined")["a_only"] == 3
    msg = comp["report"]["evidence"]["message"]
    assert f"The small classifier (best cheap baseline: {name}) 0.78" in msg


def test_best_from_the_baseline_results_wins(case):
    baseline, base_csv, final, run_csv = case
    with_best = {**baseline, "best": {"method": "knn", "accuracy": baseline["knn"]["accuracy"]}}
    comp = _build((with_best, base_csv, final, run_csv))
    assert comp["best_baseline"] == "knn"
    assert comp["measured_accuracy"]["classifier"] == baseline["knn"]["accuracy"]


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
def test_memo_opens_with_one_recommendation_and_names_figures(case, override):
    comp = _build(case, {"gate_override": override})
    _, _, final, _ = case
    report = comp["report"]
    secs = memo.sections(report, comp, "demo-project")
    md, html = memo.to_markdown(secs), memo.to_html(secs)
    rec = IN_TEXT[report["recommendation"]]
    first = md.split("## ")[1]
    assert first.startswith("Recommendation") and f"**Recommendation: {rec}.**" in first
    others = {IN_TEXT[o] for o in ("human", "prompting", "rag", "classifier", "fine_tune")} - {rec}
    assert not any(f"Recommendation: {o}" in md for o in others)  # one recommendation
    for text in (md, html):
        assert "demo-project" in text
        assert comp["conclusion"].split("(")[0].strip() in text
        assert f"{final['accuracy']:.3f}" in text
        assert "McNemar" in text
        assert "Engineering weeks, first project" in text  # figures named as a reader would
        assert "Small classifier" in text and "measured" in text  # the options table
        assert "seed." not in text and "engineering.weekly_rate_usd" not in text
        assert ("against the advisor's verdict" in text) is override
        # the recommendation comes first; an override warning follows it
        if override:
            assert text.index("Recommendation: ") < text.index("against the advisor's verdict")
        assert "$-" not in text and "-$" not in text
    assert md.count("data:image/svg+xml;base64,") == 2
    parser = _Checker()
    parser.feed(html)
    assert parser.tags.count("svg") == 2 and "table" in parser.tags
    for section in md.split("\n## ")[1:]:  # no empty sections
        assert section.split("\n", 1)[1].strip(), section


def test_memo_colours_match_the_app():
    from ui import charts

    report = estimate(Answers.from_dict(JUSTIFYING)).to_dict()
    html = memo.to_html(memo.sections(report, None, "p"))
    for option, colour in OPTION_COLORS.items():
        assert f'stroke="{colour}"' in html, option
    assert charts.OPTION_COLORS == [OPTION_COLORS[o] for o in OPTION_NAMES]


def test_memo_and_comparison_must_agree(case):
    comp = _build(case)
    other = estimate(Answers.from_dict({"task_type": "domain_qa", "stage": "pilot"})).to_dict()
    assert other["recommendation"] != comp["report"]["recommendation"]
    with pytest.raises(ValueError, match="disagree"):
        memo.sections(other, comp, "p")


def _project(tmp_path, case, answers: dict) -> object:
    """An app project folder as ui/workspace.py lays it out."""
    baseline, base_csv, final, run_csv = case
    root = tmp_path / "ws" / "tickets"
    (root / "results" / "baseline-s1").mkdir(parents=True)
    (root / "runs" / "run-1").mkdir(parents=True)
    (root / "answers.json").write_text(json.dumps(answers))
    (root / "data.json").write_text(json.dumps({"split_id": "s1"}))
    (root / "results" / "baseline-s1" / "results.json").write_text(json.dumps(baseline))
    (root / "results" / "baseline-s1" / "predictions.csv").write_text(base_csv.read_text())
    (root / "runs" / "run-1" / "metrics.json").write_text(json.dumps(final))
    (root / "runs" / "run-1" / "predictions.csv").write_text(run_csv.read_text())
    return root


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120,
                          cwd=REPO)  # fmt: skip


def test_clis_write_the_same_memo_as_the_app(tmp_path, case):
    root = _project(tmp_path, case, JUSTIFYING)
    r = _run("-m", "comparison", str(root), "--json")
    assert r.returncode == 0, r.stderr
    comp = json.loads(r.stdout)
    app_comp = _build(case, answers=Answers.from_dict(JUSTIFYING))
    assert comp["report"]["recommendation"] == app_comp["report"]["recommendation"]
    assert comp["conclusion"] == app_comp["conclusion"]
    comparison.save_comparison(comp, root)
    out = tmp_path / "memo.md"
    r = _run("-m", "advisor", "memo", "--project", str(root), "--out", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    expected = memo.to_markdown(memo.sections(app_comp["report"], app_comp, "tickets"))
    assert text == expected  # the pure CLI memo is the app's memo
    r = _run("-m", "comparison", str(root), "--memo", str(tmp_path / "m.html"))
    assert r.returncode == 0 and (tmp_path / "m.html").read_text().startswith("<!DOCTYPE html>")


def test_clis_reject_a_broken_project(tmp_path, case):
    root = _project(tmp_path, case, JUSTIFYING)
    (root / "answers.json").write_text('{"monthly_volume": 1, "monthly_volume": 2}')
    for args in (("-m", "comparison", str(root)), ("-m", "advisor", "memo", "--project",
                                                     str(root))):  # fmt: skip
        r = _run(*args)
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert "monthly_volume" in r.stderr and len(r.stderr.strip().splitlines()) == 1


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
    comp = comparison.build(
        baseline, base_csv, final, run_csv, {}, Answers(), load_assumptions()
    ).to_dict()
    assert comp["metric_labels"] == ["Exact match", "Token F1"]
    assert [s["key"] for s in comp["systems"]] == ["rag", "nearest", "fine_tune"]
    by_other = {t["b"]: t for t in comp["tests"]}
    # rag right on 0 and 2 (after normalisation), fine-tune right on 0, 1, 2.
    assert (by_other["rag"]["a_only"], by_other["rag"]["b_only"]) == (1, 0)
    assert comp["measured_accuracy"] == {"rag": 0.5, "fine_tune": 0.75}
    assert comp["report"]["options"]["rag"]["proxy"] is True
    assert "Exact match" in memo.to_markdown(memo.sections(comp["report"], comp, "g"))


@pytest.mark.parametrize(
    ("results", "measured", "named"),
    [
        ({"knn": {"accuracy": 0.9}, "probe": {"accuracy": 0.95}},
         {"classifier": 0.95, "rag": 0.9}, "best cheap baseline: Linear probe"),
        ({"knn": {"accuracy": 0.9}, "best": {"method": "knn", "accuracy": 0.9, "name": "kNN"}},
         {"classifier": 0.9, "rag": 0.9}, "best cheap baseline: kNN"),
        ({"task": "generation", "rag": {"exact_match": 0.4}, "nearest": {"exact_match": 0.6}},
         {"rag": 0.6}, None),
        ({"knn": {"accuracy": 7}, "probe": "broken"}, {}, None),
    ],
)  # fmt: skip
def test_project_measured_evidence_reads_the_baseline_best(tmp_path, results, measured, named):
    """The app's measured figures: the baseline's own `best` (else its best method) is the
    small classifier; kNN stands in for RAG as a proxy; generation's baseline is RAG's proxy."""
    from comparison.project import measured_evidence

    folder = tmp_path / "results" / "baseline-s1"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"split_id": "s1", **results}))
    accuracy, by = measured_evidence(tmp_path, "s1")
    assert accuracy == measured
    assert by.get("classifier") == named
    if "rag" in measured:
        assert by["rag"].startswith("proxy: ")


def test_the_learning_curve_prices_labelling(case):
    baseline, base_csv, final, run_csv = case
    curve = {"method": "probe", "points": [], "gain_per_doubling": 0.05}
    comp = _build(({**baseline, "learning_curve": curve}, base_csv, final, run_csv))
    lab = comp["report"]["labelling"]
    assert lab["option"] == comp["report"]["recommendation"] == "classifier"
    assert lab["gain_source"] == "measured" and lab["gain_per_doubling"] == 0.05
    assert "measured on the baseline's learning curve" in lab["message"]
    flat = _build(case)["report"]["labelling"]  # no curve in the results: the assumption
    assert flat["gain_source"] == "assumed"
