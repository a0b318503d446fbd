"""Read a project folder of the app (ui/workspace.py layout) for the comparison and the memo:

<project>/answers.json, assumptions.json, data.json (split_id)
<project>/results/baseline-<split>/results.json + predictions.csv
<project>/runs/<run_id>/metrics.json + predictions.csv + config.json
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor import Answers, Assumptions, load_assumptions
from advisor.jsonio import read
from comparison.build import KINDS, best_baseline, learning_gain, measured_by
from comparison.evidence import baseline_evidence, holding, option_systems, saved_evidence


@dataclass(frozen=True)
class ProjectFiles:
    name: str
    answers: Answers
    assumptions: Assumptions
    baseline: dict[str, Any] | None
    baseline_csv: Path | None
    run_id: str | None
    final: dict[str, Any] | None
    run_csv: Path | None
    config: dict[str, Any]


def save_comparison(comp: dict[str, Any], project_root: str | Path) -> Path:
    """Write `<project>/comparison.json` atomically (read by `python -m advisor memo --project`)."""
    path = Path(project_root) / "comparison.json"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(comp, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)
    return path


def _optional(path: Path, what: str) -> Any:
    return read(path, what) if path.exists() else None


def load_project(root: str | Path, run_id: str | None = None) -> ProjectFiles:
    """Answers, assumption overrides, the baseline on the chosen split and a completed run
    (the newest with metrics on that split unless `run_id`). ValueError names the file."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: no such project folder")
    answers = Answers.from_dict(_optional(root / "answers.json", "answers") or {})
    overrides = _optional(root / "assumptions.json", "assumption overrides") or {}
    assumptions = load_assumptions(overrides=overrides)
    data = _optional(root / "data.json", "data choice") or {}
    split = data.get("split_id") if isinstance(data, dict) else None
    base_dir = root / "results" / f"baseline-{split}"
    baseline = _optional(base_dir / "results.json", "baseline results") if split else None
    base_csv = base_dir / "predictions.csv"
    runs = root / "runs"
    chosen, final = None, None
    candidates = [runs / run_id] if run_id else sorted(
        (p for p in runs.glob("*") if (p / "metrics.json").exists()),
        key=lambda p: p.stat().st_mtime, reverse=True)  # fmt: skip
    for path in candidates:
        metrics = _optional(path / "metrics.json", "run metrics")
        if metrics is None:
            raise ValueError(f"{path}: no metrics.json; the run has not completed")
        if not split or metrics.get("split_id", split) == split:
            chosen, final = path, metrics
            break
    config = (_optional(chosen / "config.json", "run config") or {}) if chosen else {}
    return ProjectFiles(
        name=root.name,
        answers=answers,
        assumptions=assumptions,
        baseline=baseline if isinstance(baseline, dict) else None,
        baseline_csv=base_csv if base_csv.exists() else None,
        run_id=chosen.name if chosen else None,
        final=final,
        run_csv=chosen / "predictions.csv" if chosen else None,
        config=config if isinstance(config, dict) else {},
    )


def measured_accuracy(root: str | Path, split_id: str) -> dict[str, float]:
    """What the project measured on its saved split, for the advisor's `measured_accuracy`:
    for classification "classifier" from the baseline's best cheap method (its `best`, else the
    best of its methods) and "rag" from kNN (a proxy); for generation "rag" from the few-shot
    baseline (exact match, a proxy); "fine_tune" from the last saved comparison on the same
    split. Missing or unreadable files give {} (the assumptions stay)."""
    return measured_evidence(root, split_id)[0]


def measured_gain(root: str | Path, split_id: str) -> float | None:
    """The baseline's learning-curve gain per doubling on the saved split, or None."""
    if not split_id:
        return None
    try:
        base = _optional(Path(root) / "results" / f"baseline-{split_id}" / "results.json", "b")
    except ValueError:
        return None
    return learning_gain(base) if isinstance(base, dict) else None


def measured_evidence(root: str | Path, split_id: str) -> tuple[dict[str, float], dict[str, str]]:
    """(`measured_accuracy`, what measured each figure, for the advisor's `measured_by`)."""
    out, by, _ = measured_with_evidence(root, split_id)
    return out, by


def project_report(
    root: str | Path, split_id: str, answers: Answers, assumptions: Assumptions
) -> dict[str, Any]:
    """The advisor's report with everything the project measured on its split (figures, what
    measured them, their intervals and paired tests, the learning curve): the one verdict every
    page, the Compare page's saved comparison and the memo give."""
    from advisor import estimate

    accuracy, by, evidence = measured_with_evidence(root, split_id)
    gain = measured_gain(root, split_id)
    return estimate(answers, assumptions, accuracy, by, gain, evidence).to_dict()


def measured_with_evidence(
    root: str | Path, split_id: str
) -> tuple[dict[str, float], dict[str, str], dict[str, Any]]:
    """`measured_evidence` and the evidence behind the figures (advisor.evidence): the last
    comparison's on this split where its figures still match, else the baseline's intervals."""
    root, out, by = Path(root), {}, {}
    if not split_id:
        return out, by, {}
    try:
        base = _optional(root / "results" / f"baseline-{split_id}" / "results.json", "baseline")
        comp = _optional(root / "comparison.json", "comparison")
    except ValueError:
        return out, by, {}
    systems: dict[str, str] = {}
    evidence: dict[str, Any] = {}
    if isinstance(base, dict):
        task = "generation" if base.get("task") == "generation" else "classification"
        kind = KINDS[task]
        keys = tuple(k for k in kind.baselines if _fraction(_score(base, k, kind.metric)))
        own = base.get("best") if isinstance(base.get("best"), dict) else {}
        method = own.get("method") if isinstance(own.get("method"), str) else None
        if method is None and keys:
            method = best_baseline(base, keys, kind.metric)
        score = own.get("accuracy")  # the baseline's own figure for its best, else the block's
        if own.get("method") != method or not _fraction(score):
            score = _score(base, method, kind.metric) if method else None
        named = measured_by(base, method, task) if method else {}
        if method and _fraction(score):
            out["rag" if task == "generation" else "classifier"] = float(score)
        knn = _score(base, "knn", kind.metric)
        if task == "classification" and _fraction(knn):
            out["rag"] = float(knn)
        by = {k: v for k, v in named.items() if k in out}
        systems = {o: k for o, k in option_systems(task, method, keys).items() if o in out}
        evidence = holding(baseline_evidence(base, systems, kind.metric), out).to_dict()
    if isinstance(comp, dict) and comp.get("split_id") == split_id:
        ft = (comp.get("measured_accuracy") or {}).get("fine_tune")
        if _fraction(ft):
            out["fine_tune"] = float(ft)
    saved = saved_evidence(comp, split_id, out)
    return out, by, saved if saved is not None else evidence


def _score(base: dict, method: str, metric: str) -> Any:
    """`base[method][metric]`, or None where a hand-edited file has no such block."""
    block = base.get(method)
    return block.get(metric) if isinstance(block, dict) else None


def _fraction(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1
