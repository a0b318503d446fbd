"""`DataSpec`: which data, which columns and how it is split. One type for every entry point.

The RAG baseline (`EvalConfig.data_spec()`), the trainer (`TrainConfig.data_spec()`) and the app
(`ui.data_source`) all build a `DataSpec` and call `core.split.prepare_dataset(spec)`, so the split
id of the same data is the same from each of them (every field that changes the split is part of
the id).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal

MAX_FILE_MB = 200.0
MAX_TEXT_CHARS = 2000


class DataError(ValueError):
    """Bad input data; the message names the problem and what to do about it."""


TaskChoice = Literal["classification", "generation"]
DEFAULT_SPLIT_DIR = str(Path(".cache") / "splits")


@dataclass(frozen=True)
class DataSpec:
    train: str = field(metadata={"help": "Training file (CSV, TSV, JSONL or Parquet)."})
    test: str | None = field(
        default=None,
        metadata={"help": "Held-out test file; without it a stratified split is made and saved."},
    )
    text_col: str | None = field(
        default=None, metadata={"help": "Column with the input text; detected when obvious."}
    )
    label_col: str | None = field(
        default=None, metadata={"help": "Column with the label or the expected output."}
    )
    task: TaskChoice | None = field(
        default=None, metadata={"help": "classification or generation; inferred when unset."}
    )
    test_size: float = field(
        default=0.2,
        metadata={"help": "Share held out when no test file is given.", "unit": "fraction"},
    )
    seed: int = field(default=0, metadata={"help": "Seed of the stratified split."})
    split_dir: str = field(
        default=DEFAULT_SPLIT_DIR, metadata={"help": "Where split-<id>.json files are saved."}
    )
    drop_leakage: bool = field(
        default=False, metadata={"help": "Drop test examples whose text also appears in training."}
    )
    max_chars: int = field(
        default=MAX_TEXT_CHARS,
        metadata={
            "help": "Texts longer than this are truncated (with a warning).",
            "unit": "chars",
        },
    )
    max_mb: float = field(
        default=MAX_FILE_MB, metadata={"help": "Largest accepted input file.", "unit": "MB"}
    )

    def __post_init__(self) -> None:
        if not isinstance(self.train, str) or not self.train:
            raise DataError("train: give the path of the training file.")
        if self.task not in (None, "classification", "generation"):
            raise DataError(f"task: must be classification or generation, got {self.task!r}.")
        if not 0.0 < float(self.test_size) < 1.0:
            raise DataError(f"test_size must be between 0 and 1, got {self.test_size}.")
        if not isinstance(self.max_chars, int) or self.max_chars < 1:
            raise DataError(f"max_chars must be a whole number ≥ 1, got {self.max_chars!r}.")
        if not float(self.max_mb) > 0:
            raise DataError(f"max_mb must be positive, got {self.max_mb!r}.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DataSpec:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DataError(f"unknown data-spec key(s): {', '.join(unknown)}.")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text: str) -> DataSpec:
        return cls.from_dict(json.loads(text))
