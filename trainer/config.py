"""The trainer's configuration: one typed, validated dataclass.

Built from a JSON or YAML file, from CLI flags, or both (flags override the file). A bad value
raises `ValueError` whose message starts with the field name and says what is allowed. This module
must not import torch: the Streamlit app imports it to build and show configs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from core.schedule import BATCH_SIZE
from core.spec import DEFAULT_SPLIT_DIR, MAX_FILE_MB, MAX_TEXT_CHARS, DataSpec

Task = Literal["auto", "classification", "generation"]
Method = Literal["lora", "qlora", "full"]
Device = Literal["auto", "cpu", "cuda"]
Precision = Literal["auto", "fp32", "bf16"]

SHIPPED_ENCODER = "shipped:all-MiniLM-L6-v2"
SHIPPED_GENERATOR = "shipped:SmolLM2-135M-Instruct"


class InputError(ValueError):
    """Bad configuration found at run time (e.g. qlora without CUDA): exit status 2."""


RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


def _f(default: Any, help: str, unit: str = "", **kw: Any) -> Any:
    meta = {"help": help}
    if unit:
        meta["unit"] = unit
    return field(default=default, metadata=meta, **kw)


@dataclass
class TrainConfig:
    """Everything one training run needs; `to_dict()` is what `config.json` holds."""

    train: str = _f("", "training file (CSV, TSV, JSONL or Parquet)")
    test: str | None = _f(None, "held-out file; default: a stratified split of --train")
    text_col: str | None = _f(None, "column with the input text; default: detected")
    label_col: str | None = _f(None, "column with the label / target output; default: detected")
    task: Task = _f("auto", "classification or generation; auto infers it from the labels")
    base_model: str = _f(
        "auto",
        "HF id or local folder; auto = shipped all-MiniLM-L6-v2 (classification) or "
        "SmolLM2-135M-Instruct (generation)",
    )
    method: Method = _f("lora", "lora, qlora (CUDA + bitsandbytes only) or full fine-tuning")
    lora_r: int = _f(16, "LoRA rank")
    lora_alpha: float = _f(32.0, "LoRA alpha (scale = alpha / r)")
    lora_dropout: float = _f(0.0, "dropout on the LoRA input", "probability")
    target_modules: str = _f(
        "all-linear", "LoRA targets: all-linear or comma-separated module names (query,value)"
    )
    epochs: float | None = _f(
        None,
        "passes over the training split; default: enough for about 250 optimizer steps, "
        "at least 2 and at most 10",
        "epochs",
    )
    max_steps: int | None = _f(None, "stop after this many optimizer steps (overrides epochs)")
    batch_size: int = _f(
        BATCH_SIZE, "examples per optimizer step (per process under DDP)", "examples"
    )
    lr: float = _f(2e-3, "learning rate of the adapters (or all weights with method=full)")
    head_lr: float = _f(3e-3, "learning rate of the classification head")
    weight_decay: float = _f(0.01, "AdamW weight decay")
    warmup_ratio: float = _f(0.06, "fraction of steps with linear warm-up", "fraction")
    label_smoothing: float = _f(0.0, "classification: cross-entropy label smoothing", "fraction")
    warm_start: bool = _f(True, "initialise the head from a linear probe on frozen embeddings")
    max_length: int = _f(128, "truncate inputs to this many tokens", "tokens")
    max_new_tokens: int = _f(64, "generation: longest answer generated at evaluation", "tokens")
    seed: int = _f(0, "random seed (split, data order, initialisation)")
    test_size: float = _f(0.2, "held-out fraction when no --test is given", "fraction")
    device: Device = _f("auto", "auto (CUDA if present), cpu or cuda")
    precision: Precision = _f("auto", "auto (bf16 where the hardware has it), fp32 or bf16")
    threads: int = _f(0, "CPU threads for torch; 0 = all cores", "threads")
    group_by_length: bool = _f(True, "batch examples of similar length (less padding)")
    learning_curve: bool = _f(False, "also train on 25% and 50% of the split for a learning curve")
    runs_dir: str = _f("runs", "folder holding one sub-folder per run")
    run_id: str | None = _f(None, "name of the run folder; default: time stamp + random suffix")
    split_dir: str | None = _f(None, "where the saved held-out split lives; default: .cache/splits")
    drop_leakage: bool = _f(False, "drop test rows whose text also occurs in training")
    max_chars: int = _f(
        MAX_TEXT_CHARS, "texts longer than this are truncated (part of the split id)", "characters"
    )
    max_file_mb: float = _f(MAX_FILE_MB, "largest accepted input file", "MB")
    gate_override: bool = _f(False, "the user overrode a 'do not fine-tune' verdict (recorded)")
    eval_every: int = _f(0, "evaluate on a held-out sample every N steps; 0 = per epoch", "steps")
    eval_samples: int = _f(512, "held-out examples used by periodic evaluation", "examples")
    save_every: int = _f(200, "write a checkpoint every N steps (and at the end)", "steps")
    log_every: int = _f(10, "write a metrics.jsonl line every N steps", "steps")
    merge: bool = _f(False, "also export the adapter merged into the base model")

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            setattr(self, f.name, _check_type(f.name, getattr(self, f.name), hints[f.name]))
        _check_values(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        if not isinstance(data, dict):
            raise ValueError(
                f"config: expected a mapping of field names, got {type(data).__name__}"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(
                f"{unknown[0]}: unknown config key; known keys are {', '.join(sorted(names))}"
            )
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_file(cls, path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
        """A JSON or YAML file, then `overrides` (keys whose value is None are ignored)."""
        data = load_mapping(path)
        data.update({k: v for k, v in (overrides or {}).items() if v is not None})
        return cls.from_dict(data)

    def data_spec(self) -> DataSpec:
        """The data this run trains and scores on: the same spec type as the baseline's."""
        return DataSpec(
            train=self.train,
            test=self.test,
            text_col=self.text_col,
            label_col=self.label_col,
            task=None if self.task == "auto" else self.task,
            test_size=self.test_size,
            seed=self.seed,
            split_dir=self.split_dir or DEFAULT_SPLIT_DIR,
            drop_leakage=self.drop_leakage,
            max_chars=self.max_chars,
            max_mb=self.max_file_mb,
        )

    def resolved_task(self, inferred: str) -> str:
        return inferred if self.task == "auto" else self.task

    def resolved_base_model(self, task: str) -> str:
        if self.base_model != "auto":
            return self.base_model
        return SHIPPED_GENERATOR if task == "generation" else SHIPPED_ENCODER


def load_mapping(path: str | Path) -> dict[str, Any]:
    """Read a JSON or YAML config file into a dict; ValueError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config: file not found: {path}")
    text = path.read_text()
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
    except Exception as exc:  # json.JSONDecodeError, yaml.YAMLError
        raise ValueError(f"config: cannot parse {path.name}: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"config: {path.name} must hold a mapping of field names to values")
    return data


def _is_optional(tp: Any) -> tuple[bool, Any]:
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return True, args[0]
    return False, tp


def _check_type(name: str, value: Any, tp: Any) -> Any:
    """Coerce ints to floats where a float is wanted; reject anything else of the wrong type."""
    optional, inner = _is_optional(tp)
    if value is None:
        if optional:
            return None
        raise ValueError(f"{name}: must not be empty")
    if typing.get_origin(inner) is Literal:
        allowed = typing.get_args(inner)
        if value not in allowed:
            raise ValueError(f"{name}: got {value!r}; allowed: {', '.join(map(str, allowed))}")
        return value
    if inner is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name}: must be true or false, got {value!r}")
        return value
    if inner is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name}: must be a whole number, got {value!r}")
        return value
    if inner is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name}: must be a number, got {value!r}")
        return float(value)
    if inner is str and not isinstance(value, str):
        raise ValueError(f"{name}: must be text, got {value!r}")
    return value


def _check_values(c: TrainConfig) -> None:
    rules: list[tuple[str, bool, str]] = [
        ("train", bool(c.train.strip()), "give the training file (--train FILE)"),
        ("lora_r", c.lora_r >= 1, "must be at least 1"),
        ("lora_alpha", c.lora_alpha > 0, "must be positive"),
        ("lora_dropout", 0.0 <= c.lora_dropout < 1.0, "must be in [0, 1)"),
        ("target_modules", bool(c.target_modules.strip()), "give all-linear or module names"),
        ("epochs", c.epochs is None or c.epochs > 0, "must be positive"),
        ("max_steps", c.max_steps is None or c.max_steps >= 1, "must be at least 1"),
        ("batch_size", 1 <= c.batch_size <= 4096, "must be between 1 and 4096"),
        ("lr", 0.0 < c.lr < 1.0, "must be in (0, 1)"),
        ("head_lr", 0.0 < c.head_lr < 1.0, "must be in (0, 1)"),
        ("weight_decay", 0.0 <= c.weight_decay < 1.0, "must be in [0, 1)"),
        ("warmup_ratio", 0.0 <= c.warmup_ratio < 1.0, "must be in [0, 1)"),
        ("label_smoothing", 0.0 <= c.label_smoothing < 1.0, "must be in [0, 1)"),
        ("max_length", 8 <= c.max_length <= 8192, "must be between 8 and 8192"),
        ("max_new_tokens", 1 <= c.max_new_tokens <= 4096, "must be between 1 and 4096"),
        ("test_size", 0.0 < c.test_size < 1.0, "must be in (0, 1)"),
        ("threads", c.threads >= 0, "must be 0 (all cores) or more"),
        ("eval_every", c.eval_every >= 0, "must be 0 (per epoch) or more"),
        ("eval_samples", c.eval_samples >= 1, "must be at least 1"),
        ("save_every", c.save_every >= 1, "must be at least 1"),
        ("log_every", c.log_every >= 1, "must be at least 1"),
        ("runs_dir", bool(c.runs_dir.strip()), "must not be empty"),
        ("base_model", bool(c.base_model.strip()), "give auto, a HF id or a local folder"),
        (
            "run_id",
            c.run_id is None or bool(RUN_ID_RE.match(c.run_id)),
            "use letters, digits, '.', '_' or '-' (at most 80, no leading punctuation)",
        ),
        (
            "method",
            not (c.method == "qlora" and c.device == "cpu"),
            "qlora needs CUDA; use lora on CPU",
        ),
    ]
    for name, ok, message in rules:
        if not ok:
            raise ValueError(f"{name}: {message} (got {getattr(c, name)!r})")


# --- CLI -------------------------------------------------------------------------------------


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One `--field-name` flag per config field; every default is None ('not given')."""
    hints = typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        _, inner = _is_optional(hints[f.name])
        help_ = f.metadata.get("help", "").replace("%", "%%")  # argparse formats help with %
        kw: dict[str, Any] = {"dest": f.name, "default": None, "help": help_}
        if inner is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(inner) is Literal:
            kw["choices"] = list(typing.get_args(inner))
        elif inner in (int, float):
            kw["type"] = inner
        parser.add_argument(flag, **kw)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """`--config FILE` (if any) overridden by the flags that were given."""
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    overrides = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    path = getattr(args, "config", None)
    if path:
        return TrainConfig.from_file(path, overrides)
    return TrainConfig.from_dict(overrides)
