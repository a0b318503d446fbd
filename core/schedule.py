"""How long a trial fine-tune trains: one rule for the trainer (`trainer.loop.make_plan`,
`trainer.preflight`) and for the advisor's price of the trial (`advisor.next_steps`), so the
price quoted before a trial is the run the trainer then makes.

    auto_epochs(steps_per_epoch=48)   # 6.0: about AUTO_STEPS steps, 2 to 10 passes
    trial_epochs(1540)                # 6: 1,540 examples in batches of BATCH_SIZE
"""

from __future__ import annotations

import math

BATCH_SIZE = 32  # examples per optimizer step: the trainer's default (TrainConfig.batch_size)
# Small data sets need more passes: about AUTO_STEPS optimizer steps, 2 to 10 epochs (measured
# on banking77: 10 epochs at 10 examples per class, 2 on the full set).
AUTO_STEPS, MIN_AUTO_EPOCHS, MAX_AUTO_EPOCHS = 250, 2, 10


def auto_epochs(steps_per_epoch: int) -> float:
    """Passes over the training split when none are set: about AUTO_STEPS optimizer steps."""
    need = math.ceil(AUTO_STEPS / max(steps_per_epoch, 1))
    return float(min(MAX_AUTO_EPOCHS, max(MIN_AUTO_EPOCHS, need)))


def trial_epochs(n_examples: int, batch_size: int = BATCH_SIZE) -> int:
    """Passes a trial with the trainer's defaults makes over `n_examples`."""
    return int(auto_epochs(math.ceil(max(n_examples, 1) / batch_size)))
