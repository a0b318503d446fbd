"""The questionnaire: what the business tells the advisor.

`Answers` is the single source of truth for the questions. Each field's metadata carries the
label, help text, unit and lower bound, so a UI can build its widgets from `Answers.fields_help()`
instead of repeating them. JSON keys are the field names.
"""

from __future__ import annotations

import json
import math
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Literal

TaskType = Literal[
    "classification", "extraction", "form_completion", "style", "domain_qa", "generation"
]
DataChange = Literal["daily", "weekly", "monthly", "quarterly", "yearly", "never"]
Stage = Literal["exploring", "pilot", "production"]
Method = Literal["lora", "qlora", "full"]


def _meta(label: str, help: str, unit: str = "", min: float | None = None, **extra: Any) -> dict:
    return {"label": label, "help": help, "unit": unit, "min": min, **extra}


@dataclass(frozen=True)
class Answers:
    task_type: TaskType = field(
        default="classification",
        metadata=_meta("Task", "What the model has to do for each item or request."),
    )
    labeled_examples: int = field(
        default=2000,
        metadata=_meta(
            "Labelled examples",
            "Training examples available, or that would have to be labelled.",
            "examples",
            0,
        ),
    )
    avg_input_tokens: int = field(
        default=300,
        metadata=_meta(
            "Input length", "Average length of one input (≈ 0.75 words per token).", "tokens", 0
        ),
    )
    avg_output_tokens: int = field(
        default=20,
        metadata=_meta("Output length", "Average length of the expected output.", "tokens", 0),
    )
    data_change: DataChange = field(
        default="quarterly",
        metadata=_meta(
            "Information changes",
            "How often the underlying information (products, rules, documents) changes.",
        ),
    )
    stage: Stage = field(
        default="exploring",
        metadata=_meta("Stage", "Exploring an idea, running a pilot, or in production."),
    )
    tried_prompting: bool = field(
        default=False,
        metadata=_meta("Tried prompting", "A hosted or local LLM with a good prompt was tried."),
    )
    tried_rag: bool = field(
        default=False,
        metadata=_meta(
            "Tried RAG", "Retrieval-augmented generation (prompt + retrieved examples) was tried."
        ),
    )
    prior_results_acceptable: bool = field(
        default=False,
        metadata=_meta(
            "Results acceptable", "What was tried already met the quality bar, consistently."
        ),
    )
    needs_private_infra: bool = field(
        default=False,
        metadata=_meta("Private infrastructure", "The data may not be sent to a third-party API."),
    )
    needs_strict_format: bool = field(
        default=False,
        metadata=_meta(
            "Strict format",
            "A very specific format, tone or terminology is needed over thousands of requests.",
        ),
    )
    monthly_volume: int = field(
        default=5000,
        metadata=_meta("Monthly volume", "Items or requests handled per month.", "items/month", 0),
    )
    human_minutes_per_item: float = field(
        default=3.0,
        metadata=_meta(
            "Human time per item", "Time today's specialist spends per item.", "minutes", 0
        ),
    )
    human_hourly_cost_usd: float = field(
        default=45.0,
        metadata=_meta(
            "Human hourly cost", "Fully loaded hourly cost of that specialist.", "USD/hour", 0
        ),
    )
    total_budget_usd: float = field(
        default=50000.0,
        metadata=_meta("Total budget", "The whole budget for the AI project.", "USD", 0),
    )
    in_house_ml_team: bool = field(
        default=False,
        metadata=_meta("In-house ML team", "ML engineers are already on staff."),
    )
    base_model_params_b: float = field(
        default=7.0,
        metadata=_meta(
            "Base model size",
            "Size of the model to fine-tune (0.022 = all-MiniLM-L6-v2, 7 = a 7B LLM).",
            "billion parameters",
            0,
            exclusive_min=True,
        ),
    )
    method: Method = field(
        default="lora",
        metadata=_meta(
            "Method",
            "LoRA trains small adapters; QLoRA does so on a 4-bit base model; full trains "
            "every weight.",
        ),
    )
    gpu: str = field(
        default="A100-80GB",
        metadata=_meta(
            "GPU", "Accelerator used for training; one of the price table in the assumptions."
        ),
    )
    epochs: int = field(
        default=3,
        metadata=_meta("Epochs", "Passes over the training examples.", "epochs", 1),
    )

    def __post_init__(self) -> None:
        hints = _hints()
        for f in fields(self):
            value = getattr(self, f.name)
            _check_value(f.name, value, hints[f.name], f.metadata)
            if hints[f.name] is float and isinstance(value, int):
                object.__setattr__(self, f.name, float(value))  # 3 -> 3.0, so JSON round-trips

    # --- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Any) -> Answers:
        """Build from a JSON-like dict; missing keys take defaults, unknown keys are rejected.

        Raises ValueError naming the key and what is allowed.
        """
        if not isinstance(data, dict):
            raise ValueError(f"answers: expected a JSON object, got {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        for key in data:
            if key not in names:
                raise ValueError(f"{key}: unknown key; allowed keys: {', '.join(sorted(names))}")
        hints = _hints()
        kwargs = {k: _coerce(v, hints[k]) for k, v in data.items()}
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> Answers:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(
                f"answers: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"
            ) from None
        return cls.from_dict(data)

    @classmethod
    def fields_help(cls, gpu_choices: list[str] | None = None) -> list[dict[str, Any]]:
        """One dict per question, in order, for building widgets.

        Keys: name, label, type ("int" | "float" | "bool" | "choice"), choices (list or None),
        default, help, unit, min, exclusive_min. `gpu` gets the GPU names of the packaged
        assumptions unless `gpu_choices` (e.g. `assumptions.gpu_names()`) is given.
        """
        if gpu_choices is None:
            from advisor.assumptions import load_assumptions  # lazy: it imports this module

            gpu_choices = load_assumptions().gpu_names()
        hints = _hints()
        out = []
        for f in fields(cls):
            choices = list(gpu_choices) if f.name == "gpu" else _choices(hints[f.name])
            kind = "choice" if choices else hints[f.name].__name__
            out.append(
                {
                    "name": f.name,
                    "label": f.metadata["label"],
                    "type": kind,
                    "choices": choices,
                    "default": f.default if f.default is not MISSING else None,
                    "help": f.metadata["help"],
                    "unit": f.metadata["unit"],
                    "min": f.metadata["min"],
                    "exclusive_min": bool(f.metadata.get("exclusive_min", False)),
                }
            )
        return out


# --- validation helpers -----------------------------------------------------------------------


def _hints() -> dict[str, Any]:
    return typing.get_type_hints(Answers)


def _choices(tp: Any) -> list[str] | None:
    return list(typing.get_args(tp)) if typing.get_origin(tp) is Literal else None


def _coerce(value: Any, tp: Any) -> Any:
    # JSON writers may emit 3.0 for an integer; accept a whole float, nothing else.
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _check_value(name: str, value: Any, tp: Any, meta: Any) -> None:
    choices = _choices(tp)
    if choices is not None:
        if not isinstance(value, str) or value not in choices:
            raise ValueError(f"{name}: must be one of {', '.join(choices)} (got {value!r})")
        return
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name}: must be true or false (got {value!r})")
        return
    if tp is str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name}: must be a non-empty name (got {value!r})")
        return
    _check_number(name, value, tp, meta)


def _check_number(name: str, value: Any, tp: Any, meta: Any) -> None:
    lo = meta.get("min")
    strict = meta.get("exclusive_min", False)
    bound = "" if lo is None else f" {'>' if strict else '>='} {lo:g}"
    what = "a whole number" if tp is int else "a number"
    ok_type = isinstance(value, int) if tp is int else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type:
        raise ValueError(f"{name}: must be {what}{bound} (got {value!r})")
    if not math.isfinite(value):
        raise ValueError(f"{name}: must be a finite number{bound} (got {value!r})")
    if lo is not None and (value <= lo if strict else value < lo):
        raise ValueError(f"{name}: must be {what}{bound} (got {value!r})")
