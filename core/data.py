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
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from numpy import ndarray

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
    nested: dict[str, list[int]] = field(default_factory=dict)  # column -> rows (objects/lists)

    def row_name(self, index: int) -> str:
        """How the user finds row `index` (0-based data row) in their file."""
        if self.kind == "csv":
            return f"row {index + 1} (line {index + 2})"
        if self.kind == "jsonl":
            return f"line {index + 1}"
        return f"row {index}"


SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def _sniff_separator(path: Path, header: str) -> str:
    """The separator the header line uses: the file type's default unless another candidate
    occurs in the header and the default does not (a semicolon- or tab-separated '.csv')."""
    default = "\t" if path.suffix.lower() == ".tsv" else ","
    if header.count(default):
        return default
    counts = {sep: header.count(sep) for sep in SEPARATORS if sep != default}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else default


def _separator(path: Path, header: str, warnings: list[str]) -> str:
    sep = _sniff_separator(path, header)
    default = "\t" if path.suffix.lower() == ".tsv" else ","
    if sep != default:
        warnings.append(
            f"{path.name}: the header is separated by {SEPARATORS[sep]}s, not "
            f"{SEPARATORS[default]}s; the file was read as {SEPARATORS[sep]}-separated."
        )
    return sep


def _read_csv(path: Path, source: Any, header: str, warnings: list[str]) -> pd.DataFrame:
    """`source`: the text (small files) or the path (pandas reads it in chunks of its own)."""
    sep = _separator(path, header, warnings)
    try:
        return pd.read_csv(source, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.ParserError as exc:
        detail = " ".join(str(exc).split())  # pandas ends its message with a newline
        others = [SEPARATORS[c] for c in SEPARATORS if c != sep and c in header]
        hint = (
            f" The header also contains {' and '.join(others)}s: check which separator the file "
            "uses."
            if others
            else ""
        )
        raise DataError(
            f"{path.name}: cannot parse the file as {SEPARATORS[sep]}-separated ({detail}). Check "
            f"that fields containing {SEPARATORS[sep]}s or line breaks are quoted, then upload "
            f"again.{hint}"
        ) from None


def _read_jsonl(path: Path, lines: Iterable[str]) -> pd.DataFrame:
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{path.name}: line {number} is not valid JSON ({exc.msg}). Each line must be one "
                'JSON object such as {"text": "...", "label": "..."}; fix or delete that line.'
            ) from None
        except RecursionError:
            raise DataError(
                f"{path.name}: line {number} nests objects or lists too deeply to read. Each line "
                'must be one flat JSON object such as {"text": "...", "label": "..."}.'
            ) from None
        if not isinstance(row, dict):
            raise DataError(
                f"{path.name}: line {number} is a JSON {type(row).__name__}, not an object. "
                'Each line must look like {"text": "...", "label": "..."}.'
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _nested_rows(frame: pd.DataFrame) -> dict[str, list[int]]:
    """Per column, the rows whose value is an object or a list (JSONL objects, Parquet structs,
    lists and maps) rather than a plain value."""
    out = {}
    for col in frame.columns:
        if frame[col].dtype != object:
            continue
        rows = [i for i, v in enumerate(frame[col]) if isinstance(v, dict | list | tuple | ndarray)]
        if rows:
            out[str(col).strip()] = rows
    return out


def _as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as a string; missing cells as ''."""
    return frame.astype(str).where(frame.notna(), "") if len(frame) else frame


HEAD_BYTES = 64 * 1024  # enough of the file to see its header line


def _read_frame(path: Path, kind: str, warnings: list[str]) -> pd.DataFrame:
    """The file as a frame, read straight from disk (no second copy of the whole file)."""
    if kind == "parquet":
        return pd.read_parquet(path)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        if kind == "jsonl":
            return _read_jsonl(path, fh)
        head = fh.read(HEAD_BYTES)
    header = head.split("\n", 1)[0]
    source = io.StringIO(head) if len(head) < HEAD_BYTES else path
    return _read_csv(path, source, header, warnings)


def _check_header(path: Path, columns: list[str]) -> None:
    seen: dict[str, int] = {}
    for number, name in enumerate(columns, start=1):
        if name in seen:
            raise DataError(
                f"{path.name}: the header names column '{name}' twice (columns {seen[name]} and "
                f"{number}, after trimming spaces). Rename one of them, then upload again."
            )
        seen[name] = number


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
    with open(path, "rb") as fh:
        if not fh.read(HEAD_BYTES).strip():
            raise DataError(
                f"{path.name}: the file is empty. Upload a file with a header and rows."
            )
    warnings: list[str] = []
    try:
        frame = _read_frame(path, kind, warnings)
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
    columns = [str(c).strip() for c in frame.columns]
    _check_header(path, columns)
    nested = _nested_rows(frame) if kind != "csv" else {}
    frame = _as_strings(frame) if kind != "csv" else frame
    frame.columns = columns
    return Table(path, frame.reset_index(drop=True), kind, warnings, nested)


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


# A label like `card_arrival`, `BILLING-2`, `5` or `refund`: one token, no spaces, short. A column
# of these is a set of classes however few rows each has (77 rows with 77 intents are classes
# with too few examples, not 77 free-text answers).
IDENTIFIER = re.compile(r"[A-Za-z0-9]+(?:[_.:/-][A-Za-z0-9]+)*")
IDENTIFIER_MAX_CHARS = 40


def identifier_like(values: Iterable[str]) -> bool:
    """True when every value is a short identifier (no spaces, at most 40 characters)."""
    values = list(values)
    return bool(values) and all(
        len(v) <= IDENTIFIER_MAX_CHARS and IDENTIFIER.fullmatch(v) for v in values
    )


def infer_task(labels: list[str]) -> Task:
    """Identifier-like or short, repeated labels mean classification; long or mostly unique
    outputs mean generation."""
    unique = set(labels)
    if identifier_like(unique):
        return "classification"
    mean_words = sum(len(x.split()) for x in unique) / max(len(unique), 1)
    if len(unique) <= max(2, 0.5 * len(labels)) and mean_words <= 6:
        return "classification"
    return "generation"


def inference_note(task: Task, labels: list[str], label_col: str) -> str:
    """One line saying how the task was inferred and the flag that overrides it."""
    unique = set(labels)
    other = "generation" if task == "classification" else "classification"
    why = (
        "identifier-like labels"
        if task == "classification" and identifier_like(unique)
        else ("short, repeated labels" if task == "classification" else "free-text outputs")
    )
    return (
        f"task: column '{label_col}' read as {task} ({len(unique):,} distinct {why} in "
        f"{len(labels):,} rows); pass --task {other} to override."
    )


def clean_columns(
    table: Table, text_col: str, label_col: str, max_chars: int = MAX_TEXT_CHARS
) -> tuple[list[str], list[str], list[str]]:
    """Texts and labels as stripped strings; empty cells are errors, overlong texts are truncated.

    Returns (texts, labels, warnings).
    """
    name = table.path.name
    for col in (text_col, label_col):
        if col in table.nested:
            rows = table.nested[col]
            where = ", ".join(table.row_name(i) for i in rows[:3])
            raise DataError(
                f"{name}: column '{col}' holds nested values (objects or lists) in {len(rows)} "
                f"row(s) ({where}). The text and the label must be plain strings: flatten that "
                "column, or pick another one."
            )
    # tolist() first: iterating an Arrow-backed column element by element is ~10x slower
    texts = [str(x).strip() for x in table.frame[text_col].tolist()]
    raw_labels = table.frame[label_col].tolist()
    labels = [str(x).strip() for x in raw_labels]
    for col, values in ((text_col, texts), (label_col, labels)):
        empty = [i for i, v in enumerate(values) if not v or v.lower() == "nan"]
        if empty:
            where = ", ".join(table.row_name(i) for i in empty[:5])
            more = f" and {len(empty) - 5} more" if len(empty) > 5 else ""
            raise DataError(
                f"{name}: column '{col}' is empty in {where}{more}. Fill in or delete those rows."
            )
    warnings = [*_merged_label_warning(name, label_col, raw_labels), *_nested_warning(table)]
    long_rows = [i for i, t in enumerate(texts) if len(t) > max_chars]
    if long_rows:
        texts = [t[:max_chars] for t in texts]
        where = ", ".join(table.row_name(i) for i in long_rows[:5])
        warnings.append(
            f"{name}: {len(long_rows)} text(s) in column '{text_col}' were longer than "
            f"{max_chars} characters and were truncated ({where})."
        )
    return texts, labels, warnings


def _merged_label_warning(name: str, label_col: str, raw: Iterable[object]) -> list[str]:
    """Labels that differ only by surrounding spaces (' 1' and '1') are one class after
    trimming; say which were merged."""
    variants: dict[str, set[str]] = {}
    for value in set(map(str, raw)):
        variants.setdefault(value.strip(), set()).add(value)
    merged = {k: v for k, v in variants.items() if len(v) > 1}
    if not merged:
        return []
    shown = "; ".join(
        " and ".join(repr(x) for x in sorted(v)) + f" -> {k!r}" for k, v in list(merged.items())[:3]
    )
    return [
        f"{name}: {len(merged)} label(s) in column '{label_col}' differ only by surrounding spaces "
        f"and were merged ({shown}). Fix the file if they are meant to be different classes."
    ]


def _nested_warning(table: Table) -> list[str]:
    """Other columns with nested values are not used; say so rather than stringify silently."""
    if not table.nested:
        return []
    cols = ", ".join(repr(c) for c in table.nested)
    return [
        f"{table.path.name}: column(s) {cols} hold nested values (objects or lists); they are "
        "not used for training or scoring."
    ]
