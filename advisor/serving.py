"""What serving the fine-tuned model costs a month, sized from the model and the volume.

For every device of the GPU table (the "cpu" VM included):
    memory   = params x 2 bytes (0.5 for QLoRA) x (1 + KV/activation overhead) + runtime
    devices  = enough to hold it (1, 2, 4, 8, then whole nodes)
    FLOPs    = 2 x params x tokens per request x requests a month
    compute  = FLOPs / (devices x peak x inference utilisation)
    hours    = max(hours kept up a month, compute hours)        -> cost = hours x devices x price
A device that needs longer than `serving.max_seconds_per_request` for one request is no option.
Where the data may leave, a managed endpoint priced per token (scaled by model size) competes
for an LLM.
The cheapest option (expected) is the plan's serving; `candidates` keeps the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from advisor.answers import Answers
from advisor.assumptions import Assumptions
from advisor.compute import gpus_needed
from advisor.plan import Plan
from advisor.ranges import Range


@dataclass(frozen=True)
class ServingOption:
    device: str  # a GPU name, "cpu" or "managed endpoint"
    count: int  # devices per replica (0 for a managed endpoint)
    memory_gb: float  # expected, all devices
    compute_hours: Range  # device-hours of pure compute a month
    billed_hours: Range  # hours a month each device is paid for
    usd_per_month: Range
    seconds_per_request: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "count": self.count,
            "memory_gb": round(self.memory_gb, 2),
            "compute_hours": self.compute_hours.to_dict(3),
            "billed_hours": self.billed_hours.to_dict(1),
            "usd_per_month": self.usd_per_month.to_dict(),
            "seconds_per_request": round(self.seconds_per_request, 4),
        }


@dataclass(frozen=True)
class ServingEstimate:
    chosen: ServingOption
    candidates: tuple[ServingOption, ...]  # every feasible option, cheapest first

    @property
    def usd_per_month(self) -> Range:
        return self.chosen.usd_per_month

    def to_dict(self) -> dict[str, Any]:
        return {**self.chosen.to_dict(), "candidates": [c.to_dict() for c in self.candidates]}


def tokens_per_request(answers: Answers, plan: Plan) -> int:
    """An encoder reads the input only; an LLM reads it and writes the output."""
    return answers.avg_input_tokens + (0 if plan.kind == "encoder" else answers.avg_output_tokens)


def serving_estimate(answers: Answers, a: Assumptions, plan: Plan) -> ServingEstimate:
    flops_per_request = (
        a.value("serving.flops_per_param_token")
        * plan.params_b
        * 1e9
        * tokens_per_request(answers, plan)
    )
    options = [_device(name, answers, a, plan, flops_per_request) for name in a.gpu_names()]
    feasible = [o for o in options if o is not None]
    if not answers.needs_private_infra and plan.kind == "llm":
        feasible.append(_managed(answers, a, plan))
    if not feasible:  # nothing answers in time: the fastest multi-GPU option, flagged by its time
        feasible = [min((o for o in _all(answers, a, plan, flops_per_request)),
                        key=lambda o: o.seconds_per_request)]  # fmt: skip
    feasible.sort(key=lambda o: o.usd_per_month.expected)
    return ServingEstimate(feasible[0], tuple(feasible))


def serving_memory_gb(a: Assumptions, plan: Plan) -> float:
    bytes_per = 0.5 if plan.method == "qlora" else 2.0
    weights = plan.params_b * bytes_per
    return weights * (1 + a.value("serving.memory_overhead_fraction")) + a.value(
        "memory.fixed_overhead_gb"
    )


def _all(answers: Answers, a: Assumptions, plan: Plan, flops: float) -> list[ServingOption]:
    return [_device(n, answers, a, plan, flops, check_time=False) for n in a.gpu_names()]  # type: ignore[misc]


def _device(
    name: str,
    answers: Answers,
    a: Assumptions,
    plan: Plan,
    flops_per_request: float,
    check_time: bool = True,
) -> ServingOption | None:
    spec = a.gpu(name)
    memory = serving_memory_gb(a, plan)
    count = gpus_needed(memory, spec.memory_gb)
    util = a.range("serving.mfu")
    seconds = flops_per_request / (count * spec.peak_flops * util.expected)
    if check_time and seconds > a.value("serving.max_seconds_per_request"):
        return None
    monthly_flops = flops_per_request * answers.monthly_volume
    compute = Range.point(monthly_flops / (count * spec.peak_flops * 3600)) / util
    up = a.range("serving.hours_per_month")
    billed = Range(*(max(u, c) for u, c in zip(_t(up), _t(compute), strict=True)))
    cost = billed * spec.usd_per_hour * count
    return ServingOption(name, count, memory, compute.scale(count), billed, cost, seconds)


def _managed(answers: Answers, a: Assumptions, plan: Plan) -> ServingOption:
    tokens_m = answers.monthly_volume * tokens_per_request(answers, plan) / 1e6
    size = max(plan.params_b, a.value("serving.managed_min_params_b"))
    cost = a.range("serving.managed_usd_per_1m_tokens_per_b_params").scale(tokens_m * size)
    zero = Range.point(0)
    return ServingOption("managed endpoint", 0, 0.0, zero, zero, cost, 0.0)


def _t(r: Range) -> tuple[float, float, float]:
    return r.low, r.expected, r.high
