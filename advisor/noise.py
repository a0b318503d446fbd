"""Does a measured difference decide the verdict, or is it within noise? (advisor.decision)

    held_by_noise  the cheapest option at the measured points is costlier to set up than a
                   measured allowed option, and it is cheaper over the horizon only because it is
                   more accurate: when that difference is not significant (advisor.evidence),
                   the verdict stays with the cheaper set-up and the message says how many
                   held-out rows would settle it
    robustness     whether the verdict still costs the least with its own measured accuracy at
                   its interval's low end and every other option's at its high end

Horizon cost is linear in an option's accuracy (`Economics.accuracy_slope`), so the cost at
another accuracy needs no second run of the cost model. Pure Python.
"""

from __future__ import annotations

from typing import Any

from advisor.breakeven import Economics
from advisor.evidence import Evidence, difference
from advisor.rules import AUTOMATED, NAMES


def cost_at_accuracy(econ: Economics, option: str, accuracy: float) -> float:
    """Expected horizon cost of `option` were its accuracy `accuracy` (others unchanged)."""
    base = econ.horizon_cost(option).expected
    if option == "human":
        return base
    return base + econ.accuracy_slope(option) * (econ.acc(option).expected - accuracy)


def measured(econ: Economics) -> dict[str, float]:
    return {o: econ.acc(o).expected for o in AUTOMATED if econ.accuracy[o].source == "measured"}


def held_by_noise(econ: Economics, ev: Evidence, rec: str, allowed: list[str]) -> dict[str, Any]:
    """{} when the verdict `rec` stands; else the within-noise finding with `held`: True,
    `verdict` (the cheaper set-up kept), the test's figures, `message` and `why_not`. With a
    significant difference the finding is returned with `held`: False (for the page's line)."""
    acc = measured(econ)
    if rec not in acc or not ev:
        return {}
    cost = {o: econ.horizon_cost(o).expected for o in allowed}
    noisy, significant = [], []
    for o in allowed:
        if o == rec or o not in acc or acc[rec] <= acc[o]:
            continue
        if econ.setup[o].expected >= econ.setup[rec].expected:
            continue  # not a cheaper start: no money held back by waiting
        if cost_at_accuracy(econ, rec, acc[o]) < cost[o]:
            continue  # cheaper even at no difference: the lead does not rest on accuracy
        d = difference(ev, rec, o, acc)
        if d is not None:
            (significant if d["significant"] else noisy).append((cost[o], o, d))
    if not (noisy or significant):
        return {}
    _, o, d = min(noisy or significant, key=lambda f: f[0])  # the cheapest kept start
    if d["significant"]:
        return {**d, "held": False, "message": _significant_text(d)}
    return {**d, "held": True, "verdict": o, "message": _noise_text(d),
            "why_not": f"cheapest within noise: its lead over {NAMES[o]} is not significant; "
                       "measure on more held-out rows"}  # fmt: skip


def robustness(econ: Economics, ev: Evidence, rec: str, allowed: list[str]) -> dict[str, Any]:
    """{"robust": True/False (None without intervals), "robust_message": one sentence}."""
    acc = measured(econ)
    ends = {o: (i.low, i.high) for o, i in ev.intervals.items() if o in acc}
    if not ends:
        return {"robust": None, "robust_message": ""}

    def at(o: str, k: int) -> float:  # k: 0 = the interval's low end, 1 = its high end
        return cost_at_accuracy(econ, o, ends[o][k]) if o in ends else cost_at(o)

    def cost_at(o: str) -> float:
        return econ.horizon_cost(o).expected

    worst = at(rec, 0)
    beaten = sorted((worst - at(o, 1), o) for o in allowed if o != rec and at(o, 1) < worst)
    if not beaten:
        return {"robust": True, "robust_message": "The verdict holds across the 95% intervals: "
                f"even with {_acc_end(rec, ends, 0)} and the others at their best, "
                f"{NAMES[rec]} costs the least over {econ.horizon_months} months."}  # fmt: skip
    gap, o = beaten[-1]
    return {"robust": False, "robust_message": "The verdict does not hold across the 95% "
            f"intervals: with {_acc_end(rec, ends, 0)} and {_acc_end(o, ends, 1)}, {NAMES[o]} "
            f"would cost ${gap:,.0f} less over {econ.horizon_months} months."}  # fmt: skip


def _acc_end(o: str, ends: dict[str, tuple[float, float]], k: int) -> str:
    if o not in ends:
        return f"{NAMES[o]} as measured"
    return f"{NAMES[o]} at {ends[o][k]:.2f} ({'low' if k == 0 else 'high'} end)"


def _test_text(d: dict[str, Any]) -> str:
    if d["basis"] == "paired":
        return f"McNemar p = {d['p_value']:.2f} on {d['n']:,} held-out rows"
    return "their 95% intervals overlap" if not d["significant"] else "their intervals are apart"


def _noise_text(d: dict[str, Any]) -> str:
    """'Fine-tuning's +1.2 points over the small classifier are within noise (McNemar p =
    0.22 on 400 held-out rows), so ...; about 2,900 held-out rows would settle ...'."""
    better, other = NAMES[d["better"]], NAMES[d["other"]]
    text = (
        f"{_cap(better)}'s {d['points']:+.1f} points over {other} are within noise "
        f"({_test_text(d)}), so the verdict stays with the cheaper set-up, {other}"
    )
    n = d.get("rows_needed")
    if n is not None:
        each = "" if d["basis"] == "paired" else " per system"
        text += (f"; measure on more held-out rows: about {n:,} rows{each} would settle a "
                 "difference this size (p < 0.05, 80% power)")  # fmt: skip
    return text + "."


def _significant_text(d: dict[str, Any]) -> str:
    better, other = NAMES[d["better"]], NAMES[d["other"]]
    return (
        f"{_cap(better)}'s {d['points']:+.1f} points over {other} are significant "
        f"({_test_text(d)}): its lower cost over the horizon stands."
    )


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
