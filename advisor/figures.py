"""One figure of the assumptions: a number or range, or a list of names, with unit and source.

A figure is parsed from a TOML table (see advisor/assumptions.toml) and patched by user
overrides; every error names the figure's dotted key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from advisor.ranges import Range

NUMBER_FIELDS = ("low", "expected", "high")
TEXT_FIELDS = ("label", "source", "as_of", "note")
# What a user may set on a figure; unit and bounds belong to the model and stay fixed.
PATCH_FIELDS = ("value", "items", *NUMBER_FIELDS, *TEXT_FIELDS)
FILE_FIELDS = (*PATCH_FIELDS, "unit", "max", "positive")
USER_SOURCE = "User override"


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str
    source: str
    as_of: str
    low: float = 0.0
    expected: float = 0.0
    high: float = 0.0
    items: tuple[str, ...] | None = None
    note: str = ""
    max: float | None = None
    positive: bool = False

    @property
    def is_list(self) -> bool:
        return self.items is not None

    @property
    def range(self) -> Range:
        return Range(self.low, self.expected, self.high)

    @property
    def is_range(self) -> bool:
        return not self.is_list and self.low < self.high

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form; `Assumptions.from_dict` reads it back."""
        out: dict[str, Any] = {"label": self.label, "unit": self.unit}
        if self.is_list:
            out["items"] = list(self.items or ())
        else:
            out.update(low=self.low, expected=self.expected, high=self.high)
        out.update(source=self.source, as_of=self.as_of, note=self.note)
        return out

    def validate(self) -> None:
        k = self.key
        for name in ("unit", "source", "as_of"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ValueError(f"{k}: '{name}' must be a non-empty text")
        if self.is_list:
            if not all(isinstance(i, str) and i for i in self.items or ()):
                raise ValueError(f"{k}: value must be a list of non-empty names")
            return
        for name in NUMBER_FIELDS:
            v = getattr(self, name)
            if not _finite(v):
                raise ValueError(f"{k}: {name} must be a finite number (got {_short(v)})")
            if v < 0 or (self.positive and v <= 0):
                raise ValueError(f"{k}: {name} must be {'> 0' if self.positive else '>= 0'}")
            if self.max is not None and v > self.max:
                raise ValueError(f"{k}: {name} must be <= {self.max:g} (got {v:g})")
        if not self.low <= self.expected <= self.high:
            raise ValueError(
                f"{k}: needs low <= expected <= high "
                f"(got {self.low:g}, {self.expected:g}, {self.high:g})"
            )


def parse_figure(key: str, table: dict[str, Any], label: str | None = None) -> Figure:
    """Read one figure table of the data file."""
    for name in table:
        if name not in FILE_FIELDS:
            raise ValueError(f"{key}: unknown field '{name}'; allowed: {', '.join(FILE_FIELDS)}")
    for name in ("unit", "source", "as_of"):
        if name not in table:
            raise ValueError(f"{key}: missing '{name}'")
    base = Figure(
        key=key,
        label=str(table.get("label") or label or key),
        unit=table["unit"],
        source=table["source"],
        as_of=str(table["as_of"]),
        max=table.get("max"),
        positive=bool(table.get("positive", False)),
        items=() if isinstance(table.get("value"), list) else None,
    )
    numbers = {k: v for k, v in table.items() if k in ("value", "items", *NUMBER_FIELDS)}
    if "value" not in numbers and set(numbers) != set(NUMBER_FIELDS):
        raise ValueError(f"{key}: needs 'value', or all of 'low', 'expected' and 'high'")
    fig = apply_patch(base, {**numbers, "note": table.get("note", "")}, mark_user=False)
    return fig


def apply_patch(fig: Figure, patch: Any, mark_user: bool = True) -> Figure:
    """Return `fig` changed by `patch`: a number, a list of names, or a dict of PATCH_FIELDS.

    A changed number without its own `source` is marked as a user override dated today. Setting
    only `expected` outside [low, high] widens the range to include it.
    """
    k = fig.key
    if not isinstance(patch, dict):
        patch = {"value": patch}
    for name in patch:
        if name not in PATCH_FIELDS:
            raise ValueError(
                f"{k}.{name}: cannot be overridden; allowed: {', '.join(PATCH_FIELDS)}"
            )
    changes: dict[str, Any] = {n: patch[n] for n in TEXT_FIELDS if n in patch}
    if isinstance(changes.get("as_of"), date):  # TOML may hold an unquoted date
        changes["as_of"] = changes["as_of"].isoformat()
    for n, v in changes.items():
        if not isinstance(v, str):
            raise ValueError(f"{k}.{n}: must be text (got {v!r})")
    value = patch.get("value", patch.get("items"))
    if isinstance(value, list | tuple):
        if not fig.is_list:
            raise ValueError(f"{k}: expects a number, got a list")
        changes["items"] = tuple(value)
    elif value is not None:
        if fig.is_list:
            raise ValueError(f"{k}: expects a list of names (got {value!r})")
        _check_number(k, value)
        changes.update(low=value, expected=value, high=value)
    for name in NUMBER_FIELDS:
        if name in patch:
            if fig.is_list:
                raise ValueError(f"{k}: expects a list of names, not '{name}'")
            _check_number(f"{k}.{name}", patch[name])
            changes[name] = patch[name]
    if set(patch) - set(TEXT_FIELDS) == {"expected"}:
        e = patch["expected"]
        changes.update(low=min(fig.low, e), high=max(fig.high, e))
    numbers_changed = any(
        n in changes and changes[n] != getattr(fig, n) for n in (*NUMBER_FIELDS, "items")
    )
    if mark_user and numbers_changed and "source" not in patch:
        changes.update(source=USER_SOURCE, as_of=date.today().isoformat())
    new = replace(fig, **{n: float(v) if n in NUMBER_FIELDS else v for n, v in changes.items()})
    new.validate()
    return new


def _check_number(key: str, v: Any) -> None:
    if not _finite(v):
        raise ValueError(f"{key}: must be a finite number (got {_short(v)})")


def _finite(v: Any) -> bool:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    try:
        return math.isfinite(float(v))  # a 400-digit integer overflows here
    except OverflowError:
        return False


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."
