"""End to end through the CLI on real data and the real shipped models: train -> metrics.json ->
predictions.csv -> predict; the generation path with SmolLM2; the GPU path where CUDA exists."""

from __future__ import annotations

import csv
import json

import pytest

from tests.trainer.helpers import base_args, run_cli, split_and_predictions

CONTRACT = {
    "run_id",
    "run_dir",
    "status",
    "device",
    "accuracy",
    "macro_f1",
    "accuracy_ci95",
    "train_s",
    "train_samples_per_s",
    "predicted_train_s",
}


def test_train_metrics_predictions_then_predict(tiny_data, tmp_path):
    runs = tmp_path / "runs"
    res = run_cli("train", *base_args(tiny_data, runs, max_steps=6, gate_override=True), "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout)  # exactly one JSON object on stdout
    assert CONTRACT <= set(out) and out["status"] == "completed" and out["device"] == "cpu"
    assert 0.0 <= out["accuracy"] <= 1.0 and out["accuracy_ci95"][0] <= out["accuracy"]
    assert out["predicted_train_s"] > 0 and out["train_s"] > 0
    run_dir = runs / out["run_id"]
    final = json.loads((run_dir / "metrics.json").read_text())
    assert final["gate_override"] is True
    assert final["steps"] == 6 and final["accuracy"] == out["accuracy"]
    assert {"per_class", "confusion", "macro_f1_ci95", "predicted_over_actual"} <= set(final)
    assert json.loads((run_dir / "config.json").read_text())["gate_override"] is True
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "completed"
    # what the app's progress line reads before the first step, and the prediction's range
    assert {"phase_eta_s", "phase_started_at", "predicted_steps_s"} <= set(status)
    lo, hi = status["predicted_train_s_range"]
    assert 0 < lo <= status["predicted_train_s"] <= hi
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "eval_loss" in r][-1] == 6  # held-out line to the end
    assert (run_dir / "adapter" / "adapter_model.safetensors").exists()
    assert (run_dir / "stdout.log").read_text().strip()
    # predictions.csv: the split's test ids, so McNemar can pair them with the RAG baseline's
    data, rows = split_and_predictions(tiny_data, runs, run_dir)
    assert [r["id"] for r in rows] == data.test_ids
    assert [r["gold"] for r in rows] == data.test_labels
    acc = sum(r["gold"] == r["pred"] for r in rows) / len(rows)
    assert acc == pytest.approx(out["accuracy"], abs=1e-4)

    # the user's own columns kept, in their order, as the app and rag_baseline.deploy keep them;
    # a column already named `pred` stays and the prediction becomes `pred_model`
    new = tmp_path / "new.csv"
    rows = [
        "ticket,text,pred,channel",
        "T1,my card has not arrived yet,x,=1+1",
        "T2,hi there,y,web",
    ]
    new.write_text("\n".join(rows) + "\n")
    pred_out = tmp_path / "preds.csv"
    res = run_cli(
        "predict", "--run", out["run_id"], "--runs-dir", str(runs), "--input", str(new),
        "--out", str(pred_out),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    with open(pred_out, newline="") as fh:
        preds = list(csv.DictReader(fh))
    assert list(preds[0]) == ["ticket", "text", "pred", "channel", "pred_model", "confidence"]
    assert [(p["ticket"], p["pred"]) for p in preds] == [("T1", "x"), ("T2", "y")]
    assert [p["channel"] for p in preds] == ["'=1+1", "web"]  # spreadsheet-safe
    assert all(p["pred_model"] in data.labels and 0 < float(p["confidence"]) <= 1 for p in preds)

    res = run_cli("status", out["run_id"], "--runs-dir", str(runs), "--json")
    assert json.loads(res.stdout)["state"] == "completed"
    res = run_cli("list", "--runs-dir", str(runs), "--json")
    assert [r["run_id"] for r in json.loads(res.stdout)] == [out["run_id"]]


def test_split_and_learning_curve_without_test_file(tiny_data, tmp_path):
    runs = tmp_path / "runs"
    args = [a for a in base_args(tiny_data, runs, max_steps=2) if a not in ("--test",)]
    args.remove(str(tiny_data["test"]))
    res = run_cli("train", *args, "--no-warm-start", "--learning-curve", "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout)
    final = json.loads((runs / out["run_id"] / "metrics.json").read_text())
    assert final["n_test"] == 24 and final["n_train"] == 96  # 20% stratified of 120 rows
    assert final["warm_start_s"] == 0.0
    curve = final["learning_curve"]
    assert [p["fraction"] for p in curve] == [0.25, 0.5, 1.0]
    assert [p["n_train"] for p in curve] == [24, 48, 96]  # per class: 6, 12, 24 of 24
    assert curve[-1]["accuracy"] == final["accuracy"]


def test_generation_tiny_run_with_smollm2(tiny_data, tmp_path):
    import pandas as pd

    for name in ("train", "test"):
        frame = pd.read_csv(tiny_data[name]).groupby("category").head(4 if name == "train" else 2)
        pd.DataFrame(
            {"question": frame["text"], "answer": frame["category"].str.replace("_", " ")}
        ).to_csv(tmp_path / f"{name}.csv", index=False)
    runs = tmp_path / "runs"
    res = run_cli(
        "train",
        "--train",
        str(tmp_path / "train.csv"),
        "--test",
        str(tmp_path / "test.csv"),
        "--text-col",
        "question",
        "--label-col",
        "answer",
        "--task",
        "generation",
        "--max-steps",
        "3",
        "--batch-size",
        "4",
        "--max-new-tokens",
        "6",
        "--threads",
        "1",
        "--runs-dir",
        str(runs),
        "--split-dir",
        str(runs / "splits"),
        "--json",
    )
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout)
    assert out["status"] == "completed" and out["task"] == "generation"
    assert {"exact_match", "token_f1", "train_s", "predicted_train_s"} <= set(out)
    final = json.loads((runs / out["run_id"] / "metrics.json").read_text())
    assert final["n_test"] == 8 and 0.0 <= final["token_f1"] <= 1.0
    assert (runs / out["run_id"] / "adapter" / "adapter_config.json").exists()


@pytest.mark.gpu
def test_cuda_bf16_run(tiny_data, tmp_path):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    runs = tmp_path / "runs"
    res = run_cli("train", *base_args(tiny_data, runs, max_steps=4, device="cuda"), "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout)
    assert out["device"] == "cuda" and out["precision"] == "bf16"
