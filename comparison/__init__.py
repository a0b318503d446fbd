"""The comparison on one held-out split: the cheap baselines (kNN retrieval, linear probe, TF-IDF
model; for generation RAG few-shot and nearest answer) against the trial fine-tune, with 95%
intervals, McNemar's paired test, cost per 1,000 predictions, the trial's predicted against
actual cost, and the advisor's verdict recomputed from the measured accuracy: the best cheap
baseline measures the `classifier` option itself, kNN stands in for `rag` as a proxy (generation:
the RAG baseline is RAG's proxy), the trial measures `fine_tune`; the baseline's learning curve
prices more labels. Each figure goes with its evidence (comparison/evidence.py: its 95% interval,
and McNemar's paired test of every two options scored on the same rows), so a trial whose lead is
within noise does not flip the verdict to a costlier set-up; `project_report` gives every page the
same verdict from the project's files.

Pure Python apart from core.metrics (numpy/scipy); no streamlit. The decision memo's text lives
in advisor/memo.py.

    from comparison import build, load_project
    comp = build(baseline, baseline_csv, final, run_csv, run_config, answers, assumptions)
    comp.conclusion, comp.report["recommendation"], comp.to_dict()

Command line: `python -m comparison PROJECT_DIR [--run RUN_ID] [--json] [--memo memo.html]`.
"""

from __future__ import annotations

from comparison.build import NAMES, Comparison, build, paired_table, system_table
from comparison.project import load_project, measured_accuracy, save_comparison

__all__ = ["NAMES", "Comparison", "build", "load_project", "measured_accuracy", "paired_table",
           "save_comparison", "system_table"]  # fmt: skip
