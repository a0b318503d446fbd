"""The evidence behind the advisor's measured figures (advisor.evidence): each option's 95%
interval and held-out rows, and the paired McNemar test of every two options measured on the
same rows (the trial against the best cheap baseline, against kNN as RAG's proxy, and the best
baseline against kNN), so a lead within noise does not buy a costlier set-up."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from typing import Any

from advisor.evidence import Evidence, Interval, Paired, check_interval
from core.metrics import mcnemar


def option_systems(task: str, best: str, keys: tuple[str, ...]) -> dict[str, str]:
    """Which system measured each advisor option: classification -> the classifier is the best
    cheap baseline, RAG's proxy is kNN; generation -> RAG's proxy is the best baseline."""
    if task == "generation":
        return {"rag": best, "fine_tune": "fine_tune"}
    out = {"classifier": best, "fine_tune": "fine_tune"}
    if "knn" in keys:
        out["rag"] = "knn"
    return out


def interval_of(block: Mapping[str, Any], metric: str, n: int | None) -> Interval | None:
    """`block[metric + "_ci95"]` as an Interval, or None where the block has none."""
    ci = block.get(f"{metric}_ci95") if isinstance(block, Mapping) else None
    ok = isinstance(ci, list | tuple) and len(ci) == 2
    if not ok or not all(isinstance(v, int | float) and 0 <= v <= 1 for v in ci):
        return None
    rows = block.get("n") if isinstance(block.get("n"), int) else n
    return Interval(float(ci[0]), float(ci[1]), rows if rows and rows > 0 else None)


def option_evidence(
    systems: Mapping[str, str],
    blocks: Mapping[str, Mapping[str, Any]],
    metric: str,
    correct: Mapping[str, list[bool]],
) -> Evidence:
    """Intervals from each system's metrics block; paired tests from per-row correctness on the
    rows every system scored (none where two options are the same system)."""
    n = len(next(iter(correct.values()), []))
    intervals = {}
    for option, key in systems.items():
        i = interval_of(blocks.get(key, {}), metric, n or None)
        if i is not None:
            intervals[option] = i
    paired = []
    for a, b in combinations(sorted(systems, key=_order), 2):
        ka, kb = systems[a], systems[b]
        if ka == kb or not n or ka not in correct or kb not in correct:
            continue
        t = mcnemar(correct[ka], correct[kb])
        paired.append(Paired(a, b, t["a_only"], t["b_only"], n, float(t["p_value"])))
    return Evidence(intervals, tuple(paired))


def holding(ev: Evidence, measured: Mapping[str, float]) -> Evidence:
    """Each interval widened, where rounding left it short, to hold its option's figure."""
    out = {}
    for o, i in ev.intervals.items():
        v = measured.get(o)
        out[o] = i if v is None else Interval(min(i.low, v), max(i.high, v), i.n)
    return Evidence(out, ev.paired)


def _order(option: str) -> int:
    return ("fine_tune", "classifier", "rag", "prompting").index(option)


def saved_evidence(
    comp: Any, split_id: str, measured: Mapping[str, float]
) -> dict[str, Any] | None:
    """The evidence a saved comparison.json holds for this split, about the options whose
    figure is still the one it measured (a re-run baseline drops what no longer matches);
    None when there is none."""
    if not isinstance(comp, Mapping) or comp.get("split_id") != split_id:
        return None
    saved, raw = comp.get("measured_accuracy"), comp.get("evidence")
    if not isinstance(saved, Mapping) or not isinstance(raw, Mapping):
        return None
    same = {o for o, v in measured.items() if saved.get(o) == v}
    try:
        ev = Evidence.from_dict(raw, "comparison.json evidence").only(same)
        for o, interval in ev.intervals.items():
            check_interval(o, measured[o], interval)
    except ValueError:  # a hand-edited file: the figures stand without their evidence
        return None
    return ev.to_dict()


def baseline_evidence(base: Mapping[str, Any], systems: Mapping[str, str], metric: str) -> Evidence:
    """Before any comparison: the intervals the baseline's results give its options."""
    n = base.get("n_test") if isinstance(base.get("n_test"), int) else None
    intervals = {}
    for option, key in systems.items():
        i = interval_of(base.get(key) or {}, metric, n)
        if i is not None:
            intervals[option] = i
    return Evidence(intervals)
