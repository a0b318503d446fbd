"""Assumptions as an editable table, and the edited table back to advisor overrides. Pure."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from advisor import Assumptions

NUMBERS = ("low", "expected", "high")
COLUMNS = ("key", "label", *NUMBERS, "unit", "source", "as_of")


def table(current: Assumptions) -> pd.DataFrame:
    """One row per numeric figure (lists of names are not edited here)."""
    rows = [
        {c: r.get(c) for c in COLUMNS}
        for r in current.rows()
        if "items" not in r  # list figures (task names) are rules, not numbers
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def overrides_from(edited: pd.DataFrame, base: Assumptions, previous: dict[str, Any]) -> dict:
    """Overrides that turn `base` into the edited table (numbers only), on top of `previous`.

    A row edited back to the packaged figure drops its override. Raises ValueError naming the
    figure when a cell is empty or not a number; range checks are left to the advisor.
    """
    out = dict(previous)
    for row in edited.to_dict("records"):
        key = row["key"]
        values = {}
        for name in NUMBERS:
            v = row.get(name)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                raise ValueError(f"{key}: '{name}' is empty; enter a number")
            try:
                values[name] = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"{key}: '{name}' must be a number (got {v!r})") from None
        fig = base.figures.get(key)
        if fig is not None and all(math.isclose(values[n], getattr(fig, n)) for n in NUMBERS):
            out.pop(key, None)
        else:
            out[key] = values
    return out
