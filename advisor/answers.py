"""The questionnaire: what the business tells the advisor.

`Answers` is the single source of truth for the questions. Each field's metadata carries the
label, help text, unit and lower bound, so a UI can build its widgets from `Answers.fields_help()`
instead of repeating them. JSON keys are the field names.
"""

from __future__ import annotations

import functools
import json
import math
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Literal

TaskType = Literal[
    "classification", "extraction", "form_completion", "style", "domain_qa", "generation"
]
DataChange = Literal["daily", "weekly", "monthly", "quarterly", "yearly", "rarely", "never"]
Stage = Literal["exploring", "pilot", "production"]
Method = Literal["lora", "qlora", "full"]


def _meta(
    label: str,
    help: str,
    unit: str = "",
    min: float | None = None,
    max: float | None = None,
    **extra: Any,
) -> dict:
    return {"label": label, "help": help, "unit": unit, "min": min, "max": max, **extra}


@dataclass(frozen=True)
class Answers:
    task_type: TaskType = field(
        default="classification",
        metadata=_meta("Task", "What the model has to do for each item or request."),
    )
    labeled_examples: int = field(
        default=2000,
        metadata=_meta(
            "Labelled examples you have",
            "Examples with a correct answer you already hold (cleaned, formatted and reviewed "
            "before training, not labelled from scratch).",
            "examples",
            0,
            1e9,
        ),
    )
    n_classes: int = field(
        default=0,
        metadata=_meta(
            "Number of classes",
            "Classification only: how many labels an item can get (0 = not known yet; the app "
            "reads it from your data). A prompt lists every label, so more classes cost tokens.",
            "classes",
            0,
            100_000,
        ),
    )
    examples_to_label: int = field(
        default=0,
        metadata=_meta(
            "Examples still to label",
            "Further training examples someone still has to label from scratch.",
            "examples",
            0,
            1e9,
        ),
    )
    avg_input_tokens: int = field(
        default=300,
        metadata=_meta(
            "Input length",
            "Average length of one input (≈ 0.75 words per token).",
            "tokens",
            0,
            1e6,
            exclusive_min=True,
        ),
    )
    avg_output_tokens: int = field(
        default=20,
        metadata=_meta(
            "Output length",
            "Average length of the expected output (a label is a few tokens).",
            "tokens",
            0,
            1e6,
            exclusive_min=True,
        ),
    )
    data_change: DataChange = field(
        default="quarterly",
        metadata=_meta(
            "Information changes",
            "How often the underlying information (products, rules, documents) changes; "
            "'rarely' = every few years.",
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
    min_accuracy: float = field(
        default=0.0,
        metadata=_meta(
            "Accuracy needed",
            "Share of items an automated option must get right to be acceptable (0 = no hard "
            "bar: every error is costed as a human redoing the item, so accuracy still counts).",
            "fraction",
            0,
            1,
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
        metadata=_meta(
            "Monthly volume", "Items or requests handled per month.", "items/month", 0, 1e10
        ),
    )
    human_minutes_per_item: float = field(
        default=3.0,
        metadata=_meta(
            "Human time per item",
            "Time today's specialist spends per item.",
            "minutes",
            0,
            10_000,
        ),
    )
    human_hourly_cost_usd: float = field(
        default=45.0,
        metadata=_meta(
            "Human hourly cost",
            "Fully loaded hourly cost of that specialist.",
            "USD/hour",
            0,
            100_000,
        ),
    )
    total_budget_usd: float = field(
        default=50000.0,
        metadata=_meta("Total budget", "The whole budget for the AI project.", "USD", 0, 1e12),
    )
    in_house_ml_team: bool = field(
        default=False,
        metadata=_meta("In-house ML team", "ML engineers are already on staff."),
    )
    base_model: str = field(
        default="auto",
        metadata=_meta(
            "Base model",
            "The model the plan fine-tunes and serves. auto = a small encoder "
            "(all-MiniLM-L6-v2) for classification, a small LLM (SmolLM2-135M-Instruct) "
            "otherwise; or a model of the assumptions' table, or any name with its size below.",
        ),
    )
    base_model_params_b: float = field(
        default=0.0,
        metadata=_meta(
            "Base model size",
            "Size of the base model in billions of parameters (0 = the size of the named model; "
            "0.023 = all-MiniLM-L6-v2, 7 = a 7B LLM).",
            "billion parameters",
            0,
            10_000,
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
        default="auto",
        metadata=_meta(
            "GPU",
            "Accelerator used for training. auto = this machine's CPU for a model it can train "
            "(the small encoder, SmolLM2-135M), else the assumptions' default GPU; or one of the "
            "price table.",
        ),
    )
    epochs: int = field(
        default=3,
        metadata=_meta("Epochs", "Passes over the training examples.", "epochs", 1, 1000),
    )

    def __post_init__(self) -> None:
        hints = _hints()
        for f in fields(self):
            value = getattr(self, f.name)
            _check_value(f.name, value, hints[f.name], f.metadata)
            if hints[f.name] is float and isinstance(value, int):
                object.__setattr__(self, f.name, float(value))  # 3 -> 3.0, so JSON round-trips
        name = self.base_model.strip()
        if name != "auto" and self.base_model_params_b <= 0 and not _known_model(name):
            raise ValueError(
                f"base_model_params_b: give the size of '{name[:60]}' in billions of parameters "
                "(it is not in the model table of the assumptions)"
            )

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
    def defaulted(cls, data: Any) -> list[str]:
        """The questions `data` (a JSON object of answers) leaves out, which take defaults."""
        given = set(data) if isinstance(data, dict) else set()
        return [f.name for f in fields(cls) if f.name not in given]

    @classmethod
    def from_json(cls, text: str, name: str = "answers") -> Answers:
        """Parse strictly (see advisor.jsonio): duplicate keys, deep nesting and huge numbers
        are errors naming the key."""
        from advisor.jsonio import loads

        return cls.from_dict(loads(text, name))

    @classmethod
    def fields_help(
        cls, gpu_choices: list[str] | None = None, model_choices: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """One dict per question, in order, for building widgets.

        Keys: name, label, type ("int" | "float" | "bool" | "choice"), choices (list or None),
        default, help, unit, min, max, exclusive_min. `gpu` gets the GPU names of the packaged
        assumptions unless `gpu_choices` (e.g. `assumptions.gpu_names()`) is given; `base_model`
        gets "auto" and the model names of the assumptions unless `model_choices` is given.
        """
        if gpu_choices is None or model_choices is None:
            from advisor.assumptions import load_assumptions  # lazy: it imports this module

            a = load_assumptions()
            gpu_choices = a.gpu_names() if gpu_choices is None else gpu_choices
            model_choices = list(a.model_sizes()) if model_choices is None else model_choices
        hints = _hints()
        out = []
        for f in fields(cls):
            choices = _choices(hints[f.name])
            if f.name == "gpu":
                choices = ["auto", *[g for g in gpu_choices if g != "auto"]]
            elif f.name == "base_model":
                choices = ["auto", *[m for m in model_choices if m != "auto"]]
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
                    "max": f.metadata["max"],
                    "exclusive_min": bool(f.metadata.get("exclusive_min", False)),
                }
            )
        return out


# --- validation helpers -----------------------------------------------------------------------


@functools.cache
def _model_names() -> tuple[str, ...]:
    from advisor.assumptions import load_assumptions  # lazy: it imports this module

    return tuple(load_assumptions().model_sizes())


def _known_model(name: str) -> bool:
    """A model of the packaged table (users can change sizes, not add names)."""
    low = name.lower()
    return any(m.lower() in low for m in _model_names())


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
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise ValueError(f"{name}: must be a non-empty name of at most 200 characters")
        return
    _check_number(name, value, tp, meta)


def _check_number(name: str, value: Any, tp: Any, meta: Any) -> None:
    lo, hi = meta.get("min"), meta.get("max")
    strict = meta.get("exclusive_min", False)
    bound = "" if lo is None else f" {'>' if strict else '>='} {lo:g}"
    if hi is not None:
        top = f"{hi:,.0f}" if float(hi).is_integer() else f"{hi:g}"
        bound += f" and <= {top}" if bound else f" <= {top}"
    what = "a whole number" if tp is int else "a number"
    ok_type = isinstance(value, int) if tp is int else isinstance(value, int | float)
    shown = _short(value)
    if isinstance(value, bool) or not ok_type:
        raise ValueError(f"{name}: must be {what}{bound} (got {shown})")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name}: must be a finite number{bound} (got {shown})")
    too_low = lo is not None and (value <= lo if strict else value < lo)
    if too_low or (hi is not None and value > hi):
        raise ValueError(f"{name}: must be {what}{bound} (got {shown})")


def _short(value: Any) -> str:
    """repr, cut short: a 400-digit number is named, not printed."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge number"
    return text if len(text) <= 60 else text[:57] + "..."
