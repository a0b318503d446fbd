"""The small classifier as a model to deploy: the baseline that cross-validation chose (kNN, the
linear probe, TF-IDF + linear SVM, or the probe + TF-IDF mix), fitted on the saved split's
training rows, saved as safetensors (arrays) + JSON (labels, vocabulary, settings; never pickle),
loaded without refitting, and exported as a zip with a model card.

    python -m rag_baseline evaluate --train data.csv --save-model my-classifier  # fit, save
    python -m rag_baseline.deploy predict --model my-classifier --input new.csv [--out preds.csv]
    python -m rag_baseline.deploy export --model my-classifier --out my-classifier.zip

From Python: `m = load("my-classifier"); m.predict(["my printer is on fire"])` gives
`[Answer(label=..., confidence=0.93, top=[...])]`. The fit is `rag_baseline.deploy_fit` (the app's
baseline job and `--save-model` call it); the Model page offers the model beside the trial
fine-tune.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.data import DataError, load_table
from core.predictions import csv_text, with_predictions  # csv_text: the app imports it here
from rag_baseline.classic import TOKENS, TfidfFeatures
from rag_baseline.classify import KNN_TEMPERATURE
from rag_baseline.deploy_card import model_card
from rag_baseline.select import mix

FORMAT = "small-classifier/1"
META_FILE = "classifier.json"
WEIGHTS_FILE = "weights.safetensors"
VOCAB_FILE = "vocabulary.json"
EXAMPLES_FILE = "examples.safetensors"  # training vectors: kNN's model, nearest examples
TEXTS_FILE = "examples.json"  # training texts for nearest examples; kept out of the export
CARD_FILE = "README.md"
ZIP_FILE = "export.zip"
METHODS = ("knn", "probe", "classic", "combined")
EMBEDDED = ("knn", "probe", "combined")  # methods that read the embedder's vectors
PREDICT_BATCH = 2048  # texts per step: kNN's (batch x training rows) similarities stay small
MAX_META_BYTES = 50 * 2**20  # JSON files this loader accepts (a vocabulary of ~2M terms)


@dataclass(frozen=True)
class Answer:
    """One prediction: the label, its probability and the best labels with theirs."""

    label: str
    confidence: float | None = None
    top: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class SmallClassifier:
    """A fitted small classifier; `embedder` (rag_baseline.embed.Embedder) loads on first use."""

    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]
    vocabulary: dict[str, list[str]] = field(default_factory=dict)
    texts: list[str] | None = None  # training texts (nearest examples); None once exported
    embedder: Any = None
    _counters: dict[str, Any] | None = field(default=None, repr=False)

    task = "classification"

    @property
    def labels(self) -> list[str]:
        return list(self.meta["labels"])

    @property
    def method(self) -> str:
        return self.meta["method"]

    def _embed(self, texts: list[str]) -> np.ndarray:
        if self.embedder is None:
            from rag_baseline.embed import Embedder

            self.embedder = Embedder(self.meta["embedder"], precision=self.meta["precision"])
        return self.embedder.encode(texts, use_cache=False, long_texts=self.meta["long_texts"])

    def probabilities(self, texts: list[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """(len(texts), n_labels) scores summing to 1 per row; `vectors`: the texts' embeddings
        when the caller has them."""
        texts = [str(t) for t in texts]
        if self.method in EMBEDDED and vectors is None:
            vectors = self._embed(texts)
        s, a = self.meta["settings"], self.arrays
        if self.method == "knn":
            return self._knn(vectors, int(s["k"]))
        if self.method == "probe":
            return _softmax(vectors @ a["probe_coef"].T + a["probe_intercept"])
        svm = self._svm(texts)
        if self.method == "classic":  # SVM scores as shares: relative, not calibrated
            return _softmax(svm / s["temperature"])
        logits = vectors @ a["probe_coef"].T + a["probe_intercept"]
        return mix(logits, svm, s["weight_probe"], s["temperature"])

    def _knn(self, vectors: np.ndarray, k: int) -> np.ndarray:
        """The similarity-weighted vote of rag_baseline.classify.knn_vote, as shares."""
        train, codes = self.arrays["train_vectors"], self.arrays["train_codes"]
        sims = vectors @ train.T
        k = min(k, sims.shape[1])
        ids = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        near = np.take_along_axis(sims, ids, axis=1)
        weights = np.exp((near - near[:, :1]) / KNN_TEMPERATURE) + 1e-7 * (k - np.arange(k))
        votes = np.zeros((len(ids), len(self.labels)), dtype=np.float64)
        np.add.at(votes, (np.repeat(np.arange(len(ids)), k), codes[ids].ravel()), weights.ravel())
        return votes / votes.sum(axis=1, keepdims=True)

    def _svm(self, texts: list[str]) -> np.ndarray:
        """LinearSVC decision values (n, n_labels) on TF-IDF of the saved vocabulary and idf."""
        counts = {b: v.transform(texts).tocsr() for b, v in self._vectorizers().items()}
        idf = {b: self.arrays[f"idf_{b}"] for b in self.vocabulary}
        X = TfidfFeatures(None, idf).of_counts(counts)  # type: ignore[arg-type]
        raw = np.asarray(X @ self.arrays["svm_coef"].T) + self.arrays["svm_intercept"]
        if raw.shape[1] == 1:  # binary: one column, positive means the second class
            raw = np.hstack([-raw, raw])
        out = np.full((raw.shape[0], len(self.labels)), -np.inf, dtype=np.float32)
        out[:, self.arrays["svm_columns"]] = raw
        return out

    def _vectorizers(self) -> dict[str, Any]:
        """One CountVectorizer per block over the saved terms, built once (a vocabulary of
        100k terms takes a good part of a second to index)."""
        if self._counters is None:
            from sklearn.feature_extraction.text import CountVectorizer

            self._counters = {}
            for b, terms in self.vocabulary.items():
                vec = CountVectorizer(vocabulary=terms, **TOKENS[b], dtype=np.float32)
                vec.fit([])  # indexes the fixed vocabulary now; nothing is learned
                self._counters[b] = vec
        return self._counters

    def predict(self, texts: list[str], top_k: int = 3) -> list[Answer]:
        texts = [str(t).strip() for t in texts]
        out: list[Answer] = []
        for i in range(0, len(texts), PREDICT_BATCH):  # bounded memory on a large file
            out += self.answers_of(self.probabilities(texts[i : i + PREDICT_BATCH]), top_k)
        return out

    def answers_of(self, probs: np.ndarray, top_k: int = 3) -> list[Answer]:
        order = np.argsort(-probs, axis=1, kind="stable")[:, :top_k]
        out = []
        for row, idx in zip(probs, order):
            top = [(self.labels[i], round(float(row[i]), 4)) for i in idx]
            out.append(Answer(top[0][0], top[0][1], top))
        return out

    def nearest(self, texts: list[str], k: int = 3) -> list[list[dict[str, Any]]]:
        """The k training examples closest to each text by the embedder (cosine), as {"text",
        "label", "similarity"}; [] per text when the training texts are not at hand."""
        if not self.texts or "train_vectors" not in self.arrays:
            return [[] for _ in texts]
        sims = self._embed([str(t) for t in texts]) @ self.arrays["train_vectors"].T
        order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        codes = self.arrays["train_codes"]
        return [
            [
                {"text": self.texts[i], "label": self.labels[codes[i]], "similarity": float(r[i])}
                for i in idx
            ]
            for r, idx in zip(sims, order)
        ]


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# --- save, load ---------------------------------------------------------------------------------


def save(model: SmallClassifier, folder: str | Path) -> Path:
    """Write the model into `folder` (replaced whole, atomically, so no reader sees half)."""
    from safetensors.numpy import save_file

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Its own scratch folder: two saves at once (the job and a click) never share one.
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
    try:
        _write(model, tmp, save_file)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = tmp.with_suffix(".old")
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


def _write(model: SmallClassifier, tmp: Path, save_file) -> None:
    examples = {k: model.arrays[k] for k in ("train_vectors", "train_codes") if k in model.arrays}
    weights = {k: np.ascontiguousarray(v) for k, v in model.arrays.items() if k not in examples}
    if weights:
        save_file(weights, str(tmp / WEIGHTS_FILE))
    save_file({k: np.ascontiguousarray(v) for k, v in examples.items()}, str(tmp / EXAMPLES_FILE))
    if model.vocabulary:
        (tmp / VOCAB_FILE).write_text(json.dumps(model.vocabulary, ensure_ascii=False))
    if model.texts is not None:
        (tmp / TEXTS_FILE).write_text(json.dumps(model.texts, ensure_ascii=False))
    (tmp / META_FILE).write_text(json.dumps(model.meta, indent=1, ensure_ascii=False))


def _read_json(path: Path) -> Any:
    if path.stat().st_size > MAX_META_BYTES:
        raise ValueError(f"{path.name} is over {MAX_META_BYTES >> 20} MB: not a saved classifier")
    return json.loads(path.read_text(encoding="utf-8"))


def load(folder: str | Path, embedder: Any = None) -> SmallClassifier:
    """A saved classifier, checked; raises ValueError with one line naming what is wrong."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    from core.models import check_model_folder

    folder = Path(folder)
    where = f"classifier folder {folder}"
    check_model_folder(folder, "small classifier")  # no pickle or code beside the arrays
    try:
        meta = _read_json(folder / META_FILE)
        arrays = load_file(str(folder / WEIGHTS_FILE)) if (folder / WEIGHTS_FILE).exists() else {}
        if (folder / EXAMPLES_FILE).exists():
            arrays.update(load_file(str(folder / EXAMPLES_FILE)))
        vocab = _read_json(folder / VOCAB_FILE) if (folder / VOCAB_FILE).exists() else {}
        texts = _read_json(folder / TEXTS_FILE) if (folder / TEXTS_FILE).exists() else None
    except FileNotFoundError:
        raise ValueError(f"{where}: no {META_FILE}; save one with --save-model") from None
    except (OSError, ValueError, SafetensorError) as exc:  # JSON, safetensors header, size
        raise ValueError(f"{where}: unreadable ({' '.join(str(exc).split())})") from None
    model = SmallClassifier(meta, arrays, vocab, texts, embedder)
    problem = _check(model)
    if problem:
        raise ValueError(f"{where}: {problem}")
    return model


def _check(m: SmallClassifier) -> str | None:
    """What is wrong with a loaded model, or None: every array the method reads, in shape."""
    meta, a = m.meta, m.arrays
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return f"not a {FORMAT} model"
    labels = meta.get("labels")
    if meta.get("method") not in METHODS or not isinstance(labels, list) or len(labels) < 2:
        return "the method or the labels are missing"
    if not all(isinstance(x, str) for x in labels) or not isinstance(meta.get("settings"), dict):
        return "the labels or the settings are malformed"
    vocab, texts = m.vocabulary, m.texts
    if not isinstance(vocab, dict) or not all(
        b in TOKENS and isinstance(t, list) and all(isinstance(x, str) for x in t)
        for b, t in vocab.items()
    ):
        return f"{VOCAB_FILE} is not a term list per block"
    if texts is not None and (
        not isinstance(texts, list) or len(texts) != len(a.get("train_codes", ()))
    ):
        return f"{TEXTS_FILE} does not match the training vectors"
    n, method = len(labels), meta["method"]
    need = {"knn": ("train_vectors", "train_codes"), "probe": ("probe_coef", "probe_intercept"),
            "classic": ("svm_coef", "svm_intercept", "svm_columns")}  # fmt: skip
    wanted = need.get(method, need["probe"] + need["classic"])
    missing = [k for k in wanted if k not in a]
    if missing:
        return f"{method} needs {', '.join(missing)} in its safetensors files"
    codes = a.get("train_codes", np.zeros(0, dtype=np.int64))
    if len(codes) and not 0 <= codes.min() <= codes.max() < n:
        return "train_codes name labels that do not exist"
    if "probe_coef" in a and a["probe_coef"].shape[0] != n:
        return f"probe_coef has {a['probe_coef'].shape[0]} rows for {n} labels"
    if "svm_coef" in a:
        width = sum(len(m.vocabulary.get(b, [])) for b in ("word", "char"))
        if a["svm_coef"].shape[1] != width or a["svm_columns"].max(initial=0) >= n:
            return "the SVM weights do not match the vocabulary or the labels"
    return None


# --- files in, files out ------------------------------------------------------------------------


def predict_table(model: Any, path: str | Path, text_col: str | None = None) -> Any:
    """Every row and column of the file as it came, with `pred` (and `confidence`) added; works
    for any model with `.meta["text_col"]` and `.predict(texts)` (the trial model's too)."""
    return with_predictions(model, load_table(path), text_col)


def export_zip(folder: str | Path) -> bytes:
    """The model as a zip: safetensors + JSON + README.md card; the training texts stay out.
    Built once per saved model (a new save replaces the folder and with it the zip)."""
    folder = Path(folder)
    path = folder / ZIP_FILE
    if not path.exists():
        model = load(folder)
        top = f"small-classifier-{model.meta.get('split_id') or 'model'}"
        keep = [META_FILE, WEIGHTS_FILE, VOCAB_FILE]
        if model.method == "knn":
            keep.append(EXAMPLES_FILE)  # the training vectors are kNN's model
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name in keep:
                if (folder / name).exists():
                    zf.write(folder / name, f"{top}/{name}")
            zf.writestr(f"{top}/{CARD_FILE}", model_card(model.meta, knn=model.method == "knn"))
        part = folder / f".{ZIP_FILE}.partial"
        part.write_bytes(buf.getvalue())
        part.replace(path)
    return path.read_bytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rag_baseline.deploy", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    pr = sub.add_parser("predict", help="predict every row of a file (its columns are kept)")
    pr.add_argument("--model", required=True, help="folder written by --save-model")
    pr.add_argument("--input", required=True, help="CSV, TSV, JSONL or Parquet file")
    pr.add_argument("--text-col", help="text column (default: the model's own, else detected)")
    pr.add_argument("--out", help="CSV to write (default: stdout)")
    ex = sub.add_parser("export", help="zip the model with its model card")
    ex.add_argument("--model", required=True, help="folder written by --save-model")
    ex.add_argument("--out", required=True, help="zip file to write")
    ns = parser.parse_args(argv)
    try:
        if ns.command == "export":
            Path(ns.out).write_bytes(export_zip(ns.model))
            return 0
        frame = predict_table(load(ns.model), ns.input, ns.text_col)
        text = csv_text(frame)
        if ns.out:
            Path(ns.out).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0
    except (DataError, ValueError, OSError) as exc:
        print("error: " + " ".join(str(exc).split()), file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
