"""The advisor: should a business fine-tune a model, use RAG, or stay with prompting?

Pure Python (stdlib only; imports neither streamlit nor torch, numpy nor pandas).

    from advisor import Answers, estimate
    report = estimate(Answers(task_type="classification", monthly_volume=20000, ...),
                      measured_accuracy={"classifier": 0.87})
    report.recommendation, report.measure_first, report.to_dict(), report.summary()

Options: human (today's process), prompting, rag, classifier (the small model the baseline trained
on your labels), fine_tune. Modules: answers (the questionnaire), assumptions/figures (every
figure with its source), plan (the base model chosen once), accuracy (assumed / stated / measured
accuracy), compute/costs (a first fine-tuning project), serving and running (each option's set-up
and monthly cost), breakeven (cumulative costs, first-year spend, swap accuracy), rules (the
article's rules as constraints and reasons), decision (the verdict, measure first), evidence
and noise (intervals and paired tests behind measured figures: a lead within noise keeps the
cheaper set-up), next_steps (pricing a measurement, labelling; the trial's length comes from
`core.schedule`, the trainer's own rule), report, references, text (words for a budget owner),
memo/svg (the decision memo), jsonio (strict JSON input), cli.
The comparison of measured results lives in the `comparison` package (it needs numpy).

Command line: `python -m advisor --help`; see docs/advice.md for the decision model.
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
