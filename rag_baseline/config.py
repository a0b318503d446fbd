"""`EvalConfig`: every knob of a RAG-baseline evaluation, typed and validated.

The CLI builds it from flags, the app from its form; `to_dict`/`from_dict`/`to_json`/`from_json`
round-trip it (results.json stores it), and unknown keys are rejected by name.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Literal, get_args

from core.models import DEFAULT_EMBEDDER, DEFAULT_GENERATOR
from core.spec import MAX_FILE_MB, MAX_TEXT_CHARS, DataSpec
from rag_baseline.index import APPROX_THRESHOLD
from rag_baseline.quick import QUICK_TEST, QUICK_TRAIN

TaskChoice = Literal["classification", "generation"]
PrecisionChoice = Literal["auto", "fp32", "bf16"]
LongTextsChoice = Literal["head", "chunk"]
DEFAULT_GENERATION_K = 4  # few-shot examples per prompt when --k is not given


@dataclass
class EvalConfig:
    train: str = field(metadata={"help": "Training file (CSV, TSV, JSONL or Parquet)."})
    test: str | None = field(
        default=None,
        metadata={"help": "Held-out test file; without it a stratified split is made and saved."},
    )
    text_col: str | None = field(
        default=None, metadata={"help": "Column with the input text; detected when obvious."}
    )
    label_col: str | None = field(
        default=None,
        metadata={"help": "Column with the label (classification) or expected output."},
    )
    task: TaskChoice | None = field(
        default=None,
        metadata={"help": "classification or generation; inferred from the labels when unset."},
    )
    embedder: str = field(
        default=DEFAULT_EMBEDDER,
        metadata={
            "help": "Embedding model: the shipped default, a sentence-transformers id or "
            "a local folder."
        },
    )
    generator: str = field(
        default=DEFAULT_GENERATOR,
        metadata={
            "help": "Causal LM for generation tasks: the shipped default, a hub id, a "
            "folder or a .gguf file."
        },
    )
    k: int | None = field(
        default=None,
        metadata={
            "help": "Neighbours per query. Unset: chosen by cross-validation on the "
            f"training split (classification) or {DEFAULT_GENERATION_K} (generation).",
            "unit": "examples",
        },
    )
    no_cache: bool = field(
        default=False, metadata={"help": "Do not read or write the on-disk embedding cache."}
    )
    cache_dir: str = field(
        default=".cache/embeddings", metadata={"help": "Where cached embeddings live."}
    )
    split_dir: str = field(
        default=".cache/splits", metadata={"help": "Where split-<id>.json files are saved."}
    )
    out_dir: str | None = field(
        default=None,
        metadata={"help": "Write results.json and predictions.csv here when set."},
    )
    drop_leakage: bool = field(
        default=False,
        metadata={"help": "Drop test examples whose text also appears in training."},
    )
    test_size: float = field(
        default=0.2,
        metadata={
            "help": "Share of the training file held out when no test file is given.",
            "unit": "fraction",
        },
    )
    seed: int = field(default=0, metadata={"help": "Seed for the split, CV folds and sampling."})
    max_test: int | None = field(
        default=None,
        metadata={
            "help": "Score at most this many test items (a seeded sample); unset: all.",
            "unit": "items",
        },
    )
    precision: PrecisionChoice = field(
        default="auto",
        metadata={"help": "Embedding arithmetic: auto = bf16 where the CPU has native bf16."},
    )
    probe_c: float = field(
        default=30.0, metadata={"help": "Inverse L2 strength of the linear probe (C)."}
    )
    approx_threshold: int = field(
        default=APPROX_THRESHOLD,
        metadata={
            "help": "Above this many training vectors use an approximate (HNSW) index.",
            "unit": "vectors",
        },
    )
    max_new_tokens: int | None = field(
        default=None,
        metadata={
            "help": "Generation length; unset: derived from training output lengths.",
            "unit": "tokens",
        },
    )
    max_file_mb: float = field(
        default=MAX_FILE_MB, metadata={"help": "Largest accepted input file.", "unit": "MB"}
    )
    max_chars: int = field(
        default=MAX_TEXT_CHARS,
        metadata={
            "help": "Texts longer than this are truncated (with a warning).",
            "unit": "characters",
        },
    )
    device: str = field(default="cpu", metadata={"help": "torch device: cpu or cuda[:n]."})
    long_texts: LongTextsChoice = field(
        default="chunk",
        metadata={
            "help": "Texts longer than the embedder's window: 'chunk' embeds equal chunks and "
            "averages them, 'head' keeps the first window of tokens."
        },
    )
    quick: bool = field(
        default=False,
        metadata={
            "help": "A first estimate in seconds: every baseline on a stratified sample "
            "(quick_train / quick_test rows) with a learning curve."
        },
    )
    quick_train: int = field(
        default=QUICK_TRAIN,
        metadata={"help": "Training rows of the quick estimate.", "unit": "rows"},
    )
    quick_test: int = field(
        default=QUICK_TEST,
        metadata={"help": "Held-out rows of the quick estimate.", "unit": "rows"},
    )

    def __post_init__(self) -> None:
        self._check_str("train", self.train, optional=False)
        for name in ("test", "text_col", "label_col", "out_dir"):
            self._check_str(name, getattr(self, name), optional=True)
        for name in ("embedder", "generator", "cache_dir", "split_dir"):
            self._check_str(name, getattr(self, name), optional=False)
        self._check_choice("task", self.task, get_args(TaskChoice), optional=True)
        self._check_choice("precision", self.precision, get_args(PrecisionChoice))
        self._check_choice("long_texts", self.long_texts, get_args(LongTextsChoice))
        for name in ("no_cache", "drop_leakage", "quick"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        for name in ("k", "max_test", "max_new_tokens"):
            self._check_int(name, getattr(self, name), minimum=1, optional=True)
        self._check_int("seed", self.seed, minimum=0)
        self._check_int("approx_threshold", self.approx_threshold, minimum=1)
        self._check_int("max_chars", self.max_chars, minimum=1)
        self._check_int("quick_train", self.quick_train, minimum=10)
        self._check_int("quick_test", self.quick_test, minimum=10)
        if not _is_number(self.test_size) or not 0.0 < self.test_size < 1.0:
            raise ValueError(f"test_size must be a number between 0 and 1, got {self.test_size!r}")
        for name in ("probe_c", "max_file_mb"):
            value = getattr(self, name)
            if not _is_number(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if not (self.device == "cpu" or self.device.startswith("cuda")):
            raise ValueError(f"device must be 'cpu' or 'cuda[:n]', got {self.device!r}")

    @staticmethod
    def _check_str(name: str, value: object, optional: bool) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty string, got {value!r}")

    @staticmethod
    def _check_choice(name: str, value: object, allowed: tuple, optional: bool = False) -> None:
        if value is None and optional:
            return
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")

    @staticmethod
    def _check_int(name: str, value: object, minimum: int, optional: bool = False) -> None:
        if value is None and optional:
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")

    def data_spec(self) -> DataSpec:
        """The data this evaluation scores: the same spec type as the trainer's and the app's."""
        return DataSpec(
            train=self.train,
            test=self.test,
            text_col=self.text_col,
            label_col=self.label_col,
            task=self.task,
            test_size=self.test_size,
            seed=self.seed,
            split_dir=self.split_dir,
            drop_leakage=self.drop_leakage,
            max_chars=self.max_chars,
            max_mb=self.max_file_mb,
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> EvalConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown EvalConfig key '{unknown[0]}'; known keys are {', '.join(sorted(known))}"
            )
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EvalConfig:
        return cls.from_dict(json.loads(text))

    @classmethod
    def help(cls) -> dict[str, str]:
        """Field name → help text (with unit and default), for CLIs and forms."""
        out = {}
        for f in fields(cls):
            unit = f.metadata.get("unit")
            extra = f" [{unit}]" if unit else ""
            if f.default is not MISSING and f.default not in (None, False):
                extra += f" (default: {f.default})"
            out[f.name] = f"{f.metadata.get('help', '')}{extra}"
        return out


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
