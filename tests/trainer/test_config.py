"""TrainConfig: validation names the field, file + flag merging, JSON round trip, no torch."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from tests.trainer.helpers import REPO, run_cli
from trainer.config import TrainConfig, add_config_arguments, config_from_args


def test_defaults_and_json_round_trip():
    cfg = TrainConfig(train="t.csv", gate_override=True, epochs=2, lora_r=4)
    back = TrainConfig.from_json(cfg.to_json())
    assert back == cfg
    assert back.gate_override is True
    assert cfg.method == "lora" and cfg.target_modules == "all-linear"
    assert cfg.resolved_base_model("classification") == "shipped:all-MiniLM-L6-v2"
    assert cfg.resolved_base_model("generation") == "shipped:SmolLM2-135M-Instruct"


def test_every_field_has_help():
    import dataclasses

    missing = [f.name for f in dataclasses.fields(TrainConfig) if not f.metadata.get("help")]
    assert missing == []


@pytest.mark.parametrize(
    "field, value",
    [
        ("lora_r", 0),
        ("method", "adapter"),
        ("device", "tpu"),
        ("precision", "fp8"),
        ("epochs", -1),
        ("batch_size", 0),
        ("lr", 2.0),
        ("lora_dropout", 1.5),
        ("max_steps", 0),
        ("run_id", "../escape"),
        ("group_by_length", "yes"),
        ("batch_size", 3.5),
    ],
)
def test_bad_values_name_the_field(field, value):
    with pytest.raises(ValueError) as err:
        TrainConfig(train="t.csv", **{field: value})
    assert str(err.value).startswith(f"{field}:")


def test_missing_train_and_qlora_on_cpu():
    with pytest.raises(ValueError, match="^train:"):
        TrainConfig()
    with pytest.raises(ValueError, match="^method:"):
        TrainConfig(train="t.csv", method="qlora", device="cpu")


def test_unknown_key_rejected_by_name():
    with pytest.raises(ValueError, match="^learning_rate: unknown config key"):
        TrainConfig.from_dict({"train": "t.csv", "learning_rate": 0.1})


def test_int_accepted_where_float_expected():
    assert TrainConfig(train="t.csv", epochs=2).epochs == 2.0
    assert isinstance(TrainConfig(train="t.csv", lora_alpha=8).lora_alpha, float)


def test_yaml_file_then_flags_override(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("train: a.csv\nepochs: 5\nlora_r: 4\ngroup_by_length: true\n")
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    add_config_arguments(parser)
    args = parser.parse_args(["--config", str(path), "--epochs", "2", "--no-group-by-length"])
    cfg = config_from_args(args)
    assert (cfg.train, cfg.epochs, cfg.lora_r, cfg.group_by_length) == ("a.csv", 2.0, 4, False)


def test_json_file_with_bad_value(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"train": "a.csv", "warmup_ratio": 3}))
    with pytest.raises(ValueError, match="^warmup_ratio:"):
        TrainConfig.from_file(path)


def test_config_module_does_not_import_torch():
    code = (
        "import sys, trainer.config, trainer.jobs, trainer.estimate; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.stdout.strip() == "False", out.stderr


def test_cli_bad_config_exits_2_naming_the_field(tmp_path):
    res = run_cli("train", "--train", "x.csv", "--lora-r", "0", "--runs-dir", str(tmp_path))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "lora_r" in lines[0]
    assert "Traceback" not in res.stderr


def test_cli_help_lists_every_field():
    import dataclasses

    res = run_cli("train", "--help")
    assert res.returncode == 0, res.stderr
    for f in dataclasses.fields(TrainConfig):
        assert "--" + f.name.replace("_", "-") in res.stdout


def test_cli_bad_choice_exits_2(tmp_path):
    res = run_cli("train", "--train", "x.csv", "--method", "magic", "--runs-dir", str(tmp_path))
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "--method" in res.stderr


def test_cli_bad_data_exits_2_naming_the_column(tiny_data, tmp_path):
    res = run_cli(
        "train",
        "--train",
        str(tiny_data["train"]),
        "--text-col",
        "nope",
        "--label-col",
        "category",
        "--runs-dir",
        str(tmp_path),
        "--json",
    )
    assert res.returncode == 2, res.stderr
    assert "nope" in res.stderr.strip().splitlines()[-1]
    assert "Traceback" not in res.stderr
    assert json.loads(res.stdout)["status"] == "error"
