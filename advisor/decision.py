"""The verdict: the cheapest option over the horizon that the rules allow and that meets the bar,
unless what it rests on is a guess, in which case the cheaper start and a measurement.

    allowed   = today's process (never ruled out) and the automated options no fired reason rules
                out (kind "rule": the article's "when not to"; kind "quality": tried and fell
                short, below the accuracy needed)
    cheapest  = the allowed option with the lowest expected cumulative cost at the horizon
    runner-up = the next one; `swap` holds the accuracy at which each would match the other
    measure_first = neither is measured and a swap accuracy lies inside its option's assumed
                range: the guess decides, so the verdict is the cheaper start of the two (by
                set-up, then its high case) and the output prices the measurement
    within noise  = the cheapest is measured and costlier to set up than a measured allowed
                option, and its lower cost rests on a higher accuracy whose difference is not
                significant (paired McNemar p >= 0.05; with no paired test, overlapping 95%
                intervals): the verdict stays with the cheaper set-up, and the reason says how
                many held-out rows would settle it (advisor.evidence)
    robust        = with the verdict's measured accuracy at its interval's low end and every
                other option's at its high end, the verdict still costs no more at the horizon
                (None when no measured figure has an interval)
The verdict gets a "cost" reason pointing to it, so it is never left unexplained and never
dominated on its own numbers by an option no reason rules out (except the runner-up while
measuring first, or a measured option whose lead is within noise; the reason names either).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from advisor.breakeven import Economics
from advisor.evidence import Evidence
from advisor.noise import held_by_noise, robustness
from advisor.rules import AUTOMATED, NAMES, RuleResult, Verdict

OPTIONS: tuple[Verdict, ...] = ("human", *AUTOMATED)


@dataclass(frozen=True)
class Decision:
    recommendation: Verdict
    excluded: dict[str, list[str]]  # option -> names of the reasons that rule it out
    fallback: str  # "" unless every automated option was ruled out
    cost_reason: RuleResult
    cheapest: Verdict = "human"
    runner_up: Verdict | None = None
    measure_first: bool = False
    swap: dict[str, Any] = field(default_factory=dict)
    noise: dict[str, Any] = field(default_factory=dict)  # advisor.noise: held, message, ...
    robust: bool | None = None  # the verdict holds across the measured intervals


def decide(econ: Economics, results: list[RuleResult], ev: Evidence | None = None) -> Decision:
    fired = [r for r in results if r.fired]
    excluded: dict[str, list[str]] = {o: [] for o in OPTIONS}
    for r in fired:
        if r.kind in ("rule", "quality"):
            for o in r.excludes:
                excluded.setdefault(o, []).append(r.rule)
    cost = {o: econ.horizon_cost(o).expected for o in OPTIONS}
    allowed = [o for o in OPTIONS if not excluded[o]]
    fallback = ""
    if allowed == ["human"]:
        fallback = "no automated option the article allows meets your bar: keep today's process"
    ranked = sorted(allowed, key=lambda o: (cost[o], OPTIONS.index(o)))
    cheapest, runner = ranked[0], (ranked[1] if len(ranked) > 1 else None)
    swap = swap_point(econ, cheapest, runner)
    first = bool(swap.get("inside_assumed")) and not swap.get("measured")
    rec = cheaper_start(econ, cheapest, runner) if first and runner else cheapest
    ev = ev or Evidence()
    noise = {} if first else held_by_noise(econ, ev, rec, allowed)
    if noise.get("held"):  # the swap now read against the lead the noise check held off
        swap = swap_point(econ, noise["verdict"], rec)
    rec = noise.get("verdict", rec)
    robust = robustness(econ, ev, rec, allowed)
    if robust["robust"] is not None:
        noise = {**noise, "robust_message": robust["robust_message"]}
    reason = _cost_reason(econ, rec, allowed, excluded, fallback, swap, first, noise)
    return Decision(rec, excluded, fallback, reason, cheapest, runner, first, swap, noise,
                    robust["robust"])  # fmt: skip


def swap_point(econ: Economics, a: str, b: str | None) -> dict[str, Any]:
    """For the cheapest option `a` and the runner-up `b`: the accuracy of each automated one
    at which the two cost the same at the horizon, and whether it lies inside its assumed
    range (the verdict then rests on a guess)."""
    if b is None:
        return {}
    points, inside = {}, False
    for o, other in ((a, b), (b, a)):
        if o == "human":
            continue
        x = econ.swap_accuracy(o, other)
        points[o] = x
        r, src = econ.acc(o), econ.accuracy[o].source
        if x is not None and src == "assumed" and r.low < r.high and r.low <= x <= r.high:
            inside = True
    measured = any(econ.accuracy[o].source == "measured" for o in (a, b) if o != "human")
    return {"verdict": a, "runner_up": b, "accuracy": points, "inside_assumed": inside,
            "measured": measured}  # fmt: skip


def cheaper_start(econ: Economics, a: Verdict, b: Verdict) -> Verdict:
    """The option with the lower set-up (then the lower worst case): less at risk while the
    measurement decides."""
    return min((a, b), key=lambda o: (econ.setup[o].expected, econ.setup[o].high, o != a))


def swap_text(econ: Economics, swap: Mapping[str, Any]) -> str:
    """'The small classifier would match prompting at 0.71 accuracy (assumed 0.70-0.92)'."""
    parts = []
    for o, x in (swap.get("accuracy") or {}).items():
        other = swap["runner_up"] if o == swap["verdict"] else swap["verdict"]
        r, src = econ.acc(o), econ.accuracy[o].source
        span = f"{src} {r.low:.2f}–{r.high:.2f}" if r.low < r.high else f"{src} {r.expected:.2f}"
        if x is None:
            parts.append(f"{_cap(NAMES[o])} and {NAMES[other]} do not swap at any accuracy")
        else:
            parts.append(f"{_cap(NAMES[o])} matches {NAMES[other]} at {x:.2f} accuracy ({span})")
    return "; ".join(parts)


def _cost_reason(
    econ: Economics,
    rec: str,
    allowed: list[str],
    excluded: Mapping[str, list[str]],
    fallback: str,
    swap: Mapping[str, Any],
    first: bool,
    noise: Mapping[str, Any],
) -> RuleResult:
    h = econ.horizon_months
    total, setup = econ.horizon_cost(rec).expected, econ.setup[rec].expected
    monthly = econ.monthly[rec].total.expected
    others = [
        f"{NAMES[o]} {_usd(econ.horizon_cost(o).expected)}{'' if o in allowed else ' (ruled out)'}"
        for o in OPTIONS
        if o != rec
    ]
    head = (
        f"Over {h} months {NAMES[rec]} costs {_usd(total)} (set-up {_usd(setup)}, then "
        f"{_usd(monthly)} a month)"
    )
    if first:
        cheapest = swap["verdict"]
        text = (
            f"{head}. Which of {NAMES[cheapest]} and {NAMES[swap['runner_up']]} is cheaper "
            "rests on assumed accuracy, so start with the cheaper set-up and measure first"
            + (f"; {NAMES[cheapest]} if the measurement confirms it." if cheapest != rec else ".")
        )
    elif noise.get("held"):
        text = f"{head}. {noise['message']}"
    elif fallback:
        text = f"{head}: {fallback}."
    elif len(allowed) == 1:
        text = f"{head}; it is the only option left."
    else:
        text = f"{head}, the least of the options allowed."
    text += f" Others: {', '.join(others)}."
    return RuleResult("cheapest_allowed", True, text, rec, rec, "for", (), "cost")  # type: ignore[arg-type]


def evidence(
    assumed: Verdict,
    measured_rec: Verdict,
    measured: Mapping[str, float],
    metric: str = "",
    sources: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """What the measured accuracy did to the verdict, in one sentence. `sources` names what
    measured an option (the classifier's figure is the best cheap baseline; RAG's may be kNN
    standing in as a proxy), so the sentence says which."""
    if not measured:
        return {"measured": {}, "changed": False, "assumed_recommendation": assumed,
                "message": ""}  # fmt: skip
    sources = sources or {}

    def part(o: str, v: float) -> str:
        name = _cap(NAMES[o]) if o != "rag" else "RAG"
        return f"{name} ({sources[o]}) {v:.2f}" if sources.get(o) else f"{name} {v:.2f}"

    parts = ", ".join(part(o, v) for o, v in measured.items())
    label = f"measured{' ' + metric if metric else ''}: {parts}"
    if measured_rec != assumed:
        msg = (
            f"{_cap(label)} → {NAMES[measured_rec]}. With the assumed accuracy "
            f"the verdict was {NAMES[assumed]}; the evidence on your data changed it."
        )
    else:
        msg = f"{_cap(label)} → the verdict stays {NAMES[measured_rec]}."
    return {"measured": dict(measured), "changed": measured_rec != assumed,
            "assumed_recommendation": assumed, "message": msg,
            "measured_by": {o: sources[o] for o in measured if sources.get(o)}}  # fmt: skip


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _usd(x: float) -> str:
    return f"${x:,.0f}"
