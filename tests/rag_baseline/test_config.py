"""EvalConfig: defaults, validation naming the field, JSON round trip, unknown keys."""

from __future__ import annotations

import pytest

from core.models import DEFAULT_EMBEDDER, DEFAULT_GENERATOR
from rag_baseline.config import EvalConfig


def test_defaults_and_round_trip():
    config = EvalConfig(train="train.csv", k=5, max_test=100, task="classification")
    assert config.embedder == DEFAULT_EMBEDDER and config.generator == DEFAULT_GENERATOR
    assert config.k == 5 and config.test is None and config.no_cache is False
    assert EvalConfig.from_json(config.to_json()) == config
    assert EvalConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"k": 0}, "k"),
        ({"k": 2.5}, "k"),
        ({"task": "regression"}, "task"),
        ({"precision": "int4"}, "precision"),
        ({"test_size": 1.0}, "test_size"),
        ({"test_size": True}, "test_size"),
        ({"no_cache": "yes"}, "no_cache"),
        ({"probe_c": -1}, "probe_c"),
        ({"max_file_mb": 0}, "max_file_mb"),
        ({"text_col": ""}, "text_col"),
        ({"seed": -1}, "seed"),
        ({"device": "tpu"}, "device"),
        ({"train": ""}, "train"),
    ],
)
def test_invalid_values_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=rf"^{field} "):
        EvalConfig(**{"train": "train.csv", **kwargs})


def test_unknown_key_rejected_by_name():
    with pytest.raises(ValueError, match="unknown EvalConfig key 'batch'"):
        EvalConfig.from_dict({"train": "t.csv", "batch": 3})


def test_every_field_has_help():
    help_text = EvalConfig.help()
    assert all(text.strip() for text in help_text.values())
    assert "(default: 0.2)" in help_text["test_size"] and "[fraction]" in help_text["test_size"]
