"""Build the comparison (see comparison/__init__.py)."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from advisor import Answers, Assumptions, estimate
from advisor.text import IN_TEXT
from comparison.evidence import holding, option_evidence, option_systems
from core.metrics import mcnemar, normalize_answer

ALPHA = 0.05
NAMES = {
    "knn": "RAG baseline (kNN)",
    "probe": "Linear probe",
    "classic": "TF-IDF linear model",
    "combined": "Probe + TF-IDF combined",
    "rag": "RAG baseline (few-shot)",
    "nearest": "Nearest answer",
    "fine_tune": "Trial fine-tune",
}


@dataclass(frozen=True)
class Kind:
    """What differs between a classification and a generation comparison."""

    baselines: tuple[str, ...]  # result keys; the first is "the RAG baseline"
    gold: str  # gold column of the baseline's predictions.csv
    metric: str  # primary score (also the advisor's measured accuracy)
    second: str
    labels: tuple[str, str]  # display names of metric, second

    def correct(self, gold: str, pred: str) -> bool:
        if self.metric == "exact_match":
            return normalize_answer(gold) == normalize_answer(pred)
        return gold == pred


KINDS = {
    "classification": Kind(("knn", "probe", "classic", "combined"), "gold", "accuracy",
                           "macro_f1", ("Accuracy", "Macro-F1")),
    "generation": Kind(("rag", "nearest"), "reference", "exact_match", "token_f1",
                       ("Exact match", "Token F1")),
}  # fmt: skip


@dataclass(frozen=True)
class System:
    key: str
    system: str
    score: float
    score_ci95: list[float] | None
    second: float | None
    second_ci95: list[float] | None
    ms_per_item: float | None
    latency_ms: float | None
    usd_per_1000: float | None


@dataclass(frozen=True)
class Comparison:
    """Everything the Compare page and the memo show; `to_dict()` is plain JSON."""

    task: str
    metric_labels: list[str]
    split_id: str | None
    n_paired: int
    systems: list[System]
    tests: list[dict[str, Any]]
    trial: dict[str, Any]
    gate_override: bool
    run_id: str | None
    best_baseline: str  # key of the best cheap baseline (the advisor's measured "classifier")
    measured_accuracy: dict[str, float]
    report: dict[str, Any]  # advisor report with the measured accuracy
    assumed_report: dict[str, Any] = field(repr=False, default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)  # advisor.evidence, per option

    @property
    def conclusion(self) -> str:
        return conclusion(self)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["conclusion"] = self.conclusion
        return d


def read_predictions(path: str | Path, gold: str, column: str) -> dict[str, tuple[str, str]]:
    """{id: (gold, prediction)} from a predictions.csv; ValueError naming a missing column."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"id", gold, column} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{Path(path).name}: no column {sorted(missing)[0]!r}")
        return {row["id"]: (row[gold], row[column]) for row in reader}


def _columns(path: str | Path) -> set[str]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return set(next(csv.reader(fh), []))


def joined_correctness(
    kind: Kind, keys: tuple[str, ...], baseline_csv: str | Path, run_csv: str | Path
) -> tuple[list[str], dict[str, list[bool]]]:
    """Item ids scored by all, and per system whether each was right (same order)."""
    base = {k: read_predictions(baseline_csv, kind.gold, k) for k in keys}
    ft = read_predictions(run_csv, "gold", "pred")
    first = base[keys[0]]
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


def paired_tests(keys: tuple[str, ...], correct: Mapping[str, list[bool]]) -> list[dict]:
    """McNemar of the fine-tune against each baseline (a = fine-tune, b = baseline)."""
    out = []
    for other in keys:
        test = mcnemar(correct["fine_tune"], correct[other])
        winner = "fine_tune" if test["a_only"] > test["b_only"] else other
        significant = test["p_value"] < ALPHA
        out.append({"a": "fine_tune", "b": other, **test, "significant": significant,
                    "better": winner if significant else None})  # fmt: skip
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
    """Milliseconds per prediction when scoring a batch: 1000 / items_per_s of the baseline's
    serving-speed measurement, or the trainer's eval_s over the held-out size."""
    if metrics.get("items_per_s"):
        return 1000.0 / float(metrics["items_per_s"])
    if metrics.get("eval_s") and metrics.get("n_test"):
        return 1000.0 * float(metrics["eval_s"]) / int(metrics["n_test"])
    return None


def _system(kind: Kind, key: str, m: Mapping, timing: Mapping, price: float | None) -> System:
    timing = m if m.get("items_per_s") else timing  # each baseline's own speed where measured
    ms = _ms_per_item(timing)
    return System(key, NAMES[key], m[kind.metric], m.get(f"{kind.metric}_ci95"),
                  m.get(kind.second), m.get(f"{kind.second}_ci95"), ms,
                  timing.get("latency_ms_per_item"), usd_per_1000(ms, price))  # fmt: skip


KNN_PROXY = (
    "proxy: kNN retrieval on your labels stands in for an LLM RAG (it shows what retrieval "
    "finds, not what an LLM makes of it)"
)


def measured_by(baseline: Mapping[str, Any], best: str, task: str = "classification") -> dict:
    """What measured each of the advisor's figures: for classification the best cheap baseline
    (the baseline's own words when it chose that method) is the small classifier itself, and
    kNN stands in for RAG as a proxy; for generation the few-shot RAG baseline is a proxy."""
    if task == "generation":
        name = NAMES.get(best, best)
        return {"rag": f"proxy: the {name} baseline stands in for an LLM RAG (a lower bound)"}
    own = baseline.get("best")
    name = NAMES.get(best, best)
    if isinstance(own, Mapping) and own.get("method") == best and isinstance(own.get("name"), str):
        name = own["name"]
    return {"classifier": f"best cheap baseline: {name}", "rag": KNN_PROXY}


def baseline_measured(baseline: Mapping[str, Any], best: str, task: str) -> dict[str, float]:
    """The advisor's measured figures from the baseline: classification -> the classifier (the
    best cheap baseline) and RAG (kNN, a proxy); generation -> RAG (the few-shot baseline)."""
    metric = KINDS[task].metric
    if task == "generation":
        return {"rag": float(baseline[best][metric])}
    out = {"classifier": float(baseline[best][metric])}
    knn = baseline.get("knn")
    if isinstance(knn, Mapping) and isinstance(knn.get(metric), int | float):
        out["rag"] = float(knn[metric])
    return out


def learning_gain(baseline: Mapping[str, Any]) -> float | None:
    """The baseline's measured accuracy gain per doubling of the labels (its learning curve),
    when it has one; a negative slope (more labels did not help) counts as none."""
    curve = baseline.get("learning_curve")
    g = curve.get("gain_per_doubling") if isinstance(curve, Mapping) else None
    if not isinstance(g, int | float) or isinstance(g, bool) or not math.isfinite(g):
        return None
    return min(max(float(g), 0.0), 1.0)


def best_baseline(baseline: Mapping[str, Any], keys: tuple[str, ...], metric: str) -> str:
    """The baseline's own `best` when it names one we have, else the best score."""
    best = baseline.get("best")
    if isinstance(best, Mapping) and best.get("method") in keys:
        return str(best["method"])
    return max(keys, key=lambda k: baseline[k][metric])


def _trial(final: Mapping[str, Any], price: float | None, plan: Mapping[str, Any]) -> dict:
    predicted, actual = final.get("predicted_train_s"), final.get("train_s")

    def cost(seconds: float | None) -> float | None:
        return None if seconds is None or price is None else seconds / 3600 * price

    return {
        "device": final.get("device", "cpu"),
        "base_model": final.get("base_model"),
        "predicted_train_s": predicted,
        "train_s": actual,
        "predicted_usd": cost(predicted),
        "actual_usd": cost(actual),
        "ratio": round(actual / predicted, 3) if predicted and actual else None,
        "plan": plan.get("label"),
        "stand_in": plan.get("stand_in"),
        "note": plan.get("trial_note"),
    }


def build(
    baseline: Mapping[str, Any],
    baseline_csv: str | Path,
    final: Mapping[str, Any],
    run_csv: str | Path,
    run_config: Mapping[str, Any],
    answers: Answers,
    assumptions: Assumptions,
) -> Comparison:
    """Join both pipelines' predictions on the saved split and recompute the verdict."""
    task = baseline.get("task", "classification")
    kind = KINDS[task]
    cols = _columns(baseline_csv)
    keys = tuple(k for k in kind.baselines if k in baseline and k in cols)
    if not keys:
        raise ValueError(f"baseline results hold none of {', '.join(kind.baselines)}")
    base_price = device_price(assumptions, answers, baseline.get("device"))
    ft_price = device_price(assumptions, answers, final.get("device"))
    systems = [_system(kind, k, baseline[k], baseline, base_price) for k in keys]
    systems.append(_system(kind, "fine_tune", final, final, ft_price))
    ids, correct = joined_correctness(kind, keys, baseline_csv, run_csv)
    best = best_baseline(baseline, keys, kind.metric)
    measured = {**baseline_measured(baseline, best, task), "fine_tune": float(final[kind.metric])}
    by = measured_by(baseline, best, task)
    gain = learning_gain(baseline)
    blocks = {**{k: baseline[k] for k in keys}, "fine_tune": final}
    ev = holding(option_evidence(option_systems(task, best, keys), blocks, kind.metric, correct),
                 measured)  # fmt: skip
    report = estimate(answers, assumptions, measured, by, gain, ev).to_dict()
    return Comparison(
        task=task,
        metric_labels=list(kind.labels),
        split_id=baseline.get("split_id"),
        n_paired=len(ids),
        systems=systems,
        tests=paired_tests(keys, correct) if ids else [],
        trial=_trial(final, ft_price, report["plan"]),
        gate_override=bool(run_config.get("gate_override")),
        run_id=final.get("run_id") or run_config.get("run_id"),
        best_baseline=best,
        measured_accuracy=measured,
        report=report,
        assumed_report=estimate(answers, assumptions, gain_per_doubling=gain).to_dict(),
        warnings=_warnings(baseline, final, len(ids)),
        evidence=ev.to_dict(),
    )


def _warnings(baseline: Mapping[str, Any], final: Mapping[str, Any], n_ids: int) -> list[str]:
    """Where the two pipelines did not score the same items."""
    out = []
    if final.get("split_id") and final["split_id"] != baseline.get("split_id"):
        out.append(
            f"the run used split {final['split_id']} but the baseline split "
            f"{baseline.get('split_id')}: the scores are not on the same items"
        )
    if n_ids != baseline.get("n_test", n_ids):
        out.append(f"only {n_ids} of {baseline.get('n_test')} held-out items were scored by both")
    return out


def _ci_text(v: float | None, ci: list[float] | None) -> str:
    if v is None:
        return "—"
    return f"{v:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _num(v: float | None, fmt: str) -> str:
    return "—" if v is None else format(v, fmt)


def system_table(comp: Comparison | Mapping[str, Any]) -> list[dict[str, str]]:
    """The systems as display rows (the page and the memo show the same table)."""
    c = comp.to_dict() if isinstance(comp, Comparison) else comp
    first, second = c["metric_labels"]
    return [
        {
            "System": s["system"],
            f"{first} [95% CI]": _ci_text(s["score"], s["score_ci95"]),
            f"{second} [95% CI]": _ci_text(s["second"], s["second_ci95"]),
            "ms / item (batch)": _num(s["ms_per_item"], ".2f"),
            "Latency ms (single)": _num(s["latency_ms"], ".1f"),
            "USD / 1,000": "—" if s["usd_per_1000"] is None else f"{s['usd_per_1000']:.6f}",
        }
        for s in c["systems"]
    ]


def paired_table(comp: Comparison | Mapping[str, Any]) -> list[dict[str, str]]:
    """McNemar results as display rows."""
    c = comp.to_dict() if isinstance(comp, Comparison) else comp
    return [
        {
            "Comparison": f"{NAMES[t['a']]} vs {NAMES[t['b']]}",
            "Only the fine-tune right": str(t["a_only"]),
            "Only the baseline right": str(t["b_only"]),
            "p": f"{t['p_value']:.3g}",
            "Test": t["method"],
            "Significant (p < 0.05)": "yes" if t["significant"] else "no",
        }
        for t in c["tests"]
    ]


def conclusion(comp: Comparison) -> str:
    """What the measurement shows, then the one verdict it leads to (never a second one)."""
    best = next(s for s in comp.systems if s.key == comp.best_baseline)
    ft = comp.systems[-1]
    test = next((t for t in comp.tests if t["b"] == best.key), None)
    gain = (ft.score - best.score) * 100
    p = f"McNemar p = {test['p_value']:.3g}" if test else "no paired test"
    if test and test["better"] == "fine_tune":
        head = f"The trial fine-tune is significantly more accurate than the {best.system}"
    elif test and test["better"] == best.key:
        head = f"The {best.system} is significantly more accurate than the trial fine-tune"
    else:
        head = f"No significant difference between the trial fine-tune and the {best.system}"
    rec = IN_TEXT[comp.report["recommendation"]]
    first = comp.systems[0]
    aside = (
        ""
        if first.key == best.key
        else (f"; it is the best cheap baseline, the {first.system} scores {first.score:.3f}")
    )
    return f"{head} ({gain:+.1f} points, {p}{aside}). With these accuracies the verdict is {rec}."
