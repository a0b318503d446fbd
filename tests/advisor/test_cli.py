"""The CLI contract, through real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from advisor import Answers

from .conftest import INSURER

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def answers_file(tmp_path):
    def write(content: str | dict) -> str:
        path = tmp_path / "answers.json"
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return str(path)

    return write


OPTIONS = {"human", "prompting", "rag", "classifier", "fine_tune"}
OPTION_KEYS = {"setup_usd", "monthly_usd", "horizon_usd", "accuracy", "accuracy_source",
               "ruled_out_by"}  # fmt: skip


def test_estimate_json_contract(answers_file):
    """Issue 16's contract: options.<opt>, measure_first, the recommendation's break-even and
    budget, reasons with rule/message/direction; --measured classifier=0.87 works."""
    path = answers_file(INSURER.to_dict())
    r = run("estimate", path, "--json", "--measured", "classifier=0.87")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["recommendation"] in OPTIONS and isinstance(out["measure_first"], bool)
    assert set(out["options"]) == OPTIONS
    for o, v in out["options"].items():
        assert OPTION_KEYS <= set(v), o
        assert v["accuracy_source"] in {"assumed", "stated", "measured"}
        assert isinstance(v["ruled_out_by"], list)
        for k in ("setup_usd", "monthly_usd", "horizon_usd"):
            assert set(v[k]) == {"low", "expected", "high"}
    c = out["options"]["classifier"]
    assert c["accuracy"]["expected"] == 0.87 and c["accuracy_source"] == "measured"
    assert out["recommendation"] == "classifier"
    assert all({"rule", "message", "direction"} <= set(x) for x in out["reasons"])
    assert all(x["direction"] in OPTIONS for x in out["reasons"])
    assert out["budget"]["option"] == out["recommendation"] and isinstance(
        out["budget"]["fits"], bool
    )
    row = out["break_even"]["rows"][0]
    assert row["option"] == "classifier" and row["expected"] == out["break_even_months"]
    assert len(out["series"]["classifier"]) == 37
    for v in out["options"].values():
        assert set(v["monthly_parts"]) == {"inference", "human", "operations", "retraining"}
    assert r.stderr == ""  # every answer given: nothing defaulted


def test_missing_keys_default_and_are_named_on_stderr():
    r = run("estimate", "-", "--json", stdin='{"monthly_volume": 100}')
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["budget"]["total_budget_usd"] == Answers().total_budget_usd
    note = r.stderr.strip().splitlines()
    assert len(note) == 1 and "defaulted" in note[0] and "total_budget_usd=50000.0" in note[0]
    assert "monthly_volume" not in note[0]


def test_memo_opens_with_the_same_recommendation(answers_file):
    path = answers_file(INSURER.to_dict())
    for measured in ([], ["--measured", "classifier=0.7"]):
        est = json.loads(run("estimate", path, "--json", *measured).stdout)
        memo = run("memo", path, *measured)
        assert memo.returncode == 0, memo.stderr
        first = next(x for x in memo.stdout.splitlines() if x.startswith("**"))
        name = {"classifier": "the small classifier", "fine_tune": "fine-tuning"}
        assert first.startswith(f"**Recommendation: {name[est['recommendation']]}")


def test_readable_summary_and_measured(answers_file):
    path = answers_file(INSURER.to_dict())
    r = run("estimate", path, "--measured", "classifier=0.7")
    assert r.returncode == 0 and "Recommendation: fine-tuning" in r.stdout
    assert "Break-even" in r.stdout and not r.stdout.lstrip().startswith("{")
    base = json.loads(run("estimate", path, "--json", "--measured", "classifier=0.7").stdout)
    r = run("estimate", path, "--json", "--measured", "fine_tune=0.99", "--measured",
            "classifier=0.7", "--sensitivity")  # fmt: skip
    out = json.loads(r.stdout)
    assert out["break_even_months"] < base["break_even_months"]
    assert out["sensitivity"][0]["swing_months"] >= out["sensitivity"][-1]["swing_months"]


def test_answers_template_round_trips(answers_file):
    r = run("answers-template")
    assert r.returncode == 0
    assert Answers.from_json(r.stdout) == Answers()


def test_assumptions_listing_shows_sources(tmp_path):
    r = run("assumptions")
    assert r.returncode == 0
    assert "seed.data_preparation_usd" in r.stdout and "Source:" in r.stdout
    user = tmp_path / "mine.toml"
    user.write_text("[gpu.T4.usd_per_hour]\nvalue = 0.11\n")
    data = json.loads(run("assumptions", "--assumptions", str(user), "--json").stdout)
    assert data["gpu.T4.usd_per_hour"]["expected"] == 0.11


def test_assumptions_file_changes_the_estimate(answers_file, tmp_path):
    path = answers_file(INSURER.to_dict())
    user = tmp_path / "mine.toml"
    user.write_text("[engineering.weekly_rate_usd]\nvalue = 20000\n")
    base = json.loads(run("estimate", path, "--json").stdout)["fine_tune_project"]
    dear = json.loads(run("estimate", path, "--json", "--assumptions", str(user)).stdout)
    dear = dear["fine_tune_project"]
    assert dear["costs"]["engineering"]["expected"] > base["costs"]["engineering"]["expected"]


BAD = [
    ('{"colour": 1}', "colour", "allowed keys"),
    ('{"labeled_examples": "many"}', "labeled_examples", "whole number"),
    ('{"tried_rag": 1}', "tried_rag", "true or false"),
    ('{"monthly_volume": -5}', "monthly_volume", ">= 0"),
    ('{"task_type": "poetry"}', "task_type", "classification"),
    ('{"gpu": "B200"}', "gpu", "H100-80GB"),
    ('{"n_classes": -1}', "n_classes", ">= 0"),
    ('{"data_change": "sometimes"}', "data_change", "rarely"),
    ('{"labeled_examples": 1,}', "answers.json", "not valid JSON"),
    ("[1, 2]", "answers", "JSON object"),
    ("", "answers.json", "not valid JSON"),
]


@pytest.mark.parametrize("content, key, allowed", BAD)
def test_bad_answers_exit_2_with_one_line(answers_file, content, key, allowed):
    r = run("estimate", answers_file(content), "--json")
    assert_clean_failure(r, key, allowed)


def test_not_utf8(tmp_path):
    path = tmp_path / "answers.json"
    path.write_bytes(b'{"task_type": "\xff"}')
    assert_clean_failure(run("estimate", str(path)), "answers.json", "UTF-8")


@pytest.mark.parametrize(
    "args, key, allowed",
    [
        (["estimate", "missing.json"], "missing.json", "answers-template"),
        (["estimate", "."], ".", "cannot read"),
        (["estimate", "-", "--assumptions", "nope.toml"], "nope.toml", "not found"),
        (["estimate", "-", "--measured", "rag"], "--measured", "OPTION=ACCURACY"),
        (["estimate", "-", "--measured", "rag=1.5"], "measured_accuracy.rag", "fraction"),
        (["estimate", "-", "--measured", "tfidf=0.8"], "measured_accuracy.tfidf", "classifier"),
        (["estimate", "-", "--gain-per-doubling", "2"], "gain_per_doubling", "fraction"),
        (["estimate"], "answers", "required"),
        (["launch"], "launch", "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, key, allowed):
    assert_clean_failure(run(*args, stdin="{}"), key, allowed)


def test_bad_assumptions_file(answers_file, tmp_path):
    user = tmp_path / "bad.toml"
    user.write_text("[compute.mfu]\nvalue = 3\n")
    r = run("estimate", answers_file("{}"), "--assumptions", str(user))
    assert_clean_failure(r, "compute.mfu", "<= 1")


def assert_clean_failure(r: subprocess.CompletedProcess, key: str, allowed: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert key in lines[0] and allowed in lines[0], lines[0]
    assert "Traceback" not in r.stderr
