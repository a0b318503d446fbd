"""The verdict: the cheapest option over the horizon that the rules allow and that meets the bar.

    allowed   = automated options no fired rule rules out (kind "rule": the article's "when not
                to", the budget) and no quality reason rules out (tried and fell short, below the
                accuracy needed)
    verdict   = the allowed option with the lowest expected cumulative cost at the horizon
If nothing is allowed, the quality exclusions are relaxed first (the cheapest option the article
allows, flagged: nothing meets your bar), then the rules (the cheapest option of all, flagged).
Either way the verdict gets a "cost" reason pointing to it, so it is never left unexplained and
never dominated on its own numbers by an option no reason rules out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from advisor.breakeven import Economics
from advisor.rules import AUTOMATED, NAMES, RuleResult, Verdict


@dataclass(frozen=True)
class Decision:
    recommendation: Verdict
    excluded: dict[str, list[str]]  # option -> names of the reasons that rule it out
    fallback: str  # "" when the verdict met every rule; else what was relaxed, in words
    cost_reason: RuleResult


def decide(econ: Economics, results: list[RuleResult]) -> Decision:
    fired = [r for r in results if r.fired]
    excluded: dict[str, list[str]] = {o: [] for o in AUTOMATED}
    for r in fired:
        for o in r.excludes:
            excluded.setdefault(o, []).append(r.rule)

    def out_by(kinds: tuple[str, ...]) -> set[str]:
        return {o for r in fired if r.kind in kinds for o in r.excludes}

    cost = {o: econ.horizon_cost(o).expected for o in AUTOMATED}
    fallback = ""
    allowed = [o for o in AUTOMATED if o not in out_by(("rule", "quality"))]
    if not allowed:
        allowed = [o for o in AUTOMATED if o not in out_by(("rule",))]
        fallback = "no option the article allows meets your quality bar; this is the cheapest"
    if not allowed:
        allowed = list(AUTOMATED)
        fallback = "every option is ruled out by some rule; this is the cheapest of them all"
    rec: Verdict = min(allowed, key=lambda o: (cost[o], AUTOMATED.index(o)))
    return Decision(rec, excluded, fallback, _cost_reason(econ, rec, allowed, excluded, fallback))


def _cost_reason(
    econ: Economics,
    rec: str,
    allowed: list[str],
    excluded: Mapping[str, list[str]],
    fallback: str,
) -> RuleResult:
    h = econ.horizon_months
    total, setup = econ.horizon_cost(rec).expected, econ.setup[rec].expected
    monthly = econ.monthly[rec].total.expected
    others = []
    for o in AUTOMATED:
        if o == rec:
            continue
        note = "" if o in allowed else " (ruled out)"
        others.append(f"{NAMES[o]} {_usd(econ.horizon_cost(o).expected)}{note}")
    head = (
        f"Over {h} months {NAMES[rec]} costs {_usd(total)} (set-up {_usd(setup)}, then "
        f"{_usd(monthly)} a month)"
    )
    if fallback:
        text = f"{head}: {fallback}. Others: {', '.join(others)}."
    elif len(allowed) == 1:
        text = f"{head}; it is the only option left. Others: {', '.join(others)}."
    else:
        text = f"{head}, the least of the options allowed. Others: {', '.join(others)}."
    human = econ.horizon_cost("human").expected
    if human < total:
        text += f" Today's process would cost {_usd(human)}: automation does not pay back within {h} months."  # noqa: E501
    return RuleResult("cheapest_allowed", True, text, rec, rec, "for", (), "cost")  # type: ignore[arg-type]


def evidence(
    assumed: Verdict,
    measured_rec: Verdict,
    measured: Mapping[str, float],
    metric: str = "",
    sources: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """What the measured accuracy did to the verdict, in one sentence. `sources` names what
    measured an option (the RAG option's figure may come from a linear probe or TF-IDF model,
    whichever cheap baseline cross-validation picked), so the sentence says which."""
    if not measured:
        return {"measured": {}, "changed": False, "assumed_recommendation": assumed,
                "message": ""}  # fmt: skip
    sources = sources or {}

    def part(o: str, v: float) -> str:
        name = NAMES[o] if o != "rag" else "RAG"
        return f"{name} ({sources[o]}) {v:.2f}" if sources.get(o) else f"{name} {v:.2f}"

    parts = ", ".join(part(o, v) for o, v in measured.items())
    label = f"measured{' ' + metric if metric else ''}: {parts}"
    if measured_rec != assumed:
        msg = (
            f"{label[0].upper()}{label[1:]} → {NAMES[measured_rec]}. With the assumed accuracy "
            f"the verdict was {NAMES[assumed]}; the evidence on your data changed it."
        )
    else:
        msg = f"{label[0].upper()}{label[1:]} → the verdict stays {NAMES[measured_rec]}."
    return {"measured": dict(measured), "changed": measured_rec != assumed,
            "assumed_recommendation": assumed, "message": msg,
            "measured_by": {o: sources[o] for o in measured if sources.get(o)}}  # fmt: skip


def _usd(x: float) -> str:
    return f"${x:,.0f}"
