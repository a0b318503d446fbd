"""A measured lead within noise does not buy a costlier set-up (advisor.noise, advisor.evidence):
the verdict keeps the cheaper option and says how many rows would settle it; a significant lead
flips it as before; `robust` says whether the verdict holds across the 95% intervals; the CLI
takes the intervals and rejects malformed ones in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from advisor import estimate
from advisor.evidence import Evidence, rows_to_settle, rows_to_settle_unpaired
from advisor.text import evidence_line

from .test_cli import answers_file, assert_clean_failure, run  # noqa: F401  (fixture)
from .test_hostile import NEGATIVE_MONEY

# docs/advice.md's worked example: a ticket router; the small classifier sets up for $3,000,
# fine-tuning for $15,007, and at 0.85 against 0.90 fine-tuning is cheaper over 36 months.
ROUTER = {"task_type": "classification", "n_classes": 8, "monthly_volume": 20000,
          "labeled_examples": 5000, "human_minutes_per_item": 3.0, "stage": "production",
          "tried_prompting": True, "tried_rag": True, "data_change": "yearly",
          "total_budget_usd": 100000}  # fmt: skip
MEASURED = {"classifier": 0.85, "fine_tune": 0.90}
INTERVALS = {"classifier": {"low": 0.80, "high": 0.90, "n": 200},
             "fine_tune": {"low": 0.86, "high": 0.94, "n": 200}}  # fmt: skip


def paired(a_only: int, b_only: int, n: int = 200) -> dict:
    """The trial against the classifier on the same n rows, with McNemar's p as core.metrics
    computes it (chi-square with continuity correction from 25 discordant rows)."""
    from core.metrics import mcnemar

    a = [True] * a_only + [False] * b_only + [True] * (n - a_only - b_only)
    b = [False] * a_only + [True] * b_only + [True] * (n - a_only - b_only)
    p = mcnemar(a, b)["p_value"]
    return {"a": "fine_tune", "b": "classifier", "a_only": a_only, "b_only": b_only, "n": n,
            "p_value": p}  # fmt: skip


def report(evidence: dict | None) -> dict:
    return estimate(ROUTER, measured_accuracy=MEASURED, measured_evidence=evidence).to_dict()


def test_at_the_points_alone_fine_tuning_is_cheaper():
    d = report(None)
    assert d["recommendation"] == "fine_tune"  # today's behaviour without evidence
    assert d["robust"] is None and d["noise"] == {}


def test_a_lead_within_noise_keeps_the_cheaper_set_up():
    t = paired(22, 12)  # +5 points on 200 rows: McNemar p = 0.12
    assert 0.05 < t["p_value"] < 0.2
    d = report({"intervals": INTERVALS, "paired": [t]})
    assert d["recommendation"] == "classifier"
    assert d["cheapest_at_horizon"] == "fine_tune"
    noise = d["noise"]
    assert noise["held"] and noise["basis"] == "paired" and noise["points"] == 5.0
    n = rows_to_settle(22 / 200, 12 / 200)
    assert noise["rows_needed"] == n and n > 200
    reason = d["reasons"][-1]["message"]
    assert "within noise" in reason and f"p = {t['p_value']:.2f}" in reason
    assert f"about {n:,} rows would settle a difference this size" in reason
    assert d["options"]["fine_tune"]["why_not"].startswith("cheapest within noise")
    # the classifier at its low end, the trial at its high end: the trial would be cheaper
    assert d["robust"] is False and "does not hold" in noise["robust_message"]
    assert evidence_line(d).startswith("Noise check: Fine-tuning's +5.0 points")
    # where the verdict would change: the held verdict against the lead it held off
    assert (d["swap"]["verdict"], d["swap"]["runner_up"]) == ("classifier", "fine_tune")
    assert "$-" not in estimate(ROUTER, measured_accuracy=MEASURED,
                                measured_evidence={"paired": [t]}).summary()  # fmt: skip


def test_a_significant_lead_flips_the_verdict():
    t = paired(24, 4)  # +10 points: p < 0.001
    d = estimate(ROUTER, measured_accuracy={"classifier": 0.85, "fine_tune": 0.95},
                 measured_evidence={"paired": [t]}).to_dict()  # fmt: skip
    assert t["p_value"] < 0.05
    assert d["recommendation"] == "fine_tune"
    assert d["noise"]["held"] is False and "significant" in d["noise"]["message"]
    assert d["robust"] is None  # no intervals given


@pytest.mark.parametrize(
    ("intervals", "expected"),
    [(INTERVALS, "classifier"),  # 0.80-0.90 and 0.86-0.94 overlap
     ({"classifier": [0.83, 0.87], "fine_tune": [0.88, 0.92]}, "fine_tune")],
)  # fmt: skip
def test_without_a_paired_test_the_intervals_decide(intervals, expected):
    d = report({"intervals": intervals})
    assert d["recommendation"] == expected
    assert d["noise"]["basis"] == "intervals"
    if expected == "classifier":
        assert "their 95% intervals overlap" in d["reasons"][-1]["message"]
        assert (
            f"about {rows_to_settle_unpaired(0.90, 0.85):,} rows per system"
            in (d["reasons"][-1]["message"])
        )


def test_robust_when_the_verdict_holds_at_every_interval_end():
    narrow = {"intervals": {"classifier": [0.79, 0.81], "fine_tune": [0.94, 0.96]}}
    measured = {"classifier": 0.80, "fine_tune": 0.95}
    d = estimate(ROUTER, measured_accuracy=measured, measured_evidence=narrow).to_dict()
    assert d["recommendation"] == "fine_tune" and d["robust"] is True
    assert "holds across the 95% intervals" in d["noise"]["robust_message"]


def test_evidence_about_unmeasured_options_is_ignored_and_bad_evidence_named():
    d = estimate(ROUTER, measured_accuracy={"classifier": 0.85},
                 measured_evidence={"intervals": {"fine_tune": [0.1, 0.2]}}).to_dict()  # fmt: skip
    assert d["robust"] is None
    with pytest.raises(ValueError, match="measured_accuracy.fine_tune: 0.9 lies outside"):
        report({"intervals": {"fine_tune": [0.91, 0.95]}})
    bad = [({"intervals": {"tfidf": [0.1, 0.2]}}, "tfidf"),
           ({"intervals": {"rag": [0.5, 0.4]}}, "low 0.5 is above high 0.4"),
           ({"paired": [{**paired(3, 2), "a_only": 300}]}, "exceed n"),
           ({"paired": [{"a": "rag"}]}, "expected the keys"),
           ({"other": 1}, "expected an object")]  # fmt: skip
    for raw, words in bad:
        with pytest.raises(ValueError, match=words):
            Evidence.from_dict(raw)


def test_rows_to_settle_a_known_case():
    """Connor (1987)'s McNemar sample size: p10 = 0.05, p01 = 0.45, alpha 0.05, 80% power:
    23 pairs (the figure standard calculators give for this case)."""
    assert rows_to_settle(0.05, 0.45) == 23 == rows_to_settle(0.45, 0.05)
    assert rows_to_settle(0.1, 0.1) is None
    # two independent proportions 0.85 and 0.90: (1.96 + 0.8416)^2 (0.1275 + 0.09) / 0.05^2
    assert rows_to_settle_unpaired(0.90, 0.85) == 683


def test_rows_to_settle_gives_the_power_it_promises():
    """Simulated studies of that many rows reject at p < 0.05 about 80% of the time (McNemar's
    z-test the formula assumes)."""
    p10, p01 = 0.08, 0.03
    n = rows_to_settle(p10, p01)
    rng = np.random.default_rng(0)
    cells = rng.multinomial(n, [p10, p01, 1 - p10 - p01], size=20000)
    b, c = cells[:, 0], cells[:, 1]
    z = np.abs(b - c) / np.sqrt(np.maximum(b + c, 1))
    power = float((2 * stats.norm.sf(z) < 0.05).mean())
    assert 0.77 < power < 0.83, (n, power)


def test_cli_takes_intervals_and_an_evidence_file(answers_file, tmp_path):  # noqa: F811
    path = answers_file(ROUTER)
    ok = run("estimate", path, "--json", "--measured", "classifier=0.85,0.80-0.90",
             "--measured", "fine_tune=0.90,0.86-0.94")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["recommendation"] == "classifier" and out["robust"] is False
    plain = run("estimate", path, "--json", "--measured", "classifier=0.85",
                "--measured", "fine_tune=0.90")  # fmt: skip
    assert json.loads(plain.stdout)["recommendation"] == "fine_tune"
    ev = tmp_path / "comparison.json"
    ev.write_text(json.dumps({"evidence": {"paired": [paired(22, 12)]}}))
    r = run("estimate", path, "--measured", "classifier=0.85", "--measured", "fine_tune=0.90",
            "--evidence", str(ev))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Recommendation: the small classifier")
    assert "Noise check: Fine-tuning's +5.0 points" in r.stdout


@pytest.mark.parametrize(
    ("value", "words"),
    [("fine_tune=0.89,0.91", "OPTION=ACCURACY,LOW-HIGH"),
     ("fine_tune=0.89,0.8-x", "OPTION=ACCURACY,LOW-HIGH"),
     ("fine_tune=0.89,0.90-0.95", "must hold the accuracy"),
     ("fine_tune=0.89,0.80-1.5", "must hold the accuracy"),
     ("fine_tune=high", "e.g. rag=0.91")],
)  # fmt: skip
def test_bad_measured_syntax_is_one_line_and_exit_2(answers_file, value, words):  # noqa: F811
    r = run("estimate", answers_file(ROUTER), "--measured", value)
    assert_clean_failure(r, "--measured", words)


def test_bad_evidence_file_is_one_line_and_exit_2(answers_file, tmp_path):  # noqa: F811
    bad = tmp_path / "ev.json"
    bad.write_text(json.dumps({"paired": [{**paired(3, 2), "p_value": 7}]}))
    r = run("estimate", answers_file(ROUTER), "--measured", "fine_tune=0.9",
            "--evidence", str(bad))  # fmt: skip
    assert_clean_failure(r, "p_value", "fraction")


def test_docs_noise_example_matches_the_code():
    """docs/advice.md's noise example: every figure it quotes comes out of the advisor."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "advice.md"
    text = " ".join(doc.read_text().split())
    args = "--measured classifier=0.85,0.80-0.90 --measured fine_tune=0.90,0.86-0.94"
    assert args in text
    d = report({"intervals": {"classifier": [0.80, 0.90], "fine_tune": [0.86, 0.94]}})
    assert d["recommendation"] == "classifier" and d["robust"] is False
    for o in ("classifier", "fine_tune"):
        o_ = d["options"][o]
        assert f"${o_['horizon_usd']['expected']:,.0f}" in text
        assert f"${o_['setup_usd']['expected']:,.0f} to set up" in text or (
            f"against ${o_['setup_usd']['expected']:,.0f})" in text
        )
    assert d["noise"]["message"].split(", so")[0] in text
    assert f"about {d['noise']['rows_needed']:,} rows per system" in text
    gap = d["noise"]["robust_message"].split("would cost ")[1].split(" less")[0]
    assert f"would cost {gap} less" in text
    t = paired(22, 12)
    assert f"p = {t['p_value']:.2f}: still within noise, and about " in text
    assert f"about {rows_to_settle(22 / 200, 12 / 200):,} rows would settle it" in text
    assert report({"paired": [t]})["recommendation"] == "classifier"
    assert paired(24, 4)["p_value"] < 0.001


ACC = st.floats(0.5, 0.99).map(lambda v: round(v, 3))
ANSWERS = st.builds(
    lambda v, m, t: {**ROUTER, "monthly_volume": v, "human_minutes_per_item": m, "task_type": t},
    st.integers(500, 200_000),
    st.floats(0.2, 20.0),
    st.sampled_from(["classification", "extraction", "style"]),
)


@settings(max_examples=60, deadline=None)
@given(answers=ANSWERS, cls=ACC, ft=ACC, rag=ACC, p=st.sampled_from([0.001, 0.04, 0.2, 0.7]))
def test_evidence_only_ever_keeps_a_cheaper_measured_start(answers, cls, ft, rag, p):
    """Whatever the answers and figures: with evidence the verdict is the points' verdict or a
    measured allowed option that costs less to set up, and only when a lead is not significant;
    with every lead significant it is the points' verdict. The summary never shows '$-'."""
    measured = {"classifier": cls, "fine_tune": ft, "rag": rag}
    tests = [{"a": a, "b": b, "a_only": 10, "b_only": 4, "n": 100, "p_value": p}
             for a, b in (("fine_tune", "classifier"), ("fine_tune", "rag"),
                          ("classifier", "rag"))]  # fmt: skip
    points = estimate(answers, measured_accuracy=measured).to_dict()
    r = estimate(answers, measured_accuracy=measured, measured_evidence={"paired": tests})
    d = r.to_dict()
    if p < 0.05 or d["recommendation"] == points["recommendation"]:
        assert d["recommendation"] == points["recommendation"]
        assert not d["noise"].get("held")
    else:
        rec, first = d["recommendation"], points["recommendation"]
        assert d["noise"]["held"] and rec in measured and first in measured
        opts = d["options"]
        assert opts[rec]["setup_usd"]["expected"] < opts[first]["setup_usd"]["expected"]
        assert not opts[rec]["ruled_out_by"] and measured[rec] < measured[first]
        assert "within noise" in d["reasons"][-1]["message"]
    assert not NEGATIVE_MONEY.search(r.summary())
