"""How much memory the RAG baseline needs, decided before it starts.

The full baseline holds every text, its tokens and several copies of its 384-float embedding
(the encoder output, the cache lookup, the FAISS index, the CV folds, the probe's float64 copy)
plus a TF-IDF matrix: about 13 kB per row on top of ~1.2 kB per row for the loaded table, so a
1.5M-row file needs ~20 GB. Above the limit the app runs the baseline on a stratified sample
(the quick path of `rag_baseline`) and says so; the limit is $ADVISOR_BASELINE_MEMORY_GB, else
half the machine's memory, at most 8 GB.

    plan = baseline_plan(n_train=1_200_000, n_test=300_000, mean_words=14)
    plan.sample            # True: too big for the full baseline here
    plan.message           # one line for the user

The label count is bounded too (`check_labels`, called before any embedding by the baseline and
before the trainer starts): the linear models hold classes x TF-IDF features weights (liblinear
indexes them with a C int: past 2^31 cells it aborts the process with std::bad_array_new_length),
and every method scores held-out rows x classes. 50,000 labels of 4 rows each fail both. The
trainer's data (`trainer_data_gb`) is planned against the same limit.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_LIMIT = "ADVISOR_BASELINE_MEMORY_GB"
FIXED_GB = 1.2  # Python, torch, the embedder, scikit-learn and FAISS loaded
PER_ROW_BYTES = 13_000  # embeddings and their copies, tokens, TF-IDF (see the docstring)
TABLE_BYTES_PER_CHAR = 6  # the loaded table, stripped copies and the split record
TABLE_BYTES_PER_ROW = 400
SAMPLE_TRAIN = 20_000  # training rows of the sampled baseline (stratified)
SAMPLE_TEST = 5_000  # held-out rows it scores
CHARS_PER_WORD = 6.0


def memory_limit_gb() -> float:
    """$ADVISOR_BASELINE_MEMORY_GB, else half of this machine's memory, at most 8 GB."""
    value = os.environ.get(ENV_LIMIT)
    if value:
        try:
            limit = float(value)
        except ValueError:
            raise ValueError(f"{ENV_LIMIT}: {value!r} is not a number of GB") from None
        if limit <= 0:
            raise ValueError(f"{ENV_LIMIT}: must be above 0 (got {value})")
        return limit
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    return min(8.0, total / 2)


def table_gb(n_rows: int, mean_chars: float) -> float:
    return n_rows * (TABLE_BYTES_PER_ROW + TABLE_BYTES_PER_CHAR * mean_chars) / 1e9


def baseline_gb(n_rows: int, mean_chars: float, n_embedded: int | None = None) -> float:
    """Peak memory of the baseline that loads `n_rows` and embeds `n_embedded` of them."""
    embedded = n_rows if n_embedded is None else n_embedded
    return FIXED_GB + table_gb(n_rows, mean_chars) + embedded * PER_ROW_BYTES / 1e9


@dataclass(frozen=True)
class BaselinePlan:
    sample: bool  # run on a stratified sample instead of every row
    train_rows: int  # rows embedded for training
    test_rows: int  # held-out rows scored
    estimate_gb: float  # the full baseline's estimated peak
    planned_gb: float  # the peak of what will run
    limit_gb: float
    message: str  # '' when the full baseline fits


def baseline_plan(
    n_train: int, n_test: int, mean_words: float, limit_gb: float | None = None
) -> BaselinePlan:
    """The full baseline when it fits under the limit, else a stratified sample; raises
    ValueError when even the sample would not fit (the table alone is too big)."""
    limit = memory_limit_gb() if limit_gb is None else limit_gb
    chars = max(mean_words, 1.0) * CHARS_PER_WORD
    rows = n_train + n_test
    full = baseline_gb(rows, chars)
    if full <= limit:
        return BaselinePlan(False, n_train, n_test, full, full, limit, "")
    train, test = min(n_train, SAMPLE_TRAIN), min(n_test, SAMPLE_TEST)
    planned = baseline_gb(rows, chars, train + test)
    if planned > limit:
        raise ValueError(
            f"data: {rows:,} rows need about {planned:.1f} GB even for a sampled baseline, over "
            f"the {limit:.1f} GB limit ({ENV_LIMIT}); sample the file down before uploading."
        )
    message = (
        f"The full baseline on {rows:,} rows would need about {full:.1f} GB, over this "
        f"machine's {limit:.1f} GB limit ({ENV_LIMIT}); it runs on a stratified sample of "
        f"{train:,} training and {test:,} held-out rows instead (about {planned:.1f} GB)."
    )
    return BaselinePlan(True, train, test, full, planned, limit, message)


# Label counts. TF-IDF word 1-2-gram features grow with the training tokens as Heaps' law,
# K x tokens^BETA; K=25, BETA=0.6 overestimates a little (banking77: 23,608 features from 119,530
# tokens, the formula says 27,600).
FEATURES_K, FEATURES_BETA = 25.0, 0.6
LINEAR_COPIES = 2  # liblinear's own weights and scikit-learn's coef_, float64
SCORE_COPIES = 3  # held-out rows x classes float64: decision values, probabilities, kNN votes
LIBLINEAR_MAX_CELLS = 2**31 - 1  # liblinear sizes its weights with a C int


def mean_words(texts: list[str]) -> float:
    return sum(len(t.split()) for t in texts) / max(len(texts), 1)


def check_dataset_labels(ds: Any, tfidf: bool = True) -> None:
    """`check_labels` for a classification `core.split.Dataset` (a no-op for generation)."""
    if ds.task == "classification":
        n_classes = len(set(ds.train_labels))
        words = mean_words(ds.train_texts)
        check_labels(n_classes, len(ds.train_texts), len(ds.test_texts), words, tfidf)


def tfidf_features(n_train: int, mean_words: float) -> int:
    tokens = max(n_train * max(mean_words, 1.0), 1.0)
    return int(min(2 * tokens, FEATURES_K * tokens**FEATURES_BETA))


def labels_gb(n_classes: int, n_train: int, n_test: int, mean_words: float, tfidf: bool) -> float:
    """Memory that grows with the class count: linear weights (TF-IDF models) and scores."""
    cells = n_classes * n_test * SCORE_COPIES
    if tfidf:
        cells += n_classes * tfidf_features(n_train, mean_words) * LINEAR_COPIES
    return cells * 8 / 1e9


def check_labels(
    n_classes: int,
    n_train: int,
    n_test: int,
    mean_words: float,
    tfidf: bool = True,
    limit_gb: float | None = None,
) -> None:
    """Raise ValueError (one line) when the class count cannot be fitted or scored here:
    more classes than held-out rows, a TF-IDF weight matrix past liblinear's int limit, or
    class-sized arrays over the memory limit. `tfidf`: the caller fits the TF-IDF models."""
    fix = "merge rare classes, or check that the label column holds classes"
    if n_classes > n_test:
        raise ValueError(
            f"labels: {n_classes:,} classes but {n_test:,} held-out rows: the held-out split "
            f"cannot score every class (at least one row each); {fix}, or supply a larger test "
            "file."
        )
    features = tfidf_features(n_train, mean_words)
    if tfidf and n_classes * features > LIBLINEAR_MAX_CELLS:
        raise ValueError(
            f"labels: {n_classes:,} classes x about {features:,} TF-IDF features is over the "
            f"{LIBLINEAR_MAX_CELLS:,} weights the linear SVM (liblinear) can hold; {fix}."
        )
    limit = memory_limit_gb() if limit_gb is None else limit_gb
    need = labels_gb(n_classes, n_train, n_test, mean_words, tfidf)
    if need > limit:
        raise ValueError(
            f"labels: {n_classes:,} classes need about {need:,.1f} GB for their weights and "
            f"scores over {n_test:,} held-out rows, over the {limit:.1f} GB limit "
            f"({ENV_LIMIT}); {fix}."
        )


# The trainer holds the table, the token ids and (classification) each training row's frozen
# embedding for the warm start, float32 and a float64 copy in the probe: ~4.5 kB per row at 384
# dimensions on top of the table; the base model and torch are in FIXED_GB + MODEL_GB.
TRAINER_PER_ROW_BYTES = 4_500
TRAINER_MODEL_GB = 1.0  # the shipped models, their optimizer state and activations, rounded up


def trainer_data_gb(n_rows: int, mean_words: float) -> float:
    chars = max(mean_words, 1.0) * CHARS_PER_WORD
    return (
        FIXED_GB + TRAINER_MODEL_GB + table_gb(n_rows, chars) + n_rows * TRAINER_PER_ROW_BYTES / 1e9
    )


def check_trainer_data(n_rows: int, mean_words: float, limit_gb: float | None = None) -> None:
    """Raise ValueError (one line) when the trainer's data would not fit under the limit."""
    limit = memory_limit_gb() if limit_gb is None else limit_gb
    need = trainer_data_gb(n_rows, mean_words)
    if need > limit:
        raise ValueError(
            f"data: the trainer needs about {need:.1f} GB for {n_rows:,} rows, over this "
            f"machine's {limit:.1f} GB limit ({ENV_LIMIT}); sample the file down (a few thousand "
            "labelled rows are plenty for a trial) or raise the limit."
        )


Progress = Callable[[float, str], None]


def run_sampled(
    evaluate: Callable[..., dict[str, Any]],
    config: Any,
    plan: BaselinePlan,
    progress: Progress,
    **models: Any,
) -> dict[str, Any]:
    """Run `evaluate` (rag_baseline's) on the plan's stratified sample and publish it as
    results.json and predictions.csv of `config.out_dir` (written atomically, after the run
    succeeded). The app and the CLI both call this."""
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
