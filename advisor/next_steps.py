"""What a measurement costs, and what labelling more examples is worth.

measurement  the cheap baselines on your labelled data here (seconds, free) and a short trial
             fine-tune of the trial model on this machine (minutes, its compute), priced
             from the assumptions and the training estimate
labelling    from the gain per doubling of the labelled examples (measured by the baseline's
             learning curve, else assumed): the cost of labelling as many again against the
             rework the extra accuracy saves each month
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from advisor.answers import Answers
from advisor.assumptions import Assumptions
from advisor.breakeven import Economics
from advisor.compute import training_estimate
from core.schedule import trial_epochs

TRAINED = ("classifier", "fine_tune")  # options that learn from the labels


def measurement(answers: Answers, a: Assumptions, econ: Economics) -> dict[str, Any]:
    n = max(answers.labeled_examples, 1)
    base_s = a.range("measure.baseline_seconds_per_1k_examples").scale(n / 1000)
    plan = econ.plan
    epochs = trial_epochs(n)  # the run the trainer makes with its defaults: all rows
    trial_answers = replace(answers, base_model=plan.trial_model, base_model_params_b=0.0,
                            gpu="cpu", epochs=epochs, method="lora")  # fmt: skip
    est = training_estimate(trial_answers, a, gpu="cpu", n_examples=n)
    minutes = est.train_hours.scale(60)
    usd = est.train_hours * a.gpu("cpu").usd_per_hour
    text = (
        f"Measure first: the cheap baselines on your {n:,} labelled examples take about "
        f"{_dur(base_s.expected)} here, at no cost; a trial fine-tune of {plan.trial_model} on "
        f"all {n:,} ({epochs} passes, as the trainer runs it) takes about "
        f"{_dur(minutes.expected * 60)} on this machine (${usd.expected:,.2f} of compute)."
    )
    return {
        "baseline": {"seconds": base_s.to_dict(1), "usd": 0.0},
        "trial": {
            "model": plan.trial_model,
            "examples": n,
            "epochs": epochs,
            "minutes": minutes.to_dict(1),
            "usd": usd.to_dict(4),
        },  # fmt: skip
        "message": text,
    }


def labelling(
    answers: Answers,
    a: Assumptions,
    econ: Economics,
    option: str,
    gain_per_doubling: float | None = None,
) -> dict[str, Any] | None:
    """Labelling `labeled_examples` more (one doubling) for a trained option, against the
    rework it saves; None for an option that does not learn from labels."""
    if option not in TRAINED:
        return None
    measured = gain_per_doubling is not None
    gain = gain_per_doubling if measured else a.value("learning.gain_per_doubling")
    gain = max(0.0, min(float(gain), 1.0 - econ.acc(option).expected))
    n = max(answers.labeled_examples, int(a.value("rules.min_labeled_examples")))
    cost = (a.range("data_prep.minutes_per_example") * a.range("data_prep.hourly_rate_usd")).scale(
        n / 60
    )
    per_item = econ.rework_factor * answers.human_minutes_per_item * answers.human_hourly_cost_usd
    saving = gain * answers.monthly_volume * per_item / 60  # USD a month
    payback = cost.expected / saving if saving > 0 else None
    source = "measured on the baseline's learning curve" if measured else "assumed"
    if payback is None:
        verdict = "it saves nothing: more labels do not pay"
    elif payback <= econ.horizon_months:
        verdict = f"it pays back in {payback:.1f} months"
    else:
        verdict = f"it would take {payback:.0f} months to pay back: not worth it"
    text = (
        f"Labelling {n:,} more examples (about ${cost.expected:,.0f}) adds about "
        f"{gain * 100:.1f} points of accuracy ({source}: {gain * 100:.1f} per doubling) and saves "
        f"about ${saving:,.0f} a month of rework: {verdict}."
    )
    return {"option": option, "examples": n, "cost_usd": cost.to_dict(0),
            "gain_per_doubling": round(gain, 4), "gain_source": "measured" if measured else
            "assumed", "monthly_saving_usd": round(saving, 2),
            "payback_months": None if payback is None else round(payback, 2),
            "message": text}  # fmt: skip


def _dur(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:,.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:,.0f} min"
    return f"{seconds / 3600:,.1f} h"
