"""The comparison on one held-out split: the RAG baseline, its sibling baseline and the trial
fine-tune (classification: kNN retrieval, linear probe; generation: RAG few-shot, nearest answer).

Pure Python (no streamlit): joins the predictions of both pipelines by item id, runs McNemar's
paired test (core.metrics.mcnemar) on the items both scored, prices 1,000 predictions from
the measured time per item, sets the trial's predicted against actual cost, and recomputes the
advisor's break-even from the measured accuracy.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor import Answers, Assumptions, estimate
from core.metrics import mcnemar, normalize_answer

ALPHA = 0.05
NAMES = {
    "knn": "RAG baseline (kNN)",
    "probe": "Linear probe",
    "rag": "RAG baseline (few-shot)",
    "nearest": "Nearest answer",
    "fine_tune": "Trial fine-tune",
}


@dataclass(frozen=True)
class Kind:
    """What differs between a classification and a generation comparison."""

    baselines: tuple[str, str]  # result keys; the first is "the RAG baseline"
    gold: str  # gold column of the baseline's predictions.csv
    metric: str  # primary score (also the advisor's measured accuracy)
    second: str
    labels: tuple[str, str]  # display names of metric, second

    def correct(self, gold: str, pred: str) -> bool:
        if self.metric == "exact_match":
            return normalize_answer(gold) == normalize_answer(pred)
        return gold == pred


KINDS = {
    "classification": Kind(("knn", "probe"), "gold", "accuracy", "macro_f1",
                           ("Accuracy", "Macro-F1")),
    "generation": Kind(("rag", "nearest"), "reference", "exact_match", "token_f1",
                       ("Exact match", "Token F1")),
}  # fmt: skip


def read_predictions(path: str | Path, gold: str, column: str) -> dict[str, tuple[str, str]]:
    """{id: (gold, prediction)} from a predictions.csv; ValueError naming a missing column."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"id", gold, column} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{Path(path).name}: no column {sorted(missing)[0]!r}")
        return {row["id"]: (row[gold], row[column]) for row in reader}


def joined_correctness(
    kind: Kind, baseline_csv: str | Path, run_csv: str | Path
) -> tuple[list[str], dict[str, list[bool]]]:
    """Item ids scored by both, and per system whether each was right (same order)."""
    base = {k: read_predictions(baseline_csv, kind.gold, k) for k in kind.baselines}
    ft = read_predictions(run_csv, "gold", "pred")
    first = base[kind.baselines[0]]
    ids = sorted(set(first) & set(ft))
    for i in ids:
        if first[i][0] != ft[i][0]:
            raise ValueError(
                f"item {i}: gold label differs between the baseline ({first[i][0]!r}) and the "
                f"run ({ft[i][0]!r}); they were not scored on the same split"
            )
    correct = {k: [kind.correct(*preds[i]) for i in ids] for k, preds in base.items()}
    correct["fine_tune"] = [kind.correct(*ft[i]) for i in ids]
    return ids, correct


def paired_tests(kind: Kind, correct: Mapping[str, list[bool]]) -> list[dict[str, Any]]:
    """McNemar of the fine-tune against each baseline (a = fine-tune, b = baseline)."""
    out = []
    for other in kind.baselines:
        test = mcnemar(correct["fine_tune"], correct[other])
        winner = "fine_tune" if test["a_only"] > test["b_only"] else other
        out.append(
            {
                "a": "fine_tune",
                "b": other,
                **test,
                "significant": test["p_value"] < ALPHA,
                "better": winner if test["p_value"] < ALPHA else None,
            }
        )
    return out


def usd_per_1000(ms_per_item: float | None, usd_per_hour: float | None) -> float | None:
    """Compute cost of 1,000 predictions on one device at the measured time per item."""
    if ms_per_item is None or usd_per_hour is None:
        return None
    return ms_per_item * 1000 / 3.6e6 * usd_per_hour


def device_price(assumptions: Assumptions, answers: Answers, device: str | None) -> float | None:
    """USD per hour of the device a measurement ran on: the advisor's CPU or planned GPU price."""
    name = "cpu" if not device or device.startswith("cpu") else answers.gpu
    try:
        return assumptions.gpu(name).usd_per_hour.expected
    except ValueError:
        return None


def _ms_per_item(metrics: Mapping[str, Any]) -> float | None:
    """Milliseconds per prediction when scoring a batch (what 1,000 predictions cost).

    Baseline: 1000 / items_per_s of its serving-speed measurement. Trainer: the time it took to
    predict the held-out split (eval_s) over its size.
    """
    if metrics.get("items_per_s"):
        return 1000.0 / float(metrics["items_per_s"])
    if metrics.get("eval_s") and metrics.get("n_test"):
        return 1000.0 * float(metrics["eval_s"]) / int(metrics["n_test"])
    return None


def _system(
    kind: Kind, key: str, m: Mapping[str, Any], timing: Mapping[str, Any], price: float | None
) -> dict:
    ms = _ms_per_item(timing)
    return {
        "key": key,
        "system": NAMES[key],
        "score": m[kind.metric],
        "score_ci95": m.get(f"{kind.metric}_ci95"),
        "second": m.get(kind.second),
        "second_ci95": m.get(f"{kind.second}_ci95"),
        "ms_per_item": ms,
        "latency_ms": timing.get("latency_ms_per_item"),  # one request at a time, if measured
        "usd_per_1000": usd_per_1000(ms, price),
    }


def _ci_text(v: float | None, ci: list[float] | None) -> str:
    if v is None:
        return "—"
    return f"{v:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _num(v: float | None, fmt: str) -> str:
    return "—" if v is None else format(v, fmt)


def system_table(comp: Mapping[str, Any]) -> list[dict[str, str]]:
    """The systems as display rows (the page and the memo show the same table)."""
    first, second = comp["metric_labels"]
    return [
        {
            "System": s["system"],
            f"{first} [95% CI]": _ci_text(s["score"], s["score_ci95"]),
            f"{second} [95% CI]": _ci_text(s["second"], s["second_ci95"]),
            "ms / item (batch)": _num(s["ms_per_item"], ".2f"),
            "Latency ms (single)": _num(s["latency_ms"], ".1f"),
            "USD / 1,000": "—" if s["usd_per_1000"] is None else f"{s['usd_per_1000']:.6f}",
        }
        for s in comp["systems"]
    ]


def paired_table(comp: Mapping[str, Any]) -> list[dict[str, str]]:
    """McNemar results as display rows."""
    return [
        {
            "Comparison": f"{NAMES[t['a']]} vs {NAMES[t['b']]}",
            "Only the fine-tune right": str(t["a_only"]),
            "Only the baseline right": str(t["b_only"]),
            "p": f"{t['p_value']:.3g}",
            "Test": t["method"],
            "Significant (p < 0.05)": "yes" if t["significant"] else "no",
        }
        for t in comp["tests"]
    ]


def _roi(report: Any) -> dict[str, Any]:
    d = report.to_dict()
    return {
        "recommendation": d["recommendation"],
        "fine_tune_justified": d["fine_tune_justified"],
        "break_even_months": d["break_even_months"],
        "break_even_vs_rag": d.get("break_even_vs", {}).get("rag"),
        "monthly_saving_usd": d.get("monthly_saving_usd", {}).get("expected"),
        "accuracy": {k: v.get("expected") for k, v in d.get("accuracy", {}).items()},
        "series": d["series"],
    }


def _trial(final: Mapping[str, Any], price: float | None) -> dict[str, Any]:
    predicted, actual = final.get("predicted_train_s"), final.get("train_s")

    def cost(seconds: float | None) -> float | None:
        return None if seconds is None or price is None else seconds / 3600 * price

    return {
        "device": final.get("device", "cpu"),
        "predicted_train_s": predicted,
        "train_s": actual,
        "predicted_usd": cost(predicted),
        "actual_usd": cost(actual),
        "ratio": round(actual / predicted, 3) if predicted and actual else None,
    }


def build(
    baseline: Mapping[str, Any],
    baseline_csv: str | Path,
    final: Mapping[str, Any],
    run_csv: str | Path,
    run_config: Mapping[str, Any],
    answers: Answers,
    assumptions: Assumptions,
) -> dict[str, Any]:
    """Everything the Compare page and the memo show, as plain JSON-able data."""
    kind = KINDS[baseline.get("task", "classification")]
    warnings = []
    if final.get("split_id") and final["split_id"] != baseline.get("split_id"):
        warnings.append(
            f"the run used split {final['split_id']} but the baseline split "
            f"{baseline.get('split_id')}: the scores are not on the same items"
        )
    base_price = device_price(assumptions, answers, baseline.get("device"))
    ft_price = device_price(assumptions, answers, final.get("device"))
    systems = [_system(kind, k, baseline[k], baseline, base_price) for k in kind.baselines]
    systems.append(_system(kind, "fine_tune", final, final, ft_price))
    ids, correct = joined_correctness(kind, baseline_csv, run_csv)
    if len(ids) != baseline.get("n_test", len(ids)):
        warnings.append(
            f"only {len(ids)} of {baseline.get('n_test')} held-out items were scored by both"
        )
    rag = baseline[kind.baselines[0]][kind.metric]
    measured = {"rag": rag, "fine_tune": final[kind.metric]}
    return {
        "task": baseline.get("task", "classification"),
        "metric_labels": list(kind.labels),
        "split_id": baseline.get("split_id"),
        "n_paired": len(ids),
        "systems": systems,
        "tests": paired_tests(kind, correct) if ids else [],
        "trial": _trial(final, ft_price),
        "gate_override": bool(run_config.get("gate_override")),
        "run_id": final.get("run_id") or run_config.get("run_id"),
        "measured_accuracy": measured,
        "roi": {
            "assumed": _roi(estimate(answers, assumptions)),
            "measured": _roi(estimate(answers, assumptions, measured_accuracy=measured)),
        },
        "warnings": warnings,
    }


def conclusion(comp: Mapping[str, Any]) -> str:
    """One sentence for the budget owner."""
    rag, ft = comp["systems"][0], comp["systems"][-1]  # the RAG baseline comes first
    test = next((t for t in comp["tests"] if t["b"] == rag["key"]), None)
    gain = (ft["score"] - rag["score"]) * 100
    roi = comp["roi"]["measured"]
    months, vs_rag = roi["break_even_months"], roi.get("break_even_vs_rag")
    pays = (
        ("never pays back" if months is None else f"pays back in {months:.1f} months")
        + " against today's process and "
        + ("never against RAG" if vs_rag is None else f"in {vs_rag:.1f} months against RAG")
    )
    if test and test["better"] == "fine_tune":
        return (
            f"The trial fine-tune is significantly more accurate than the RAG baseline "
            f"({gain:+.1f} points, McNemar p = {test['p_value']:.3g}); with the measured "
            f"accuracy, fine-tuning {pays}."
        )
    if test and test["better"] == rag["key"]:
        return (
            f"The RAG baseline is significantly more accurate than the trial fine-tune "
            f"({-gain:+.1f} points, p = {test['p_value']:.3g}): stay with RAG."
        )
    p = f"p = {test['p_value']:.3g}" if test else "no paired test"
    return (
        f"No significant difference between the trial fine-tune and the RAG baseline "
        f"({gain:+.1f} points, {p}): the cheaper RAG baseline is the safer choice; "
        f"with the measured accuracy, fine-tuning {pays}."
    )
