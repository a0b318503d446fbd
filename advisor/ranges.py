"""A low/expected/high triple of non-negative quantities with interval-style arithmetic.

Every cost in the advisor is a `Range`: `low` is the best case, `high` the worst case. Arithmetic
keeps that meaning when inputs pull in opposite directions (dividing by a larger MFU gives a
*smaller* time, so `a / b` pairs `a.low` with `b.high`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Number = float | int


def _as_range(x: Range | Number) -> Range:
    return x if isinstance(x, Range) else Range.point(float(x))


@dataclass(frozen=True)
class Range:
    low: float
    expected: float
    high: float

    def __post_init__(self) -> None:
        values = (self.low, self.expected, self.high)
        if any(math.isnan(v) for v in values):
            raise ValueError(f"range values must be numbers, got {values}")
        if not self.low <= self.expected <= self.high:
            raise ValueError(f"range must satisfy low <= expected <= high, got {values}")

    @staticmethod
    def point(x: Number) -> Range:
        return Range(float(x), float(x), float(x))

    def __add__(self, other: Range | Number) -> Range:
        o = _as_range(other)
        return Range(self.low + o.low, self.expected + o.expected, self.high + o.high)

    __radd__ = __add__

    def __sub__(self, other: Range | Number) -> Range:
        # Worst case of a difference: smallest minuend minus largest subtrahend.
        o = _as_range(other)
        return Range(self.low - o.high, self.expected - o.expected, self.high - o.low)

    def __mul__(self, other: Range | Number) -> Range:
        # Only used for non-negative quantities (costs, rates, counts), so bounds pair directly.
        o = _as_range(other)
        return Range(self.low * o.low, self.expected * o.expected, self.high * o.high)

    __rmul__ = __mul__

    def __truediv__(self, other: Range | Number) -> Range:
        o = _as_range(other)
        if o.low <= 0:
            raise ZeroDivisionError("division by a range that reaches zero")
        return Range(self.low / o.high, self.expected / o.expected, self.high / o.low)

    def complement(self) -> Range:
        """1 - x for a fraction: a high accuracy gives a low error rate."""
        return Range(1.0 - self.high, 1.0 - self.expected, 1.0 - self.low)

    def clamp(self, lo: float | None = None, hi: float | None = None) -> Range:
        def c(v: float) -> float:
            if lo is not None:
                v = max(v, lo)
            if hi is not None:
                v = min(v, hi)
            return v

        return Range(c(self.low), c(self.expected), c(self.high))

    def scale(self, factor: float) -> Range:
        return Range(self.low * factor, self.expected * factor, self.high * factor)

    def to_dict(self, ndigits: int | None = 2) -> dict[str, float]:
        vals = (self.low, self.expected, self.high)
        if ndigits is not None:
            vals = tuple(round(v, ndigits) for v in vals)
        return dict(zip(("low", "expected", "high"), vals, strict=True))
