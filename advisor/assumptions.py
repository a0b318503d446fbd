"""Typed access to the advisor's figures (advisor/assumptions.toml) and user overrides.

    a = load_assumptions()                                  # the packaged figures
    a = load_assumptions("my.toml")                         # packaged + a partial user file
    a = a.with_overrides({"gpu.H100-80GB.usd_per_hour": 2.4,
                          "compute.mfu": {"low": 0.3, "expected": 0.4, "high": 0.5}})
    a.range("compute.mfu"), a["compute.mfu"].source, a.gpu("H100-80GB").peak_flops

A user file has the same layout as the packaged one but may hold only some figures, and only
some fields of a figure (e.g. `[gpu.H100-80GB.usd_per_hour]` with `expected = 2.4`). New GPUs are
added with `peak_tflops`, `memory_gb` and `usd_per_hour` (optionally `mfu`).
"""

from __future__ import annotations

import json
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from advisor.answers import DataChange, TaskType
from advisor.figures import PATCH_FIELDS, USER_SOURCE, Figure, apply_patch, parse_figure
from advisor.ranges import Range

# attr -> (label, unit, positive, max); the first three are required for every GPU.
GPU_ATTRS: dict[str, tuple[str, str, bool, float | None]] = {
    "peak_tflops": ("peak dense BF16", "TFLOP/s", True, None),
    "memory_gb": ("memory", "GB", True, None),
    "usd_per_hour": ("price", "USD/GPU-hour", False, None),
    "mfu": ("model FLOPs utilisation", "fraction", True, 1.0),
}
_GPU_KEY = re.compile(r"^gpu\.([A-Za-z0-9_-]+)\.(" + "|".join(GPU_ATTRS) + r")$")
# List figures whose names must be valid answers.
_LIST_CHOICES = {
    "rules.narrow_tasks": typing.get_args(TaskType),
    "rules.knowledge_tasks": typing.get_args(TaskType),
    "rules.frequent_change": typing.get_args(DataChange),
    "rules.changing_knowledge": typing.get_args(DataChange),
    "rules.facts_in_input_tasks": typing.get_args(TaskType),
}


@dataclass(frozen=True)
class GpuSpec:
    name: str
    peak_flops: float  # FLOP/s per device
    memory_gb: float
    usd_per_hour: Range
    mfu: Range | None  # None: use compute.mfu


@dataclass(frozen=True)
class Assumptions:
    figures: Mapping[str, Figure]

    def __post_init__(self) -> None:
        for key, fig in self.figures.items():
            if key != fig.key:
                raise ValueError(f"{key}: figure is stored under the wrong key ({fig.key})")
            fig.validate()
            allowed = _LIST_CHOICES.get(key)
            if allowed is not None:
                for item in fig.items or ():
                    if item not in allowed:
                        raise ValueError(
                            f"{key}: '{item}' is not allowed; use some of {', '.join(allowed)}"
                        )
        for name in self.gpu_names():
            for attr in list(GPU_ATTRS)[:3]:
                if f"gpu.{name}.{attr}" not in self.figures:
                    raise ValueError(
                        f"gpu.{name}: missing {attr}; a GPU needs peak_tflops, memory_gb "
                        "and usd_per_hour"
                    )

    # --- access --------------------------------------------------------------------------
    def __getitem__(self, key: str) -> Figure:
        try:
            return self.figures[key]
        except KeyError:
            raise ValueError(f"{key}: no such assumption") from None

    def __contains__(self, key: object) -> bool:
        return key in self.figures

    def keys(self) -> list[str]:
        return list(self.figures)

    def range(self, key: str) -> Range:
        return self[key].range

    def value(self, key: str) -> float:
        """The expected value."""
        return self[key].expected

    def items(self, key: str) -> tuple[str, ...]:
        return self[key].items or ()

    def gpu_names(self) -> list[str]:
        names: dict[str, None] = {}
        for key in self.figures:
            m = _GPU_KEY.match(key)
            if m:
                names[m.group(1)] = None
        return list(names)

    def model_sizes(self) -> dict[str, float]:
        """{model name: billions of parameters} from the `model.<slug>.params_b` figures."""
        out = {}
        for key, fig in self.figures.items():
            if key.startswith("model.") and key.endswith(".params_b"):
                out[fig.label] = fig.expected
        return out

    def gpu(self, name: str) -> GpuSpec:
        """A GPU of the table; "auto" (the questionnaire's default) is `plan.default_gpu`; the
        plan (advisor.plan) resolves "auto" to the CPU for a model trainable here."""
        if name == "auto":
            name = self.items("plan.default_gpu")[0]
        names = self.gpu_names()
        if name not in names:
            raise ValueError(
                f"gpu: '{name}' is not in the price table; allowed: {', '.join(names)}"
            )
        p = f"gpu.{name}."
        mfu = self.figures.get(p + "mfu")
        return GpuSpec(
            name=name,
            peak_flops=self.value(p + "peak_tflops") * 1e12,
            memory_gb=self.value(p + "memory_gb"),
            usd_per_hour=self.range(p + "usd_per_hour"),
            mfu=mfu.range if mfu else None,
        )

    # --- overrides -----------------------------------------------------------------------
    def with_overrides(self, overrides: Mapping[str, Any]) -> Assumptions:
        """A copy with some figures changed.

        Keys are dotted figure keys ("compute.mfu"), a figure key plus a field
        ("compute.mfu.expected"), or nested dicts as read from TOML. A value is a number (sets
        low = expected = high), a list of names, or a dict of fields (value, low, expected,
        high, items, label, source, as_of, note). Raises ValueError naming the key.
        """
        figures = dict(self.figures)
        for key, patch in _normalise(overrides, set(figures)).items():
            fig = figures.get(key) or _new_gpu_figure(key)
            figures[key] = apply_patch(fig, patch, mark_user=key in self.figures)
        return Assumptions(figures)

    def changed_from(self, base: Assumptions) -> dict[str, dict[str, Any]]:
        """The overrides that turn `base` into this (for saving a user's edits)."""
        out = {}
        for key, fig in self.figures.items():
            if base.figures.get(key) != fig:
                out[key] = {k: v for k, v in fig.to_dict().items() if k in PATCH_FIELDS}
        return out

    # --- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Flat {key: {label, unit, low, expected, high | items, source, as_of, note}}."""
        return {key: fig.to_dict() for key, fig in self.figures.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: Assumptions | None = None) -> Assumptions:
        """Read `to_dict()` output (or any overrides) on top of `base` (default: packaged)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"assumptions: expected an object, got {type(data).__name__}")
        base = base or load_assumptions()
        clean = {k: _drop_unit(k, v, base) for k, v in data.items()}
        return base.with_overrides(clean)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def rows(self) -> list[dict[str, Any]]:
        """One row per figure for a table or editor: key plus `Figure.to_dict()`."""
        return [{"key": key, **fig.to_dict()} for key, fig in self.figures.items()]

    def to_toml(self, only_changed_from: Assumptions | None = None) -> str:
        """TOML that `load_assumptions(path)` reads back (all figures, or only the changes)."""
        if only_changed_from is not None:
            data = self.changed_from(only_changed_from)
        else:
            data = {
                k: {f: v for f, v in d.items() if f in PATCH_FIELDS}
                for k, d in self.to_dict().items()
            }
        blocks = []
        for key, fields_ in data.items():
            lines = [f"[{key}]"]
            for name, v in fields_.items():
                if name == "items":
                    name = "value"
                lines.append(f"{name} = {json.dumps(v)}")
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks) + "\n"


def load_assumptions(
    path: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> Assumptions:
    """The packaged figures, then a user TOML file (partial is fine), then `overrides`.

    Raises ValueError naming the file or key on any problem.
    """
    text = resources.files("advisor").joinpath("assumptions.toml").read_text("utf-8")
    base = Assumptions(_parse_file(tomllib.loads(text)))
    if path is not None:
        base = base.with_overrides(_read_user_file(Path(path)))
    if overrides:
        base = base.with_overrides(overrides)
    return base


# --- helpers ----------------------------------------------------------------------------------


def _read_user_file(path: Path) -> dict[str, Any]:
    from advisor.jsonio import loads, read_bytes

    raw = read_bytes(path, "assumptions file")
    if path.suffix.lower() == ".json":
        data = loads(raw, str(path))
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object of figures")
        return data
    try:
        return tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ValueError(f"{path}: assumptions file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: not valid TOML ({e})") from None
    except RecursionError:
        raise ValueError(f"{path}: TOML nested too deeply") from None


def _parse_file(data: dict[str, Any], prefix: str = "") -> dict[str, Figure]:
    """Walk nested tables; a table with a `source` is one figure."""
    out: dict[str, Figure] = {}
    for k, v in data.items():
        key = f"{prefix}.{k}" if prefix else k
        if not isinstance(v, dict):
            raise ValueError(f"{key}: expected a table of figures")
        if "source" in v:
            m = _GPU_KEY.match(key)
            label = f"{m.group(1)} {GPU_ATTRS[m.group(2)][0]}" if m else None
            out[key] = parse_figure(key, v, label)
        else:
            out.update(_parse_file(v, key))
    return out


def _normalise(overrides: Mapping[str, Any], known: set[str]) -> dict[str, dict[str, Any]]:
    """Flatten nested/dotted overrides into {figure key: patch dict}."""
    if not isinstance(overrides, Mapping):
        raise ValueError(f"overrides: expected an object, got {type(overrides).__name__}")
    out: dict[str, dict[str, Any]] = {}

    def add(key: str, patch: Any) -> None:
        patch = dict(patch) if isinstance(patch, Mapping) else {"value": patch}
        out.setdefault(key, {}).update(patch)

    def walk(obj: Mapping[str, Any], prefix: str) -> None:
        for k, v in obj.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            parent, _, last = key.rpartition(".")
            if key in known or _GPU_KEY.match(key):
                add(key, v)
            elif last in PATCH_FIELDS and (parent in known or _GPU_KEY.match(parent)):
                add(parent, {last: v})
            elif isinstance(v, Mapping) and v and not set(v) <= set(PATCH_FIELDS):
                walk(v, key)
            else:
                raise ValueError(
                    f"{key}: unknown assumption; `python -m advisor assumptions` lists the keys"
                )

    walk(overrides, "")
    return out


def _new_gpu_figure(key: str) -> Figure:
    m = _GPU_KEY.match(key)
    assert m is not None  # _normalise only lets known keys and GPU keys through
    label, unit, positive, max_ = GPU_ATTRS[m.group(2)]
    # Placeholder numbers are replaced by the patch; validation runs after it.
    return Figure(
        key=key,
        label=f"{m.group(1)} {label}",
        unit=unit,
        source=USER_SOURCE,
        as_of=date.today().isoformat(),
        max=max_,
        positive=positive,
    )


def _drop_unit(key: str, value: Any, base: Assumptions) -> Any:
    """`to_dict()` carries unit for display; accept it back when it matches."""
    if isinstance(value, Mapping) and "unit" in value:
        value = dict(value)
        unit = value.pop("unit")
        if key in base and unit != base[key].unit:
            raise ValueError(f"{key}: unit is '{base[key].unit}' and cannot change (got {unit!r})")
        if key not in base:
            gpu = _GPU_KEY.match(key)
            if gpu and unit != GPU_ATTRS[gpu.group(2)][1]:
                raise ValueError(f"{key}: unit must be '{GPU_ATTRS[gpu.group(2)][1]}'")
    return value
