"""Linear-probe warm start of the classification head (LP-FT, Kumar et al. 2022).

Fine-tuning from a random head first distorts the pretrained features to fit the random head;
fitting the head on frozen features first (a logistic regression, seconds on a CPU) and then
fine-tuning starts from the linear probe's accuracy. Measured on banking77 with 10 examples per
class: 0.845 without the warm start, 0.860 with it (the probe alone: 0.854).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from rag_baseline.classify import fit_logreg_lbfgs
from trainer.model import Classifier
from trainer.tasks import ClassificationTask, embed_or_score

PROBE_C = 10.0  # inverse L2 strength as in scikit-learn; 10-30 best on banking77 (10/class, full)
PROBE_MAX_ITER = 200
PROBE_EVALS = 150  # typical loss+gradient evaluations (with line search), for the time estimate


def probe_flops(n: int, dim: int, n_classes: int) -> float:
    """FLOPs of fitting the probe: each evaluation is a forward and backward matmul pass."""
    return PROBE_EVALS * 6.0 * n * dim * n_classes


def fit_probe(features: torch.Tensor, labels: torch.Tensor, n_classes: int, seed: int = 0):
    """Multinomial logistic regression by full-batch L-BFGS: (weight (classes, dim), bias).

    Minimises mean cross-entropy + ||W||^2 / (2 C n), which is scikit-learn's
    LogisticRegression(C) objective scaled by 1/(C n); measured on banking77 it reaches the same
    held-out accuracy in a fraction of the time (0.08 s vs 0.6 s at 770 rows).
    """
    torch.manual_seed(seed)
    weight, bias = fit_logreg_lbfgs(
        features.float().cpu().numpy(),
        labels.long().cpu().numpy(),
        n_classes,
        PROBE_C,
        PROBE_MAX_ITER,
    )
    return torch.from_numpy(weight), torch.from_numpy(bias)


def warm_start_head(
    model: Classifier,
    task: ClassificationTask,
    n_classes: int,
    device: str,
    amp_dtype: torch.dtype | None,
    seed: int = 0,
    should_stop: Callable[[], bool] = lambda: False,
) -> dict:
    """Fit the head on frozen mean-pooled features of the training split; returns timings."""
    t0, c0 = time.perf_counter(), time.process_time()
    model.eval()
    feats = embed_or_score(
        model.features,
        task.ids,
        task.tokenizer.pad_token_id,
        device,
        amp_dtype,
        should_stop=should_stop,
    )
    t1 = time.perf_counter()
    weight, bias = fit_probe(feats, torch.tensor(task.labels), n_classes, seed)
    with torch.no_grad():
        model.head.weight.copy_(weight.to(model.head.weight.device))
        model.head.bias.copy_(bias.to(model.head.bias.device))
    model.train()
    t2 = time.perf_counter()
    return {
        "embed_s": round(t1 - t0, 2),
        "fit_s": round(t2 - t1, 2),
        "total_s": round(t2 - t0, 2),
        "cpu_s": round(time.process_time() - c0, 2),
    }
