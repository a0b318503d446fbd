"""The classic baseline: TF-IDF features + a linear SVM (scikit-learn), no embedder at all.

Word 1-2-grams with sublinear tf (and, on small training sets, character 2-5-grams inside word
boundaries as well) feed `LinearSVC`; the feature set and C are chosen by cross-validation on the
training split only (`cv_classic`, on the folds shared with kNN and the probe), then the model is
refit on the whole training split and scored on the held-out split like the other baselines.

Past `CRAMMER_SINGER_CHARS` training characters the SVM solves one Crammer-Singer multi-class
problem instead of one problem per class (4x faster at 45,000 ticket-length rows, same accuracy).

The texts are tokenised and counted once (`TermCounts`); each CV fold, C and learning-curve subset
only reweights rows of those counts (idf and the `min_df` cut from its own training rows, so the
features equal a `TfidfVectorizer` fitted on those rows), and both Cs share a fold's matrix.

Measured on banking77 (10,003 train / 3,080 test): word 1-2-grams + LinearSVC(C=1) 0.894 in ~1 s;
adding char_wb 2-5-grams 0.91 but ~4x the fit time, so char n-grams are only tried below
`CHAR_BUDGET` training characters, where every fit takes well under a second.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Features = Literal["word", "word+char"]
MultiClass = Literal["ovr", "crammer_singer"]
C_CANDIDATES = (0.3, 1.0)  # LinearSVC C; 0.3-1 measured best on banking77 and ticket queues
CHAR_BUDGET = 400_000  # training characters; above it char n-grams are not tried (fit cost)
# Training characters above which LinearSVC solves one Crammer-Singer problem instead of one
# problem per class. Measured (77 classes, ticket-length texts, C=0.3): one-vs-rest 1.1 / 4.4 /
# 7.9 / 34.7 s at 10k / 20k / 30k / 45k rows (past ~30k the data outgrow the 32 MB cache and
# each of the 77 passes waits on memory), Crammer-Singer 3.3 / 5.9 / 6.4 / 9.0 s at tol 1e-3;
# held-out accuracy 0.9986 vs 0.9984 at 45k; on banking77 (0.5M characters) one-vs-rest is 3x
# faster.
CRAMMER_SINGER_CHARS = 7_500_000
# liblinear's stopping tolerance per formulation. Crammer-Singer at 1e-2 took half the time of
# 1e-3 (45k tickets: 5.3 vs 10.0 s; banking77: 0.98 vs 1.99 s) with the same held-out accuracy
# (0.9986; 0.8958); one-vs-rest gained nothing from it.
SVM_TOL = {"ovr": 1e-3, "crammer_singer": 1e-2}
TOKENS = {
    "word": {"analyzer": "word", "ngram_range": (1, 2)},
    "char": {"analyzer": "char_wb", "ngram_range": (2, 5)},
}
MIN_DF = {"word": 1, "char": 2}  # documents a term needs in the fitting rows to be a feature
BLOCKS: dict[str, tuple[str, ...]] = {"word": ("word",), "word+char": ("word", "char")}


@dataclass(frozen=True)
class Setting:
    """One candidate of the CV search: which features and how much regularisation."""

    features: Features
    C: float
    multi_class: MultiClass = "ovr"  # chosen by size (CRAMMER_SINGER_CHARS), not by CV

    @property
    def name(self) -> str:
        tail = " crammer-singer" if self.multi_class == "crammer_singer" else ""
        return f"{self.features} C={self.C:g}{tail}"


def candidates(train_texts: Sequence[str], scale: float = 1.0) -> list[Setting]:
    """Settings the CV tries: word n-grams always, char n-grams too when the data is small.

    `scale`: the full training split's size over this one's (a quick estimate's sample tries
    what the full run would, so it neither pays for char n-grams the full run skips nor
    predicts a model the full run cannot pick)."""
    chars = scale * sum(len(t) for t in train_texts)
    feature_sets: list[Features] = ["word"]
    if chars <= CHAR_BUDGET:
        feature_sets.append("word+char")
    multi_class: MultiClass = "crammer_singer" if chars > CRAMMER_SINGER_CHARS else "ovr"
    return [Setting(f, c, multi_class) for f in feature_sets for c in C_CANDIDATES]


class TermCounts:
    """Raw n-gram counts of the training texts, one vocabulary per block, counted once."""

    def __init__(self, texts: Sequence[str], features: Sequence[Features] = ("word",)):
        from sklearn.feature_extraction.text import CountVectorizer

        self.blocks = tuple(b for b in ("word", "char") if any(b in BLOCKS[f] for f in features))
        self.vectorizers = {
            b: CountVectorizer(**TOKENS[b], min_df=MIN_DF[b], dtype=np.float32) for b in self.blocks
        }
        texts = list(texts)
        self.train = {b: v.fit_transform(texts).tocsr() for b, v in self.vectorizers.items()}

    def transform(self, texts: Sequence[str], blocks: Sequence[str]) -> dict:
        texts = list(texts)
        return {b: self.vectorizers[b].transform(texts).tocsr() for b in blocks}

    def rows(self, rows: np.ndarray, blocks: Sequence[str]) -> dict:
        return {b: self.train[b][rows] for b in blocks}


def _idf(counts, min_df: int) -> np.ndarray:
    """Smoothed idf as TfidfVectorizer computes it; 0 for terms under `min_df` in these rows
    (a vectorizer fitted on them would not have those columns)."""
    df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float32)
    n = counts.shape[0]
    idf = (np.log((n + 1.0) / (df + 1.0)) + 1.0).astype(np.float32)
    idf[df < min_df] = 0.0
    return idf


def _weigh(counts: dict, idf: dict):
    """Sublinear tf x idf, each block L2-normalised, blocks side by side (as a FeatureUnion)."""
    from scipy import sparse
    from sklearn.preprocessing import normalize

    parts = []
    for block, weights in idf.items():
        X = counts[block].astype(np.float32, copy=True)
        np.log(X.data, out=X.data)
        X.data += 1.0
        X.data *= weights[X.indices]
        X.eliminate_zeros()
        parts.append(normalize(X, copy=False))
    return parts[0] if len(parts) == 1 else sparse.hstack(parts, format="csr")


@dataclass
class TfidfFeatures:
    """TF-IDF of `counts`' vocabularies with the idf learned on some training rows."""

    counts: TermCounts
    idf: dict

    @classmethod
    def fit(cls, counts: TermCounts, rows: np.ndarray, features: Features) -> TfidfFeatures:
        part = counts.rows(rows, BLOCKS[features])
        return cls(counts, {b: _idf(part[b], MIN_DF[b]) for b in BLOCKS[features]})

    def of_counts(self, counts: dict):
        return _weigh(counts, self.idf)

    def transform(self, texts: Sequence[str]):
        return self.of_counts(self.counts.transform(texts, list(self.idf)))


@dataclass
class ClassicModel:
    """A fitted TF-IDF vectorizer + LinearSVC; `scores` has one column per class of `classes`."""

    setting: Setting
    vectorizer: TfidfFeatures
    svm: object
    classes: list[str]
    columns: np.ndarray  # column in `classes` of each of the svm's own classes

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Decision values (n, len(classes)); classes unseen in fitting get -inf."""
        return self.scores_of(self.vectorizer.transform(texts))

    def scores_of(self, X) -> np.ndarray:
        """`scores` from a feature matrix made by `self.vectorizer`."""
        raw = self.svm.decision_function(X)
        if raw.ndim == 1:  # binary: one column, positive means the second class
            raw = np.stack([-raw, raw], axis=1)
        out = np.full((raw.shape[0], len(self.classes)), -np.inf, dtype=np.float32)
        out[:, self.columns] = raw
        return out

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.classes[i] for i in self.scores(texts).argmax(axis=1)]


def _svm(X, codes: np.ndarray, setting: Setting):
    from sklearn.svm import LinearSVC

    tol = SVM_TOL[setting.multi_class]
    svm = LinearSVC(C=setting.C, tol=tol, multi_class=setting.multi_class)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on hard folds: accuracy still counts
        svm.fit(X, codes)
    return svm, np.asarray(svm.classes_, dtype=np.int64)


def fit_rows(
    counts: TermCounts,
    rows: np.ndarray,
    codes: np.ndarray,
    classes: Sequence[str],
    setting: Setting,
) -> ClassicModel:
    """TF-IDF + LinearSVC on training rows `rows` of `counts` (`codes`: labels of all rows)."""
    features = TfidfFeatures.fit(counts, rows, setting.features)
    X = features.of_counts(counts.rows(rows, BLOCKS[setting.features]))
    svm, columns = _svm(X, codes[rows], setting)
    return ClassicModel(setting, features, svm, list(classes), columns)


def fit_classic(
    texts: Sequence[str],
    codes: np.ndarray,
    classes: Sequence[str],
    setting: Setting,
) -> ClassicModel:
    """TF-IDF + LinearSVC on `texts` with integer labels `codes` into `classes`."""
    counts = TermCounts(texts, [setting.features])
    return fit_rows(counts, np.arange(len(codes)), np.asarray(codes), classes, setting)


def cv_classic(
    texts: Sequence[str] | TermCounts,
    codes: np.ndarray,
    classes: Sequence[str],
    splits: list[tuple[np.ndarray, np.ndarray]],
    settings: Sequence[Setting] | None = None,
    test_counts: dict | None = None,
) -> tuple[Setting, dict[str, float], np.ndarray | None, list[np.ndarray] | None]:
    """Best setting by CV accuracy over `splits` (ties → the earlier, simpler one).

    Returns (setting, {setting name: CV accuracy}, out-of-fold scores of the best setting, shape
    (n, len(classes)), or None without splits, and with `test_counts` (the held-out texts'
    counts) each fold model's held-out scores for the best setting: the learning curve's point
    at a fold's size, so no model is refit for it; else None).
    """
    if settings is None:
        if isinstance(texts, TermCounts):
            raise ValueError("settings are needed with precomputed counts")
        settings = candidates(texts)
    settings = list(settings)
    if not splits:
        return settings[0], {}, None, None
    counts = texts if isinstance(texts, TermCounts) else TermCounts(texts, _features(settings))
    n = counts.train[counts.blocks[0]].shape[0]
    oof = {s: np.zeros((n, len(classes)), dtype=np.float32) for s in settings}
    fold_test: dict[Setting, list[np.ndarray]] = {s: [] for s in settings}
    for train_idx, held_idx in splits:
        for features in _features(settings):  # one matrix per fold and feature set, every C
            tfidf = TfidfFeatures.fit(counts, train_idx, features)
            X = tfidf.of_counts(counts.rows(train_idx, BLOCKS[features]))
            held = tfidf.of_counts(counts.rows(held_idx, BLOCKS[features]))
            test = None if test_counts is None else tfidf.of_counts(test_counts)
            for setting in (s for s in settings if s.features == features):
                svm, columns = _svm(X, codes[train_idx], setting)
                model = ClassicModel(setting, tfidf, svm, list(classes), columns)
                oof[setting][held_idx] = model.scores_of(held)
                if test is not None:
                    fold_test[setting].append(model.scores_of(test))
    held_all = np.concatenate([h for _, h in splits])
    scores = {
        s.name: round(float((oof[s][held_all].argmax(1) == codes[held_all]).mean()), 4)
        for s in settings
    }
    best = max(settings, key=lambda s: (scores[s.name], -settings.index(s)))
    return best, scores, oof[best], (fold_test[best] if test_counts is not None else None)


def _features(settings: Sequence[Setting]) -> list[Features]:
    return list(dict.fromkeys(s.features for s in settings))


@dataclass
class ClassicRun:
    """What `run_classic` found: the block of settings and timings, the refit model, held-out
    predictions and scores, the CV's out-of-fold scores and its fold models' held-out scores,
    and the counts of the training and held-out texts (for refits on subsets)."""

    block: dict
    model: ClassicModel  # refit on all training rows
    predictions: list[str]
    oof: np.ndarray | None
    test_scores: np.ndarray
    fold_test: list[np.ndarray] | None
    counts: TermCounts
    test_counts: dict


def run_classic(
    train_texts: Sequence[str],
    train_codes: np.ndarray,
    classes: Sequence[str],
    test_texts: Sequence[str],
    splits: list[tuple[np.ndarray, np.ndarray]],
    scale: float = 1.0,
) -> ClassicRun:
    """CV-chosen classic model, refit on all training data and applied to the test texts
    (`scale` as in `candidates`); the held-out texts are counted once for the fold models, the
    refit and the learning curve."""
    t0 = time.perf_counter()
    settings = candidates(train_texts, scale)
    counts = TermCounts(train_texts, _features(settings))
    test_counts = counts.transform(test_texts, counts.blocks)
    count_s = time.perf_counter() - t0
    setting, cv_scores, oof, fold_test = cv_classic(
        counts, train_codes, classes, splits, settings, test_counts
    )
    cv_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = fit_rows(counts, np.arange(len(train_codes)), train_codes, classes, setting)
    fit_s = time.perf_counter() - t0
    test_scores = model.scores_of(model.vectorizer.of_counts(_blocks(test_counts, setting)))
    block = {
        "setting": setting.name,
        "features": setting.features,
        "C": setting.C,
        "multi_class": setting.multi_class,
        "cv_accuracy": cv_scores,
        "count_s": round(count_s, 3),
        "cv_s": round(cv_s, 3),
        "fit_s": round(fit_s, 3),
    }
    predictions = [classes[i] for i in test_scores.argmax(axis=1)]
    return ClassicRun(block, model, predictions, oof, test_scores, fold_test, counts, test_counts)


def _blocks(counts: dict, setting: Setting) -> dict:
    return {b: counts[b] for b in BLOCKS[setting.features]}
