"""Loading and validating the user's labelled examples.

One loader for the RAG baseline, the trainer and the app: CSV, JSONL or Parquet in; every problem
found before any model loads, reported as a `DataError` whose message names the file, the row and
the column and says what to do. `prepare_dataset` (in `core.split`) builds the held-out
split on top of this.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from core.spec import MAX_FILE_MB, MAX_TEXT_CHARS, DataError

Task = Literal["classification", "generation"]

TEXT_CANDIDATES = ("text", "input", "question", "query", "utterance", "prompt", "sentence")
LABEL_CANDIDATES = ("label", "category", "intent", "class", "target", "output", "answer")
SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}


@dataclass
class Table:
    """A loaded file: the frame plus what is needed to name rows the way the user sees them."""

    path: Path
    frame: pd.DataFrame
    kind: str  # "csv" | "jsonl" | "parquet"
    warnings: list[str] = field(default_factory=list)

    def row_name(self, index: int) -> str:
        """How the user finds row `index` (0-based data row) in their file."""
        if self.kind == "csv":
            return f"row {index + 1} (line {index + 2})"
        if self.kind == "jsonl":
            return f"line {index + 1}"
        return f"row {index}"


def _read_csv(path: Path, raw: bytes) -> pd.DataFrame:
    text = raw.decode("utf-8-sig")
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        detail = " ".join(str(exc).split())  # pandas ends its message with a newline
        raise DataError(
            f"{path.name}: cannot parse the CSV ({detail}). Check that fields containing commas or "
            "line breaks are quoted, then upload again."
        ) from None


def _read_jsonl(path: Path, raw: bytes) -> pd.DataFrame:
    rows = []
    for number, line in enumerate(raw.decode("utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{path.name}: line {number} is not valid JSON ({exc.msg}). Each line must be one "
                'JSON object such as {"text": "...", "label": "..."}; fix or delete that line.'
            ) from None
        if not isinstance(row, dict):
            raise DataError(
                f"{path.name}: line {number} is a JSON {type(row).__name__}, not an object. "
                'Each line must look like {"text": "...", "label": "..."}.'
            )
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.astype(str).where(frame.notna(), "") if len(frame) else frame


def load_table(path: str | Path, max_mb: float = MAX_FILE_MB) -> Table:
    """Read a CSV/TSV, JSONL or Parquet file into string columns; raise DataError on any problem."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found. Check the path or upload the file again.")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"{path.name}: unsupported file type '{path.suffix}'. "
            "Use .csv, .tsv, .jsonl or .parquet."
        )
    size_mb = path.stat().st_size / 1e6
    if size_mb > max_mb:
        raise DataError(
            f"{path.name}: file is {size_mb:.0f} MB, over the {max_mb:.0f} MB limit. Sample it "
            "down (a few thousand labelled rows are plenty for the trial) or raise the limit."
        )
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path.name}: the file is empty. Upload a file with a header and rows.")
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
            frame = frame.astype(str).where(frame.notna(), "")
        elif kind == "csv":
            frame = _read_csv(path, raw)
        else:
            frame = _read_jsonl(path, raw)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name}: not UTF-8 text (bad byte at position {exc.start}). Re-save the file "
            "as UTF-8 (in Excel: 'CSV UTF-8'), then upload again."
        ) from None
    except (OSError, ValueError, csv.Error) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path.name}: cannot read the file ({exc}).") from None
    if frame.empty:
        raise DataError(f"{path.name}: the file has a header but no rows.")
    frame.columns = [str(c).strip() for c in frame.columns]
    return Table(path=path, frame=frame.reset_index(drop=True), kind=kind)


def _pick(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    lowered = {c.lower(): c for c in columns}
    for name in candidates:
        if name in lowered:
            return lowered[name]
    return None


def detect_columns(table: Table) -> tuple[str | None, str | None]:
    """Guess (text column, label column) from common names; None where it is not obvious."""
    columns = list(table.frame.columns)
    text = _pick(columns, TEXT_CANDIDATES)
    label = _pick([c for c in columns if c != text], LABEL_CANDIDATES)
    if text is None and label is not None and len(columns) == 2:
        text = next(c for c in columns if c != label)
    return text, label


def resolve_columns(table: Table, text_col: str | None, label_col: str | None) -> tuple[str, str]:
    """The user's choice, else the detected column; DataError naming what exists otherwise."""
    guess_text, guess_label = detect_columns(table)
    text_col, label_col = text_col or guess_text, label_col or guess_label
    available = ", ".join(repr(c) for c in table.frame.columns)
    for role, col, flag in (("text", text_col, "--text-col"), ("label", label_col, "--label-col")):
        if col is None:
            raise DataError(
                f"{table.path.name}: cannot tell which column holds the {role}. Columns are "
                f"{available}; choose one with {flag}."
            )
        if col not in table.frame.columns:
            raise DataError(
                f"{table.path.name}: no column named '{col}' for the {role}. Columns are "
                f"{available}; pick one of them with {flag}."
            )
    if text_col == label_col:
        raise DataError(
            f"{table.path.name}: text and label are both '{text_col}'; pick two columns."
        )
    return text_col, label_col


def infer_task(labels: list[str]) -> Task:
    """Short, repeated labels mean classification; long or mostly unique outputs mean generation."""
    unique = set(labels)
    mean_words = sum(len(x.split()) for x in unique) / max(len(unique), 1)
    if len(unique) <= max(2, 0.5 * len(labels)) and mean_words <= 6:
        return "classification"
    return "generation"


def clean_columns(
    table: Table, text_col: str, label_col: str, max_chars: int = MAX_TEXT_CHARS
) -> tuple[list[str], list[str], list[str]]:
    """Texts and labels as stripped strings; empty cells are errors, overlong texts are truncated.

    Returns (texts, labels, warnings).
    """
    texts = [str(x).strip() for x in table.frame[text_col]]
    labels = [str(x).strip() for x in table.frame[label_col]]
    name = table.path.name
    for col, values in ((text_col, texts), (label_col, labels)):
        empty = [i for i, v in enumerate(values) if not v or v.lower() == "nan"]
        if empty:
            where = ", ".join(table.row_name(i) for i in empty[:5])
            more = f" and {len(empty) - 5} more" if len(empty) > 5 else ""
            raise DataError(
                f"{name}: column '{col}' is empty in {where}{more}. Fill in or delete those rows."
            )
    warnings = []
    long_rows = [i for i, t in enumerate(texts) if len(t) > max_chars]
    if long_rows:
        texts = [t[:max_chars] for t in texts]
        where = ", ".join(table.row_name(i) for i in long_rows[:5])
        warnings.append(
            f"{name}: {len(long_rows)} text(s) in column '{text_col}' were longer than "
            f"{max_chars} characters and were truncated ({where})."
        )
    return texts, labels, warnings
