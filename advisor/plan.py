"""The fine-tuning plan: which base model, how big, which method, trained on which GPU.

Chosen once in the answers (`base_model`, `base_model_params_b`, `method`, `gpu`) and resolved
here, so that the costs, the serving estimate, the trial, the comparison and the memo all name
the same model. "auto" proposes a default per task (a small encoder for classification, a small
LLM otherwise; both trainable on this machine). A model the trial cannot train here is tried
with a stand-in, and `Plan.trial_note` says how far the stand-in's numbers carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from advisor.answers import Answers
from advisor.assumptions import Assumptions

Kind = Literal["encoder", "llm"]
# The trainer's names of the models it ships (trainer/config.py SHIPPED_*); pure strings here.
TRAINER_IDS = {
    "all-MiniLM-L6-v2": "shipped:all-MiniLM-L6-v2",
    "SmolLM2-135M-Instruct": "shipped:SmolLM2-135M-Instruct",
}


@dataclass(frozen=True)
class Plan:
    base_model: str  # a name ("Llama-3.1-8B-Instruct") or "a 7B-parameter model"
    params_b: float
    kind: Kind
    method: str
    gpu: str
    chosen: str  # "auto" or the name the user gave
    trial_model: str  # the model the trial on this machine trains
    stand_in: bool  # the trial trains another (smaller) model than the plan

    @property
    def label(self) -> str:
        """'Llama-3.1-8B-Instruct (8.03B LLM, LoRA)'."""
        return f"{self.base_model} ({_size(self.params_b)} {self.kind_text}, {self.method_text})"

    @property
    def size_text(self) -> str:
        """'23M', '8.03B'."""
        return _size(self.params_b)

    @property
    def device_text(self) -> str:
        """Where the plan trains: 'this machine's CPU' or 'A100-80GB'."""
        return "this machine's CPU" if self.gpu == "cpu" else self.gpu

    @property
    def kind_text(self) -> str:
        return "encoder" if self.kind == "encoder" else "LLM"

    @property
    def method_text(self) -> str:
        return {"lora": "LoRA", "qlora": "QLoRA", "full": "full fine-tune"}[self.method]

    @property
    def trial_note(self) -> str:
        if not self.stand_in:
            return f"The trial trains the planned model, {self.base_model}, on this machine."
        return (
            f"{self.base_model} cannot be trained on this machine: the trial runs a stand-in, "
            f"{self.trial_model}. Its accuracy is a lower bound for the planned model on the same "
            "split; its time and cost say nothing about the planned model's, which come from the "
            "estimate."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "base_model": self.base_model,
            "params_b": self.params_b,
            "kind": self.kind,
            "method": self.method,
            "gpu": self.gpu,
            "chosen": self.chosen,
            "label": self.label,
            "size": self.size_text,
            "trains_on": self.device_text,
            "trial_model": self.trial_model,
            "trial_model_id": TRAINER_IDS.get(self.trial_model, self.trial_model),
            "stand_in": self.stand_in,
            "trial_note": self.trial_note,
        }


def default_model(task_type: str, a: Assumptions) -> str:
    key = "plan.default_classifier" if task_type == "classification" else "plan.default_generator"
    return a.items(key)[0]


def resolve_plan(answers: Answers, a: Assumptions) -> Plan:
    """The plan the answers describe. Raises ValueError naming base_model_params_b when the
    model is not in the table and no size is given."""
    sizes = a.model_sizes()
    chosen = answers.base_model.strip()
    explicit = answers.base_model_params_b
    if chosen == "auto" and explicit > 0:
        name = f"a {_size(explicit)}-parameter model"
    else:
        name = default_model(answers.task_type, a) if chosen == "auto" else chosen
    known = _lookup(name, sizes)
    if explicit > 0:
        params = explicit
    elif known is not None:
        params = sizes[known]
        name = known
    else:
        raise ValueError(
            f"base_model_params_b: give the size of '{name}' in billions of parameters "
            f"(it is not in the assumptions' model table: {', '.join(sizes)})"
        )
    encoders = a.items("plan.encoder_models")
    kind: Kind = "encoder" if known in encoders and answers.task_type == "classification" else "llm"
    here = a.items("plan.trainable_here")
    trainable = known if known in here and (explicit <= 0 or explicit == sizes[known]) else None
    trial = trainable or default_model(
        "classification" if kind == "encoder" or answers.task_type == "classification" else "other",
        a,
    )
    gpu = answers.gpu
    if gpu == "auto":  # a model this machine trains needs no rented GPU
        gpu = "cpu" if trainable is not None else a.items("plan.default_gpu")[0]
    return Plan(
        base_model=name,
        params_b=params,
        kind=kind,
        method=answers.method,
        gpu=gpu,
        chosen=chosen,
        trial_model=trial,
        stand_in=trainable is None,
    )


def _lookup(name: str, sizes: dict[str, float]) -> str | None:
    """Exact name, else a table name contained in it ('org/Llama-3.1-8B-Instruct')."""
    if name in sizes:
        return name
    low = name.lower()
    for known in sizes:
        if known.lower() in low:
            return known
    return None


def _size(params_b: float) -> str:
    if params_b < 1:
        return f"{params_b * 1000:,.0f}M"
    return f"{params_b:,.3g}B"
