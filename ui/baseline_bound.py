"""The app's baseline within a memory bound (issue 11 item 4): before any row is embedded,
`core.budget.baseline_plan` decides whether the full baseline fits under the limit; when it does
not, the baseline runs on a stratified sample (the quick path of `rag_baseline.evaluate`) and the
sampled result becomes the project's baseline, with the reason first among its warnings. No
streamlit here: ui.baseline calls `run_bounded` inside its background job.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.budget import BaselinePlan, baseline_plan

Progress = Callable[[float, str], None]


def plan_for(n_train: int, n_test: int, mean_words: float) -> BaselinePlan:
    """The plan for a validated split (sizes from the data choice)."""
    return baseline_plan(n_train, n_test, mean_words)


def run_sampled(
    evaluate: Callable[..., dict[str, Any]],
    config: Any,
    plan: BaselinePlan,
    progress: Progress,
    **models: Any,
) -> dict[str, Any]:
    """Run `evaluate` on the plan's stratified sample and publish it as results.json and
    predictions.csv of `config.out_dir` (written atomically, after the run succeeded)."""
    sampled = dataclasses.replace(
        config, quick=True, quick_train=plan.train_rows, quick_test=plan.test_rows
    )
    progress(0.02, f"sampling: {plan.message}")
    result = evaluate(sampled, progress, **models)
    result.setdefault("warnings", []).insert(0, plan.message)
    result["memory_plan"] = dataclasses.asdict(plan)
    if config.out_dir:
        publish(Path(config.out_dir), result)
    return result


def publish(out: Path, result: dict[str, Any]) -> None:
    """quick-predictions.csv -> predictions.csv, and the result (with its warning) as
    results.json; the json last, so a reader never sees results without predictions."""
    quick_preds = out / "quick-predictions.csv"
    if quick_preds.exists():
        tmp = out / ".predictions.csv.tmp"
        shutil.copyfile(quick_preds, tmp)
        tmp.replace(out / "predictions.csv")
    tmp = out / ".results.json.tmp"
    tmp.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str))
    tmp.replace(out / "results.json")
