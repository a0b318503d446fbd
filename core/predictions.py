"""What a model's predictions on a user's file look like: the file's own rows and columns with
`pred` (and `confidence`) added, written as spreadsheet-safe CSV. One home for the app's batch
prediction, `python -m trainer predict` and `python -m rag_baseline.deploy predict`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.data import DataError, Table, detect_columns


def prediction_text_column(table: Table, own: str | None, text_col: str | None) -> str:
    """The column a model predicts on: the one asked for, else the model's own text column when
    the file has it, else the detected one; DataError naming the columns otherwise."""
    col = text_col or (own if own in table.frame.columns else None)
    if col is None:
        col, _ = detect_columns(table)
        if col is None:
            raise DataError(f"{table.path.name}: cannot tell the text column; use --text-col")
    if col not in table.frame.columns:
        raise DataError(
            f"{table.path.name}: no column '{col}' (columns: {', '.join(table.frame.columns)}); "
            "use --text-col"
        )
    return col


def with_predictions(model: Any, table: Table, text_col: str | None = None) -> pd.DataFrame:
    """Every row and column of the file as it came, `pred` (and `confidence`) added last; a name
    the file already uses gets `_model` appended. For any model with `.meta["text_col"]` and
    `.predict(texts)` giving answers with `.label` and `.confidence` (the app, both CLIs)."""
    own = (getattr(model, "meta", None) or {}).get("text_col")
    col = prediction_text_column(table, own, text_col)
    answers = model.predict([str(t).strip() for t in table.frame[col]])
    frame = table.frame.copy()
    frame["pred" if "pred" not in frame.columns else "pred_model"] = [a.label for a in answers]
    if answers and answers[0].confidence is not None:
        name = "confidence" if "confidence" not in frame.columns else "confidence_model"
        frame[name] = [a.confidence for a in answers]
    return frame


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A cell for a CSV a user may open in a spreadsheet: text that would start a formula
    (`=HYPERLINK(...)`, `+`, `-`, `@`, tab, CR) gets a leading apostrophe; numbers such as -1
    stay as they are, and so does everything that is not a string."""
    if not isinstance(value, str) or not value.startswith(FORMULA_START):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value


def csv_text(frame: pd.DataFrame) -> str:
    """The frame as CSV, every cell spreadsheet-safe (no formulas when opened in Excel)."""
    return frame.map(spreadsheet_safe).to_csv(index=False)
