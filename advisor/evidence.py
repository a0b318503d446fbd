"""What a measured accuracy rests on: its 95% interval and the rows it was measured on, and,
where two options were scored on the same held-out rows, the paired test between them.

    Evidence.from_dict({"intervals": {"fine_tune": {"low": 0.87, "high": 0.91, "n": 400}},
                        "paired": [{"a": "fine_tune", "b": "classifier", "a_only": 12,
                                    "b_only": 7, "n": 400, "p_value": 0.36}]})

A difference between two measured options is *within noise* when their paired test (McNemar,
core.metrics.mcnemar) gives p >= 0.05, or, with no paired test, when their intervals overlap.
`rows_to_settle` says how many held-out rows would tell a difference of the observed size apart
from noise. Pure Python (the normal quantiles come from `statistics`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import Any

ALPHA = 0.05  # two-sided significance level of every test here
POWER = 0.80  # the chance a study of `rows_to_settle` rows detects a real difference this size
OPTIONS = ("prompting", "rag", "classifier", "fine_tune")
MAX_ROWS = 10**9  # a cap on any row count read from outside


@dataclass(frozen=True)
class Interval:
    """95% interval of a measured accuracy; `n` held-out rows (None when not given)."""

    low: float
    high: float
    n: int | None = None


@dataclass(frozen=True)
class Paired:
    """Paired test of options `a` and `b` on the same `n` rows: `a_only` rows only a got
    right, `b_only` only b."""

    a: str
    b: str
    a_only: int
    b_only: int
    n: int
    p_value: float


@dataclass(frozen=True)
class Evidence:
    intervals: dict[str, Interval] = field(default_factory=dict)
    paired: tuple[Paired, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.intervals or self.paired)

    def between(self, x: str, y: str) -> Paired | None:
        """The paired test of x and y, oriented so that `a` is x."""
        for t in self.paired:
            if (t.a, t.b) == (x, y):
                return t
            if (t.a, t.b) == (y, x):
                return Paired(x, y, t.b_only, t.a_only, t.n, t.p_value)
        return None

    def only(self, options: set[str]) -> Evidence:
        """The evidence about `options` alone (a figure given elsewhere drops its evidence)."""
        return Evidence(
            {o: i for o, i in self.intervals.items() if o in options},
            tuple(t for t in self.paired if t.a in options and t.b in options),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"intervals": {o: asdict(i) for o, i in self.intervals.items()},
                "paired": [asdict(t) for t in self.paired]}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Any, where: str = "evidence") -> Evidence:
        """Validated evidence; ValueError naming the key. Accepts `to_dict()`'s shape."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping) or set(data) - {"intervals", "paired"}:
            raise ValueError(f"{where}: expected an object with 'intervals' and/or 'paired'")
        raw_i, raw_p = data.get("intervals") or {}, data.get("paired") or []
        if not isinstance(raw_i, Mapping) or not isinstance(raw_p, list) or len(raw_p) > 20:
            raise ValueError(f"{where}: 'intervals' must be an object, 'paired' a list (<= 20)")
        intervals = {_option(o, f"{where}.intervals"): _interval(v, f"{where}.intervals.{o}")
                     for o, v in raw_i.items()}  # fmt: skip
        paired = tuple(_paired(t, f"{where}.paired[{i}]") for i, t in enumerate(raw_p))
        return cls(intervals, paired)


def check_interval(option: str, accuracy: float, interval: Interval) -> None:
    """The interval must hold its point: ValueError naming the option otherwise."""
    if not interval.low <= accuracy <= interval.high:
        raise ValueError(
            f"measured_accuracy.{option}: {accuracy:g} lies outside its interval "
            f"{interval.low:g}-{interval.high:g}; give the interval that goes with it"
        )


def _option(o: Any, where: str) -> str:
    if o not in OPTIONS:
        raise ValueError(f"{where}: {o!r} is not an option; allowed: {', '.join(OPTIONS)}")
    return str(o)


def _fraction(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
        raise ValueError(f"{where}: must be a fraction 0-1 (got {v!r})")
    return float(v)


def _count(v: Any, where: str, lo: int = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= MAX_ROWS:
        raise ValueError(f"{where}: must be a whole number {lo}-{MAX_ROWS:,} (got {v!r})")
    return v


def _interval(v: Any, where: str) -> Interval:
    if isinstance(v, list | tuple) and len(v) == 2:  # [low, high], as core.metrics gives it
        v = {"low": v[0], "high": v[1]}
    if not isinstance(v, Mapping) or set(v) - {"low", "high", "n"}:
        raise ValueError(f"{where}: expected {{'low': .., 'high': .., 'n': ..}} or [low, high]")
    low, high = _fraction(v.get("low"), f"{where}.low"), _fraction(v.get("high"), f"{where}.high")
    if low > high:
        raise ValueError(f"{where}: low {low:g} is above high {high:g}")
    n = v.get("n")
    return Interval(low, high, None if n is None else _count(n, f"{where}.n", 1))


def _paired(t: Any, where: str) -> Paired:
    keys = {"a", "b", "a_only", "b_only", "n", "p_value"}
    if not isinstance(t, Mapping) or not keys <= set(t):
        raise ValueError(f"{where}: expected the keys {', '.join(sorted(keys))}")
    a, b = _option(t["a"], f"{where}.a"), _option(t["b"], f"{where}.b")
    if a == b:
        raise ValueError(f"{where}: a and b are both {a!r}; a paired test needs two options")
    a_only, b_only = _count(t["a_only"], f"{where}.a_only"), _count(t["b_only"], f"{where}.b_only")
    n = _count(t["n"], f"{where}.n", 1)
    if a_only + b_only > n:
        raise ValueError(f"{where}: a_only + b_only ({a_only + b_only}) exceed n ({n})")
    return Paired(a, b, a_only, b_only, n, _fraction(t["p_value"], f"{where}.p_value"))


def rows_to_settle(
    p10: float, p01: float, alpha: float = ALPHA, power: float = POWER
) -> int | None:
    """Held-out rows (pairs) a McNemar test needs to find a difference of this size significant
    (two-sided `alpha`) with probability `power`; p10 and p01 are the shares of rows only the
    first / only the second option gets right. None when they are equal (no size settles it).

        n = (z_{1-alpha/2} sqrt(psi) + z_{power} sqrt(psi - delta^2))^2 / delta^2,
        psi = p10 + p01 (discordant share), delta = p10 - p01

    Connor, R. J. (1987). Sample size for testing differences in proportions for the
    paired-sample design. Biometrics 43(1): 207-211, p. 209. (p10 = 0.05, p01 = 0.45 at
    alpha 0.05 and 80% power: 23 pairs.)
    """
    psi, delta = p10 + p01, p10 - p01
    if delta == 0 or not 0 < psi <= 1:
        return None
    z_a, z_b = NormalDist().inv_cdf(1 - alpha / 2), NormalDist().inv_cdf(power)
    n = (z_a * math.sqrt(psi) + z_b * math.sqrt(max(psi - delta**2, 0.0))) ** 2 / delta**2
    return math.ceil(n - 1e-9)


def rows_to_settle_unpaired(
    p1: float, p2: float, alpha: float = ALPHA, power: float = POWER
) -> int | None:
    """Rows per system to tell accuracies p1 and p2 apart when the two were not scored on the
    same rows (no paired test): the normal-approximation sample size for two independent
    proportions, n = (z_{1-alpha/2} + z_{power})^2 (p1 q1 + p2 q2) / (p1 - p2)^2 (Fleiss, Levin
    & Paik, Statistical Methods for Rates and Proportions, 3rd ed. 2003, ch. 4, without the
    continuity correction). None when p1 == p2."""
    if p1 == p2:
        return None
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    return math.ceil(z**2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p1 - p2) ** 2 - 1e-9)


def difference(
    ev: Evidence, better: str, other: str, acc: Mapping[str, float]
) -> dict[str, Any] | None:
    """Whether `better`'s measured advantage over `other` is significant: by their paired test,
    else by their intervals (overlap = within noise); None with neither. The dict holds
    points (percentage points), basis, p_value, n, significant, rows_needed."""
    points = round((acc[better] - acc[other]) * 100, 1)
    t = ev.between(better, other)
    if t is not None:
        needed = rows_to_settle(t.a_only / t.n, t.b_only / t.n)
        return {"better": better, "other": other, "points": points, "basis": "paired",
                "p_value": t.p_value, "n": t.n, "significant": t.p_value < ALPHA,
                "rows_needed": needed}  # fmt: skip
    i, j = ev.intervals.get(better), ev.intervals.get(other)
    if i is None or j is None:
        return None
    overlap = i.low <= j.high and j.low <= i.high
    return {"better": better, "other": other, "points": points, "basis": "intervals",
            "p_value": None, "n": i.n, "significant": not overlap,
            "rows_needed": rows_to_settle_unpaired(acc[better], acc[other])}  # fmt: skip
