"""Learning curve: held-out score after training on 25%, 50% (and, from the main run, 100%) of
the training split, same settings and steps per epoch scaled with the data. A curve still
rising at 100% says labelling more examples would pay."""

from __future__ import annotations

import logging
import random
from typing import Any

from trainer.distributed import Dist
from trainer.finalize import predict_test, score
from trainer.loop import Hooks, LoopState, Stopped
from trainer.session import Session, build_session

log = logging.getLogger("trainer")
FRACTIONS = (0.25, 0.5)


def subset_rows(labels: list[str], fraction: float, seed: int, stratify: bool) -> list[int]:
    """A seeded subset of about `fraction` of the rows; per class (at least one each) if
    `stratify`."""
    rng = random.Random(seed)
    if not stratify:
        rows = list(range(len(labels)))
        rng.shuffle(rows)
        return sorted(rows[: max(1, round(fraction * len(rows)))])
    by_class: dict[str, list[int]] = {}
    for i, y in enumerate(labels):
        by_class.setdefault(y, []).append(i)
    picked: list[int] = []
    for rows in by_class.values():
        rng.shuffle(rows)
        picked += rows[: max(1, round(fraction * len(rows)))]
    return sorted(picked)


def _headline(task: str, metrics: dict[str, Any]) -> dict[str, Any]:
    keys = ("accuracy", "macro_f1") if task == "classification" else ("exact_match", "token_f1")
    return {k: metrics[k] for k in keys}


def learning_curve(ctx, main: Session, main_metrics: dict[str, Any]) -> list[dict[str, Any]]:
    from trainer.probe import warm_start_head

    data, stratify = main.data, main.task_name == "classification"
    points = []
    for frac in FRACTIONS:
        if ctx.stop():
            raise Stopped()
        rows = subset_rows(data.train_labels, frac, ctx.cfg.seed, stratify)
        cfg = ctx.cfg
        # rank 0 alone, without DDP: the other ranks have finished
        s = build_session(cfg, data, ctx.device, ctx.precision, Dist(), train_rows=rows)
        if stratify and cfg.warm_start:
            warm_start_head(s.model, s.task, len(s.labels), ctx.device, s.amp, cfg.seed)
        state = s.loop(Hooks(should_stop=ctx.stop)).run(LoopState())
        point = {"fraction": frac, "n_train": len(rows), "train_s": round(state.train_s, 2)}
        point.update(_headline(s.task_name, score(s, predict_test(s))))
        log.info("learning curve: %s", point)
        ctx.run.append_metrics({"learning_curve": point})
        points.append(point)
    full = {"fraction": 1.0, "n_train": len(data.train_texts)}
    full.update(_headline(main.task_name, main_metrics))
    return points + [full]
