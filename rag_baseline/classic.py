"""The classic baseline: TF-IDF features + a linear SVM (scikit-learn), no embedder at all.

Word 1-2-grams with sublinear tf (and, on small training sets, character 2-5-grams inside word
boundaries as well) feed `LinearSVC`; the feature set and C are chosen by cross-validation on the
training split only (`cv_classic`, on the folds shared with kNN and the probe), then the model is
refit on the whole training split and scored on the held-out split like the other baselines.

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
C_CANDIDATES = (0.3, 1.0)  # LinearSVC C; 0.3-1 measured best on banking77 and ticket queues
CHAR_BUDGET = 400_000  # training characters; above it char n-grams are not tried (fit cost)
WORD_OPTIONS = {"analyzer": "word", "ngram_range": (1, 2), "sublinear_tf": True, "min_df": 1}
CHAR_OPTIONS = {"analyzer": "char_wb", "ngram_range": (2, 5), "sublinear_tf": True, "min_df": 2}


@dataclass(frozen=True)
class Setting:
    """One candidate of the CV search: which features and how much regularisation."""

    features: Features
    C: float

    @property
    def name(self) -> str:
        return f"{self.features} C={self.C:g}"


def candidates(train_texts: Sequence[str]) -> list[Setting]:
    """Settings the CV tries: word n-grams always, char n-grams too when the data is small."""
    feature_sets: list[Features] = ["word"]
    if sum(len(t) for t in train_texts) <= CHAR_BUDGET:
        feature_sets.append("word+char")
    return [Setting(f, c) for f in feature_sets for c in C_CANDIDATES]


def _vectorizer(features: Features):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    word = TfidfVectorizer(**WORD_OPTIONS, dtype=np.float32)
    if features == "word":
        return word
    char = TfidfVectorizer(**CHAR_OPTIONS, dtype=np.float32)
    return FeatureUnion([("word", word), ("char", char)])


@dataclass
class ClassicModel:
    """A fitted TF-IDF vectorizer + LinearSVC; `scores` has one column per class of `classes`."""

    setting: Setting
    vectorizer: object
    svm: object
    classes: list[str]
    columns: np.ndarray  # column in `classes` of each of the svm's own classes

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Decision values (n, len(classes)); classes unseen in fitting get -inf."""
        raw = self.svm.decision_function(self.vectorizer.transform(list(texts)))
        if raw.ndim == 1:  # binary: one column, positive means the second class
            raw = np.stack([-raw, raw], axis=1)
        out = np.full((raw.shape[0], len(self.classes)), -np.inf, dtype=np.float32)
        out[:, self.columns] = raw
        return out

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.classes[i] for i in self.scores(texts).argmax(axis=1)]


def fit_classic(
    texts: Sequence[str],
    codes: np.ndarray,
    classes: Sequence[str],
    setting: Setting,
) -> ClassicModel:
    """TF-IDF + LinearSVC on `texts` with integer labels `codes` into `classes`."""
    from sklearn.svm import LinearSVC

    vectorizer = _vectorizer(setting.features)
    X = vectorizer.fit_transform(list(texts))
    svm = LinearSVC(C=setting.C, tol=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on hard folds: accuracy still counts
        svm.fit(X, codes)
    columns = np.asarray(svm.classes_, dtype=np.int64)
    return ClassicModel(setting, vectorizer, svm, list(classes), columns)


def cv_classic(
    texts: Sequence[str],
    codes: np.ndarray,
    classes: Sequence[str],
    splits: list[tuple[np.ndarray, np.ndarray]],
    settings: Sequence[Setting] | None = None,
) -> tuple[Setting, dict[str, float], np.ndarray | None]:
    """Best setting by CV accuracy over `splits` (ties → the earlier, simpler one).

    Returns (setting, {setting name: CV accuracy}, out-of-fold scores of the best setting, shape
    (n, len(classes)), or None without splits).
    """
    settings = list(settings or candidates(texts))
    if not splits:
        return settings[0], {}, None
    texts = list(texts)
    n = len(texts)
    oof = {s: np.zeros((n, len(classes)), dtype=np.float32) for s in settings}
    for train_idx, held_idx in splits:
        part = [texts[i] for i in train_idx]
        held = [texts[i] for i in held_idx]
        for setting in settings:
            model = fit_classic(part, codes[train_idx], classes, setting)
            oof[setting][held_idx] = model.scores(held)
    held_all = np.concatenate([h for _, h in splits])
    scores = {
        s.name: round(float((oof[s][held_all].argmax(1) == codes[held_all]).mean()), 4)
        for s in settings
    }
    best = max(settings, key=lambda s: (scores[s.name], -settings.index(s)))
    return best, scores, oof[best]


def run_classic(
    train_texts: Sequence[str],
    train_codes: np.ndarray,
    classes: Sequence[str],
    test_texts: Sequence[str],
    splits: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[dict, list[str], np.ndarray | None, np.ndarray]:
    """CV-chosen classic model, refit on all training data and applied to the test texts.

    Returns (block of settings and timings, test predictions, out-of-fold scores or None,
    test scores (n_test, n_classes)).
    """
    t0 = time.perf_counter()
    setting, cv_scores, oof = cv_classic(train_texts, train_codes, classes, splits)
    cv_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = fit_classic(train_texts, train_codes, classes, setting)
    fit_s = time.perf_counter() - t0
    test_scores = model.scores(test_texts)
    block = {
        "setting": setting.name,
        "features": setting.features,
        "C": setting.C,
        "cv_accuracy": cv_scores,
        "cv_s": round(cv_s, 3),
        "fit_s": round(fit_s, 3),
    }
    predictions = [classes[i] for i in test_scores.argmax(axis=1)]
    return block, predictions, oof, test_scores
