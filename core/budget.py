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
"""

from __future__ import annotations

import os
from dataclasses import dataclass

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
