"""The trial's length: one rule for the trainer's plan and the advisor's price of the trial."""

from __future__ import annotations

import pytest

from core.schedule import BATCH_SIZE, auto_epochs, trial_epochs


@pytest.mark.parametrize("n", [100, 1540, 5000, 10003, 200_000])
def test_the_advisor_prices_the_run_the_trainer_plans(n):
    from advisor import estimate
    from advisor.answers import Answers
    from trainer.config import TrainConfig
    from trainer.loop import make_plan

    cfg = TrainConfig(train="unused.csv")
    assert cfg.batch_size == BATCH_SIZE
    plan = make_plan(cfg, [12] * n)
    assert plan.epochs == trial_epochs(n)
    answers = Answers(task_type="classification", labeled_examples=n, monthly_volume=20000)
    trial = estimate(answers).to_dict()["measurement"]["trial"]
    assert trial["examples"] == n and trial["epochs"] == plan.epochs  # was 2,000 rows, 1 pass


def test_small_sets_get_more_passes_within_bounds():
    assert auto_epochs(1) == 10 and auto_epochs(25) == 10 and auto_epochs(50) == 5
    assert auto_epochs(10_000) == 2
