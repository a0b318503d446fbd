"""The app's baseline within a memory bound (issue 11 item 4): before any row is embedded,
`core.budget.baseline_plan` decides whether the full baseline fits under the limit; when it does
not, the baseline runs on a stratified sample (the quick path of `rag_baseline.evaluate`) and the
sampled result becomes the project's baseline, with the reason first among its warnings. No
streamlit here: ui.baseline calls `run_bounded` inside its background job.
"""

from __future__ import annotations

from core.budget import BaselinePlan, baseline_plan, publish, run_sampled

# The sampled run lives in core.budget: the rag_baseline CLI runs it too.
__all__ = ["plan_for", "publish", "run_sampled"]


def plan_for(n_train: int, n_test: int, mean_words: float) -> BaselinePlan:
    """The plan for a validated split (sizes from the data choice)."""
    return baseline_plan(n_train, n_test, mean_words)
