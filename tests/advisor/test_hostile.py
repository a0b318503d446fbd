"""Issue 8 item 8: hostile JSON for answers, measured accuracy and assumptions; readable output."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings

from advisor import estimate
from advisor.jsonio import loads

from .test_cli import assert_clean_failure, run
from .test_decision import answers_st

DEEP = '{"task_type": ' + "[" * 100_000 + "]" * 100_000 + "}"
HOSTILE = [
    ('{"labeled_examples": ' + "9" * 400 + "}", "labeled_examples", "whole number"),
    ('{"total_budget_usd": -' + "9" * 400 + "}", "total_budget_usd", ">= 0"),
    (DEEP, "answers.json", "nested"),
    ("[" * 100_000 + "]" * 100_000, "answers.json", "nested"),
    ('{"monthly_volume": 5, "monthly_volume": 6}', "monthly_volume", "twice"),
    ('{"base_model_params_b": 1e30}', "base_model_params_b", "<= 10,000"),
    ('{"human_minutes_per_item": 1e308}', "human_minutes_per_item", "<= 10,000"),
    ('{"human_minutes_per_item": 1e999}', "human_minutes_per_item", "finite"),
    ('{"avg_input_tokens": 0}', "avg_input_tokens", "> 0"),
    ('{"avg_output_tokens": 0}', "avg_output_tokens", "> 0"),
    ('{"monthly_volume": NaN}', "NaN", "finite number"),
    ('{"base_model": "unknown-model"}', "base_model_params_b", "give the size"),
]


@pytest.fixture
def write(tmp_path):
    def w(content: str | bytes, name: str = "answers.json") -> str:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return str(path)

    return w


@pytest.mark.parametrize("content, key, allowed", HOSTILE)
def test_hostile_answers_exit_2_with_one_line(write, content, key, allowed):
    assert_clean_failure(run("estimate", write(content), "--json"), key, allowed)


def test_a_byte_order_mark_is_accepted(write):
    r = run("estimate", write(b'\xef\xbb\xbf{"monthly_volume": 777}'), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["answers"]["monthly_volume"] == 777


def test_hostile_measured_accuracy(write):
    path = write("{}")
    for value in ("1e400", "nan", "9" * 400):
        r = run("estimate", path, "--measured", f"rag={value}")
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "rag" in r.stderr or "--measured" in r.stderr
    twice = write('{"rag": 0.9, "rag": 0.8}', "m.json")
    assert_clean_failure(run("estimate", path, "--measured", f"@{twice}"), "rag", "twice")
    deep = write('{"rag": ' + "[" * 100_000 + "]" * 100_000 + "}", "deep.json")
    assert_clean_failure(run("estimate", path, "--measured", f"@{deep}"), "deep.json", "nested")
    good = write('\ufeff{"rag": 0.95, "fine_tune": 0.8}', "ok.json")
    r = run("estimate", path, "--measured", f"@{good}", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["options"]["rag"]["accuracy_source"] == "measured"


@pytest.mark.parametrize(
    "content, key, allowed",
    [
        ("[compute.mfu]\nvalue = " + "9" * 400 + "\n", "compute.mfu", "finite"),
        ("[compute.mfu]\nvalue = 1e308\n", "compute.mfu", "<= 1"),
        ("x = " + "[" * 100_000 + "]" * 100_000 + "\n", "bad.toml", "TOML"),
        ("[compute.mfu]\nvalue = 0.3\n[compute.mfu]\nvalue = 0.4\n", "bad.toml", "TOML"),
    ],
)
def test_hostile_assumptions_files(write, content, key, allowed):
    path = write(content, "bad.toml")
    assert_clean_failure(run("estimate", write("{}"), "--assumptions", path), key, allowed)


def test_hostile_assumptions_json(write):
    bad = write('{"compute.mfu": 0.3, "compute.mfu": 0.4}', "a.json")
    assert_clean_failure(run("estimate", write("{}"), "--assumptions", bad), "compute.mfu", "twice")
    ok = write(b'\xef\xbb\xbf{"compute.mfu": 0.3}', "ok.json")
    assert run("estimate", write("{}"), "--assumptions", ok).returncode == 0


def test_loads_limits_in_process():
    with pytest.raises(ValueError, match="^x: appears twice"):
        loads('{"a": {"x": 1, "x": 2}}')
    assert loads(b"\xef\xbb\xbf[1]") == [1]


# --- readable output ----------------------------------------------------------------------------

NEGATIVE_MONEY = re.compile(r"\$-|-\$")


@settings(max_examples=40, deadline=None)
@given(answers=answers_st)
def test_summary_reads_verdict_first_without_negative_dollars(answers):
    text = estimate(answers).summary()
    assert text.startswith("Recommendation: ")
    assert not NEGATIVE_MONEY.search(text), text
    lines = text.splitlines()
    for heading, nxt in zip(lines, lines[1:], strict=False):
        if heading.endswith(":") and not heading.startswith(" "):
            assert nxt.startswith("  "), f"empty section {heading!r}"
    assert "against today's process" in text
    for name in ("Today's process", "Prompting", "RAG", "Small classifier", "Fine-tuning"):
        assert f"  {name}" in text  # a monthly running-cost row per option


def test_summary_labels_break_even_and_reference_ranges():
    text = estimate({"monthly_volume": 20000, "stage": "production", "tried_prompting": True,
                     "tried_rag": True, "data_change": "yearly"}).summary()  # fmt: skip
    assert "Break-even (best / expected / worst):" in text
    assert "against today's process" in text and "Where the verdict would change" in text
    assert "article $5,000–$50,000" in text and "article 6 months–12 months" in text
    assert "examples you have" in text and "experimentation" in text


def test_docs_worked_example_matches_the_cli():
    """docs/advice.md's worked example: every number it quotes comes out of the CLI."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "advice.md"
    text = " ".join(doc.read_text().split())  # line breaks inside sentences do not count
    block = doc.read_text().split("```json\n", 1)[1].split("```", 1)[0]
    answers = json.loads(block)
    d = estimate(answers).to_dict()
    assert f"**{d['recommendation']}**, with `measure_first`" in text and d["measure_first"]
    for o, v in d["options"].items():
        for k in ("setup_usd", "monthly_usd", "horizon_usd"):
            assert f"${v[k]['expected']:,.0f}" in text, (o, k)
        if v["accuracy"]:
            a = v["accuracy"]
            assert f"{a['low']:.2f}–{a['high']:.2f} {v['accuracy_source']}" in text, o
    for x in d["swap"]["accuracy"].values():
        assert f"at {x:.2f}" in text
    first = d["budget"]["first_year_usd"]
    assert (
        f"${first['expected']:,.0f} of AI spend (${first['low']:,.0f}–${first['high']:,.0f})"
        in text
    )
    assert f"({d['break_even_months']} months)" in text
    parts = d["options"]["classifier"]["monthly_parts"]
    assert (
        f"${parts['human']:,.0f} of people" in text
        and f"${parts['inference']:,.0f} to serve" in text
    )
    m = {"classifier": 0.81, "rag": 0.78, "fine_tune": 0.83}
    dm = estimate(answers, measured_accuracy=m).to_dict()
    assert "--measured classifier=0.81 --measured rag=0.78 --measured fine_tune=0.83" in text
    assert dm["recommendation"] == "classifier" and not dm["measure_first"]
    for o in ("classifier", "fine_tune"):
        assert f"${dm['options'][o]['horizon_usd']['expected']:,.0f}" in text
    assert dm["evidence"]["message"] in text
    assert f"reach {dm['options']['fine_tune']['swap_accuracy']:.2f}" in text


def test_cli_module_docstring_runs():
    r = subprocess.run([sys.executable, "-m", "advisor", "--help"], capture_output=True,
                       text=True, timeout=60)  # fmt: skip
    assert r.returncode == 0 and "memo" in r.stdout
