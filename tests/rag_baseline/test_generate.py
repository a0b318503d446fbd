"""Generation: few-shot RAG prompts and the nearest-neighbour answer, end to end.

A tiny randomly initialised Llama saved to disk (a real transformers model, loaded through the
same `--generator DIR` path a user would take) covers the pipeline and the CLI in seconds; the
shipped SmolLM2 GGUF runs once on 6 items (~15 s on 2 quiet cores, mostly loading and
dequantising the GGUF; 20-30 s when other jobs share the cores).
"""

from __future__ import annotations

import csv
import json

import pytest

from rag_baseline.cli import main
from rag_baseline.config import EvalConfig
from rag_baseline.evaluate import evaluate
from rag_baseline.generate import max_new_tokens_for, nearest_answers

CITIES = ["Paris", "Berlin", "Madrid", "Rome", "Vienna", "Lisbon", "Oslo", "Dublin", "Prague"]
TEMPLATES = [
    "Ship the parcel to {} by Friday.",
    "Our new office opens in {} next month.",
    "Book me a flight to {} please.",
]


def _write(path, rows):
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["input", "output"])
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def city_data(tmp_path_factory):
    """Extraction task: the city named in a sentence; 18 train rows, 6 test rows."""
    folder = tmp_path_factory.mktemp("cities")
    rows = [(t.format(c), c) for c in CITIES for t in TEMPLATES]
    test = [rows[i] for i in range(2, len(rows), 9)] + [rows[i] for i in range(7, len(rows), 9)]
    train = [r for r in rows if r not in test]
    return {"train": _write(folder / "train.csv", train), "test": _write(folder / "test.csv", test)}


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    """A 1-layer random Llama with the MiniLM WordPiece tokenizer (no chat template)."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from core.models import shipped_minilm_path

    folder = tmp_path_factory.mktemp("tiny_lm")
    tokenizer = AutoTokenizer.from_pretrained(str(shipped_minilm_path()))
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _config(city_data, tmp_path, generator, **kw) -> EvalConfig:
    return EvalConfig(
        train=str(city_data["train"]),
        test=str(city_data["test"]),
        task="generation",
        generator=str(generator),
        split_dir=str(tmp_path / "splits"),
        cache_dir=str(tmp_path / "emb"),
        out_dir=str(tmp_path / "out"),
        **kw,
    )


def test_nearest_answer_copies_the_closest_output():
    import numpy as np

    assert nearest_answers(np.array([[2, 0], [0, 1]]), ["a", "b", "c"]) == ["c", "a"]


def test_generation_pipeline_with_a_tiny_model(city_data, tiny_lm, embedder, tmp_path):
    config = _config(city_data, tmp_path, tiny_lm, k=3, max_new_tokens=4)
    result = evaluate(config, embedder=embedder)
    assert result["task"] == "generation" and result["methods"] == ["rag", "nearest"]
    for method in ("rag", "nearest"):
        block = result[method]
        for key in ("exact_match", "token_f1"):
            lo, hi = block[key + "_ci95"]
            assert 0.0 <= lo <= block[key] <= hi <= 1.0
    assert result["rag"]["k"] == 3 and result["rag"]["max_new_tokens"] == 4
    # Same template, same city in training: the nearest neighbour often holds the answer,
    # but never for every item (the test sentences are not in training).
    assert 0.0 < result["nearest"]["token_f1"] < 1.0
    with open(tmp_path / "out" / "predictions.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["id", "reference", "rag", "nearest"]
    assert [r["id"] for r in rows] == [f"t{i}" for i in range(6)]
    assert result["items_per_s"] > 0 and result["generator"] == str(tiny_lm)


def test_generation_cli_json(city_data, tiny_lm, tmp_path, capsys):
    args = ["evaluate", "--train", str(city_data["train"]), "--test", str(city_data["test"])]
    args += ["--task", "generation", "--generator", str(tiny_lm), "--max-new-tokens", "3"]
    args += ["--split-dir", str(tmp_path / "s"), "--cache-dir", str(tmp_path / "e"), "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"exact_match", "token_f1", "exact_match_ci95", "token_f1_ci95"} <= set(result["rag"])
    assert result["n_test"] == 6


def test_missing_generator_is_exit_2(city_data, tmp_path, capsys):
    args = ["evaluate", "--train", str(city_data["train"]), "--test", str(city_data["test"])]
    args += ["--task", "generation", "--generator", str(tmp_path / "no_model_here")]
    args += ["--split-dir", str(tmp_path / "s"), "--no-cache", "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "no_model_here" in err and "not found" in err and "Traceback" not in err


def test_shipped_smollm2_few_shot(city_data, embedder, tmp_path):
    from rag_baseline.generate import Generator

    generator = Generator()
    assert max_new_tokens_for(CITIES, generator.tokenizer) <= 16
    config = _config(city_data, tmp_path, "shipped:SmolLM2-135M-Instruct", k=4, max_new_tokens=6)
    config.generator = "shipped:SmolLM2-135M-Instruct"
    result = evaluate(config, embedder=embedder, generator=generator)
    # Four same-format examples: even a 135M model copies the pattern for most items.
    assert result["rag"]["token_f1"] >= 0.5
    assert result["rag"]["max_new_tokens"] == 6
