"""End to end with the real MiniLM and FAISS on a few hundred banking77 rows: the result dict,
written outputs, the CLI's JSON, the cache on a repeat run, and the approximate index."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest

from rag_baseline.cli import main
from rag_baseline.config import EvalConfig
from rag_baseline.evaluate import evaluate, load_dataset
from rag_baseline.report import format_result

METRIC_KEYS = {"accuracy", "macro_f1", "accuracy_ci95", "macro_f1_ci95", "per_class", "confusion"}
TOP_KEYS = {
    "task", "n_train", "n_test", "labels", "knn", "probe", "classic", "split_id", "split_path",
    "warnings", "embed_s", "total_s", "items_per_s", "latency_ms_per_item", "index", "methods",
    "best", "cv", "learning_curve", "window", "quick", "sample",
}  # fmt: skip


def _config(small_data, tmp_path, **overrides) -> EvalConfig:
    values = {
        "train": str(small_data["train"]),
        "test": str(small_data["test"]),
        "split_dir": str(tmp_path / "splits"),
        "cache_dir": str(tmp_path / "emb"),
        "out_dir": str(tmp_path / "out"),
    }
    return EvalConfig(**{**values, **overrides})


@pytest.fixture(scope="module")
def run(small_data, embedder, tmp_path_factory):
    """One evaluation, shared by the assertions below: (config, result, progress calls)."""
    tmp = tmp_path_factory.mktemp("run")
    config = _config(small_data, tmp)
    calls = []
    result = evaluate(config, lambda f, m: calls.append((f, m)), embedder=embedder)
    return config, result, calls


def test_result_shape_and_scores(run):
    config, result, _ = run
    assert TOP_KEYS <= set(result)
    assert result["task"] == "classification"
    assert result["methods"][:3] == ["knn", "probe", "classic"]
    assert set(result["methods"]) <= {"knn", "probe", "classic", "combined"}
    assert ("combined" in result["methods"]) == result["cv"]["combined_cv"]["kept"]
    for method in result["methods"]:
        block = result[method]
        assert METRIC_KEYS <= set(block)
        lo, hi = block["accuracy_ci95"]
        assert lo <= block["accuracy"] <= hi
        assert block["accuracy"] >= 0.75  # 10 distinct intents, 30 examples each
        assert set(block["per_class"]) == set(result["labels"])
    assert result["knn"]["k_source"] == "cv"
    assert result["knn"]["k"] in (1, 3, 5, 10, 20)
    assert result["index"] == {"type": "flat_ip", "exact": True, "n": result["n_train"]}
    assert result["items_per_s"] > 0 and result["latency_ms_per_item"] > 0
    for method in result["methods"]:  # each method's own speed, not one figure for all
        assert result[method]["items_per_s"] > 0 and result[method]["latency_ms_per_item"] > 0
    knn = result["knn"]
    assert (result["items_per_s"], result["latency_ms_per_item"]) == (
        knn["items_per_s"],
        knn["latency_ms_per_item"],
    )
    if "combined" in result["methods"]:  # embedding + probe + TF-IDF + mix, timed once
        assert result["combined"]["latency_ms_per_item"] >= result["probe"]["latency_ms_per_item"]
    plan = result["plan"]
    assert plan["precision"] == result["precision"]
    assert plan["overlap"] in ("side_by_side", "serial")
    assert plan["cpu"] and plan["token_budget"] > 0 and plan["embed_threads"] >= 1
    assert result["total_s"] >= result["embed_s"] >= 0
    assert EvalConfig.from_dict(result["config"]) == config
    assert result["quick"] is False and result["sample"] is None
    classic = result["classic"]
    assert classic["setting"] in classic["cv_accuracy"] and classic["fit_s"] >= 0


def test_best_is_named_and_chosen_by_cv(run):
    _, result, _ = run
    best, cv = result["best"], result["cv"]
    assert best["method"] in result["methods"] and best["name"]
    assert cv["folds"] == 3 and set(cv["scores"]) == set(result["methods"])
    assert best["cv_accuracy"] == max(cv["scores"].values())
    assert best["accuracy"] == result[best["method"]]["accuracy"]
    for method in result["methods"]:
        assert result[method]["cv_score"] == cv["scores"][method]
    curve = result["learning_curve"]
    assert curve["method"] == best["method"]
    assert curve["points"][-1] == {"n_train": result["n_train"], "accuracy": best["accuracy"]}
    assert isinstance(curve["more_data_helps"], bool) and curve["verdict"]
    window = result["window"]
    assert window["window_tokens"] == 256 and window["n_over_window"] == 0
    assert window["n_texts"] == result["n_train"] + result["n_test"]


def test_classic_model_beside_the_embedding_scores_the_same(run, small_data, embedder, tmp_path):
    """The plan's "embedding" overlap (the classic model's thread started before the embedding,
    which keeps one core fewer until it is done) changes when things run, not what they find."""
    import rag_baseline.evaluate as evaluate_module
    import rag_baseline.plan as plan

    _, first, _ = run
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plan, "EMBEDDING_OVERLAP_ROWS", 1)  # these 300 rows count as large
        patch.setattr(evaluate_module, "measured_speedup", lambda torch: 2.0)  # a free core
        patch.setattr(evaluate_module, "idle_cores_now", lambda: 2.0)  # ... by /proc/stat too
        result = evaluate(_config(small_data, tmp_path, no_cache=True), embedder=embedder)
    assert result["plan"]["overlap"] == "embedding" and result["n_embedded"] > 0
    assert embedder.other_job is None  # the embedder is left as it was found
    assert result["methods"] == first["methods"]
    for method in first["methods"]:
        assert result[method]["accuracy"] == first[method]["accuracy"]
    assert result["classic"]["setting"] == first["classic"]["setting"]


def test_progress_runs_from_zero_to_one(run):
    _, _, calls = run
    fractions = [f for f, _ in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert all(isinstance(m, str) and m for _, m in calls)


def test_written_outputs_match_the_split(run):
    config, result, _ = run
    saved = json.loads((config.out_dir and open(f"{config.out_dir}/results.json").read()) or "")
    assert saved["split_id"] == result["split_id"] and saved["knn"] == result["knn"]
    with open(f"{config.out_dir}/predictions.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    ds = load_dataset(config)
    assert list(rows[0]) == ["id", "gold", *result["methods"]]
    assert [r["id"] for r in rows] == ds.test_ids
    assert [r["gold"] for r in rows] == ds.test_labels
    for method in result["methods"]:
        accuracy = sum(r[method] == r["gold"] for r in rows) / len(rows)
        assert round(accuracy, 4) == result[method]["accuracy"]


def test_repeat_run_hits_the_cache(run, embedder):
    config, first, _ = run
    assert first["n_embedded"] > 0 and first["cache_hits"] == 0  # a fresh cache folder
    second = evaluate(config, embedder=embedder)
    assert second["n_embedded"] == 0
    assert second["cache_hits"] == first["n_embedded"]
    assert second["knn"]["accuracy"] == first["knn"]["accuracy"]
    assert second["probe"]["accuracy"] == first["probe"]["accuracy"]
    assert second["classic"]["accuracy"] == first["classic"]["accuracy"]
    assert second["best"] == first["best"]


def test_quick_estimate_has_the_same_shape_on_a_sample(run, small_data, embedder, tmp_path):
    _, full, _ = run
    config = _config(small_data, tmp_path, quick=True, quick_train=120, quick_test=40)
    quick = evaluate(config, embedder=embedder)
    assert quick["quick"] is True
    assert quick["sample"] == {"n_train": 120, "n_test": 40, "of_train": 300, "of_test": 100}
    assert (quick["n_train"], quick["n_test"]) == (120, 40)
    assert set(full) - {"combined"} <= set(quick)
    for method in ("knn", "probe", "classic"):
        assert set(full[method]) == set(quick[method])
    assert quick["split_id"] == full["split_id"]  # a sample of the same saved split
    counts = Counter(r["gold"] for r in _csv(tmp_path / "out" / "quick-predictions.csv"))
    assert set(counts) == set(full["labels"]) and max(counts.values()) == 4  # stratified
    assert not (tmp_path / "out" / "results.json").exists()  # the full run's file is untouched
    assert (tmp_path / "out" / "quick-results.json").exists()
    curve = quick["learning_curve"]
    assert curve["points"][-1]["n_train"] == 120
    assert curve["projected_at_full"]["n_train"] == 300
    assert any("quick estimate" in w for w in quick["warnings"])


def _csv(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_approximate_index_recall_is_reported(small_data, embedder, tmp_path):
    config = _config(small_data, tmp_path, approx_threshold=50, k=5, max_test=40, out_dir=None)
    result = evaluate(config, embedder=embedder)
    index = result["index"]
    assert index["type"] == "hnsw_ip" and index["exact"] is False
    assert index["recall_k"] == 5 and 0.8 <= index["recall_at_k"] <= 1.0
    assert result["n_test"] == 40
    assert any("max_test" in w for w in result["warnings"])


def test_split_made_here_when_no_test_file(small_data, embedder, tmp_path):
    config = _config(small_data, tmp_path, test=None, k=1, no_cache=True, out_dir=None)
    result = evaluate(config, embedder=embedder)
    assert result["n_test"] == round(0.2 * (result["n_train"] + result["n_test"]))
    assert result["knn"]["k"] == 1 and result["knn"]["k_source"] == "config"
    assert result["n_embedded"] == result["n_train"] + result["n_test"] - result["cache_hits"]
    assert result["cache_hits"] == 0
    assert load_dataset(config).split_id == result["split_id"]  # the saved split is reused


def test_cli_json_is_one_object(small_data, tmp_path, capsys):
    code = main(
        [
            "evaluate",
            "--train", str(small_data["train"]),
            "--test", str(small_data["test"]),
            "--text-col", "text",
            "--label-col", "category",
            "--split-dir", str(tmp_path / "splits"),
            "--cache-dir", str(tmp_path / "emb"),
            "--k", "5",
            "--json",
        ]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0
    result = json.loads(out)  # the whole of stdout is one JSON object
    assert {"task", "n_train", "n_test", "split_id", "embed_s", "total_s", "items_per_s"} <= set(
        result
    )
    assert {"k", "accuracy", "macro_f1", "accuracy_ci95"} <= set(result["knn"])
    assert {"accuracy", "macro_f1", "accuracy_ci95"} <= set(result["probe"])
    assert set(result["classic"]) >= {"accuracy", "macro_f1", "accuracy_ci95", "cv_score"}
    assert result["best"]["method"] in result["methods"]
    assert "[100%] done" in err  # progress went to stderr


def test_readable_table(run):
    _, result, _ = run
    table = format_result(result)
    assert table.splitlines()[0].startswith("RAG baseline: classification")
    for word in ("knn", "probe", "classic", "best", "accuracy", "macro-F1", result["split_id"]):
        assert word in table
    assert f"{result['knn']['accuracy']:.4f}" in table


@pytest.mark.slow
def test_full_banking77(banking77_dir, embedder, tmp_path):
    config = EvalConfig(
        train=str(banking77_dir / "train.csv"),
        test=str(banking77_dir / "test.csv"),
        split_dir=str(tmp_path / "splits"),
        no_cache=True,
    )
    result = evaluate(config, embedder=embedder)
    assert result["n_train"] == 10003 and result["n_test"] == 3080
    assert result["knn"]["accuracy"] >= 0.90
    assert result["probe"]["accuracy"] >= 0.90
    assert result["classic"]["accuracy"] >= 0.88
    assert len(result["leakage"]) > 0  # banking77 has a few verbatim train/test duplicates


def test_cli_prints_first_numbers_before_a_full_run_on_large_data(small_data, tmp_path, capsys):
    """300 training rows are >= 4x a 60-row quick sample: the quick estimate comes first."""
    args = [
        "evaluate",
        "--train", str(small_data["train"]),
        "--test", str(small_data["test"]),
        "--split-dir", str(tmp_path / "splits"),
        "--cache-dir", str(tmp_path / "emb"),
        "--quick-train", "60",
        "--quick-test", "30",
        "--out", str(tmp_path / "out"),
    ]  # fmt: skip
    assert main([*args, "--json"]) == 0
    out, err = capsys.readouterr()
    full = json.loads(out)  # stdout is still one JSON object: the full run
    assert full["quick"] is False and full["n_train"] == 300
    first = next(line for line in err.splitlines() if line.startswith("first numbers"))
    quick = json.loads((tmp_path / "out" / "quick-results.json").read_text())
    assert quick["sample"]["n_train"] == 60
    assert "quick estimate on 60 of 300 training rows" in first
    assert f"best cheap baseline {quick['best']['method']}" in first
    assert err.index("first numbers") < err.index("[100%] done", err.index("first numbers"))
    assert full["cache_hits"] >= 60 + 30  # the sample's vectors came back from the cache

    assert main(args) == 0
    out = capsys.readouterr().out
    assert (
        out.index("QUICK estimate")
        < out.index("The full run follows.")
        < out.index("300 train / 100 test")
    )
    assert main([*args, "--no-quick-first"]) == 0
    out, err = capsys.readouterr()
    assert "QUICK estimate" not in out and "first numbers" not in err
    assert main([*args, "--quick-train", "100"]) == 0  # 300 < 4 x 100: straight to the full run
    assert "QUICK estimate" not in capsys.readouterr().out
