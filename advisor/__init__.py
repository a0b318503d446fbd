"""The advisor: should a business fine-tune a model, use RAG, or stay with prompting?

Pure Python (stdlib only; imports neither streamlit nor torch).

    from advisor import Answers, estimate
    report = estimate(Answers(task_type="classification", monthly_volume=20000, ...))
    report.recommendation, report.to_dict()

Command line: `python -m advisor --help`.
"""

from __future__ import annotations

from advisor.answers import Answers
from advisor.assumptions import Assumptions, load_assumptions
from advisor.breakeven import sensitivity
from advisor.compute import TrainingEstimate, training_estimate
from advisor.ranges import Range
from advisor.report import Report, estimate

__all__ = [
    "Answers",
    "Assumptions",
    "Range",
    "Report",
    "TrainingEstimate",
    "estimate",
    "load_assumptions",
    "sensitivity",
    "training_estimate",
]
