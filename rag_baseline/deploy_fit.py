"""Fit the small classifier to deploy (rag_baseline.deploy) from a baseline result: the method
cross-validation chose, with the settings it chose, refit on the training rows of the saved split
the result's config names (the same stratified sample for a quick or memory-bound result). Its
held-out scores are measured on the fitted model itself, so the model card states what the saved
file does, not what the evaluation's own fit did (LinearSVC's solver is randomised).

    save_from_result(result, "my-classifier", embedder)   # after rag_baseline.evaluate
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from rag_baseline.classic import BLOCKS, Setting, fit_classic
from rag_baseline.classify import PROBE_MAX_ITER, encode_labels, fit_logreg_lbfgs
from rag_baseline.deploy import FORMAT, SmallClassifier, save
from rag_baseline.select import COMBINE_TEMPERATURES, DISPLAY_NAMES


def fit(result: dict[str, Any], embedder: Any = None) -> tuple[SmallClassifier, Any]:
    """The method `result["best"]` names, refit with its CV-chosen settings on the training rows
    of the split `result["config"]` describes (the same sample for a quick result); its held-out
    scores are measured on the saved model itself. Returns (model, the dataset)."""
    from core.metrics import classification_metrics
    from rag_baseline.config import EvalConfig
    from rag_baseline.evaluate import load_dataset, load_embedder, quick_sample

    if result.get("task") != "classification" or not result.get("best"):
        raise ValueError("only a classification baseline with a chosen best method is deployable")
    config = EvalConfig.from_dict(result["config"])
    ds = load_dataset(config)
    if config.quick:
        ds, _ = quick_sample(ds, config)
    method = result["best"]["method"]
    codes, labels = encode_labels(ds.train_labels)
    embedder = embedder or load_embedder(config)
    texts = ds.train_texts + ds.test_texts
    vectors = embedder.encode(texts, long_texts=config.long_texts)  # from the run's cache
    train_vecs, test_vecs = vectors[: len(ds.train_texts)], vectors[len(ds.train_texts) :]
    settings, arrays, vocab = _fit_parts(result, method, ds.train_texts, codes, labels, train_vecs)
    arrays["train_vectors"] = np.ascontiguousarray(train_vecs, dtype=np.float32)
    arrays["train_codes"] = codes
    meta = {
        "format": FORMAT,
        "method": method,
        "name": DISPLAY_NAMES[method],
        "labels": labels,
        "settings": settings,
        "embedder": config.embedder,
        "embedder_licence": embedder_licence(config.embedder),
        "precision": config.precision,
        "long_texts": config.long_texts,
        "text_col": ds.text_col,
        "label_col": ds.label_col,
        "split_id": ds.split_id,
        "train_file": Path(config.train).name,
        "test_file": Path(config.test).name if config.test else None,
        "n_train": len(ds.train_texts),
        "n_test": len(ds.test_texts),
        "quick": bool(config.quick),
        "chosen_by": result["best"].get("by"),
        "cv_accuracy": result["best"].get("cv_accuracy"),
        "created": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        # The method's own measured speed where the result has one, else the end-to-end kNN
        # figure (embedding dominates both); None when nothing was measured.
        "items_per_s": (result.get(method) or {}).get("items_per_s") or result.get("items_per_s"),
    }
    model = SmallClassifier(meta, arrays, vocab, list(ds.train_texts), embedder)
    preds = [a.label for a in model.answers_of(model.probabilities(ds.test_texts, test_vecs), 1)]
    scores = classification_metrics(ds.test_labels, preds, labels)
    keep = ("accuracy", "accuracy_ci95", "macro_f1", "macro_f1_ci95")
    meta["held_out"] = {k: scores[k] for k in keep if k in scores}
    return model, ds


def _fit_parts(result, method, texts, codes, labels, vecs) -> tuple[dict, dict, dict]:
    """(settings, arrays, vocabulary) of `method` with the settings the baseline chose."""
    settings: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    vocabulary: dict[str, list[str]] = {}
    if method == "knn":
        settings["k"] = int(result["knn"]["k"])
    if method in ("probe", "combined"):
        C = float(result["probe"]["C"])
        X = np.ascontiguousarray(vecs, dtype=np.float32)
        coef, intercept = fit_logreg_lbfgs(X, codes, len(labels), C, PROBE_MAX_ITER)
        arrays["probe_coef"] = coef.astype(np.float32)
        arrays["probe_intercept"] = intercept.astype(np.float32)
        settings["probe_C"] = C
    if method in ("classic", "combined"):
        block = result["classic"]
        setting = Setting(block["features"], float(block["C"]), block.get("multi_class", "ovr"))
        model = fit_classic(texts, codes, labels, setting)
        for b in BLOCKS[setting.features]:
            vocab = model.vectorizer.counts.vectorizers[b].vocabulary_
            terms = [""] * len(vocab)
            for term, i in vocab.items():
                terms[i] = term
            vocabulary[b] = terms
            arrays[f"idf_{b}"] = np.asarray(model.vectorizer.idf[b], dtype=np.float32)
        arrays.update(
            svm_coef=np.asarray(model.svm.coef_, dtype=np.float32),
            svm_intercept=np.asarray(model.svm.intercept_, dtype=np.float32),
            svm_columns=np.asarray(model.columns, dtype=np.int64),
        )
        settings["classic"] = {"features": setting.features, "C": setting.C,
                               "multi_class": setting.multi_class}  # fmt: skip
        combined = result.get("combined") or (result.get("cv") or {}).get("combined_cv") or {}
        settings["temperature"] = float(combined.get("temperature", COMBINE_TEMPERATURES[-1]))
    if method == "combined":
        settings["weight_probe"] = float(result["combined"]["weight_probe"])
    return settings, arrays, vocabulary


def embedder_licence(model: str) -> str:
    """The licence in the embedder's model card (README front matter), or how to find it."""
    try:
        from rag_baseline.embed import resolve_embedder

        card = Path(resolve_embedder(model)) / "README.md"
        for line in card.read_text(encoding="utf-8").splitlines()[:40]:
            if line.startswith("license:"):
                return line.split(":", 1)[1].strip()
    except (OSError, ValueError):
        pass
    return f"see the model card of {model}"


def save_from_result(result: dict[str, Any], folder: str | Path, embedder: Any = None) -> Path:
    """Fit the chosen classifier of a baseline `result` (see `fit`) and save it in `folder`."""
    model, _ = fit(result, embedder)
    return save(model, folder)
