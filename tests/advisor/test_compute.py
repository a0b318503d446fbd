from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor import Answers, training_estimate
from advisor.compute import gpus_needed, memory_estimate

from .conftest import INSURER


def test_tokens_and_flops_follow_the_formulas(assumptions):
    a = Answers(labeled_examples=1000, avg_input_tokens=90, avg_output_tokens=10, epochs=2,
                base_model_params_b=1.0, method="lora")  # fmt: skip
    t = training_estimate(a, assumptions)
    assert t.tokens == 1000 * 100 * 2
    assert t.flops == pytest.approx(4 * 1e9 * t.tokens)
    full = training_estimate(replace(a, method="full"), assumptions)
    assert full.flops == pytest.approx(6 * 1e9 * t.tokens)


def test_time_is_flops_over_gpus_peak_and_mfu(assumptions):
    t = training_estimate(INSURER, assumptions)
    spec = assumptions.gpu(INSURER.gpu)
    mfu = assumptions.range("compute.mfu")
    expected_s = t.flops / (t.gpu_count * spec.peak_flops * mfu.expected)
    assert t.train_hours.expected * 3600 == pytest.approx(expected_s)
    # low time comes with the high MFU
    assert t.train_hours.low * 3600 == pytest.approx(t.flops / (spec.peak_flops * mfu.high))


def test_cost_is_gpu_hours_times_price_times_runs(assumptions):
    t = training_estimate(INSURER, assumptions)
    price = assumptions.range(f"gpu.{INSURER.gpu}.usd_per_hour").expected
    runs = assumptions.value("compute.experimental_runs")
    setup = assumptions.value("compute.setup_hours_per_run")
    hours = (t.train_hours.expected + setup) * t.gpu_count
    assert t.compute_usd.expected == pytest.approx(hours * price * runs)
    assert t.compute_usd.low <= t.compute_usd.expected <= t.compute_usd.high


def test_70b_full_fine_tune_needs_several_80gb_gpus(assumptions):
    a = replace(INSURER, base_model_params_b=70.0, method="full", gpu="H100-80GB")
    t = training_estimate(a, assumptions)
    assert t.gpu_memory_gb > 70 * (2 + 12)  # weights + at least 12 B/param of optimizer
    assert t.gpu_count > 1
    assert t.gpu_count * 80 >= t.gpu_memory_gb


def test_7b_lora_fits_one_80gb_gpu_and_qlora_needs_less(assumptions):
    lora = training_estimate(INSURER, assumptions)
    assert lora.gpu_count == 1
    qlora = training_estimate(replace(INSURER, method="qlora", gpu="T4"), assumptions)
    assert qlora.gpu_memory_gb < lora.gpu_memory_gb
    assert qlora.gpu_count == 1  # 7B QLoRA fits a 16 GB T4
    m = memory_estimate(replace(INSURER, method="qlora"), assumptions)
    assert m.weights.expected == pytest.approx(0.5 * 7)


@pytest.mark.parametrize(
    "need, device, count", [(10, 80, 1), (81, 80, 2), (200, 80, 4), (500, 80, 8), (700, 80, 16)]
)
def test_gpus_needed_rounds_to_node_shapes(need, device, count):
    assert gpus_needed(need, device) == count


def test_measured_overrides(assumptions):
    base = training_estimate(INSURER, assumptions)
    doubled = training_estimate(INSURER, assumptions, mfu=base.mfu.expected * 2)
    assert doubled.train_hours.expected == pytest.approx(base.train_hours.expected / 2)
    faster = training_estimate(INSURER, assumptions, peak_flops=base.peak_flops * 4)
    assert faster.train_hours.expected == pytest.approx(base.train_hours.expected / 4)
    measured = training_estimate(INSURER, assumptions, tokens_per_s=5000.0)
    assert measured.train_hours.expected * 3600 == pytest.approx(base.tokens / 5000.0)
    assert measured.train_hours.low == measured.train_hours.high
    two = training_estimate(INSURER, assumptions, gpu_count=2)
    assert two.gpu_count == 2
    assert two.train_hours.expected == pytest.approx(base.train_hours.expected / 2)


def test_gpu_and_example_overrides_for_the_trainer(assumptions):
    small = replace(INSURER, base_model_params_b=0.022, avg_input_tokens=20, avg_output_tokens=1)
    cpu = training_estimate(small, assumptions, gpu="cpu", n_examples=770)
    assert cpu.gpu == "cpu" and cpu.gpu_count == 1
    assert cpu.tokens == 770 * 21 * INSURER.epochs
    assert 0 < cpu.train_hours.expected < 1
    d = cpu.to_dict()
    assert {"gpu", "gpu_count", "gpu_memory_gb", "train_hours", "compute_usd"} <= set(d)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"gpu": "B200"}, "^gpu: 'B200' is not in the price table"),
        ({"mfu": 1.5}, "^mfu:"),
        ({"peak_flops": 0}, "^peak_flops:"),
        ({"tokens_per_s": -1.0}, "^tokens_per_s:"),
        ({"gpu_count": 0}, "^gpu_count:"),
        ({"n_examples": -1}, "^n_examples:"),
    ],
)
def test_bad_estimate_arguments(assumptions, kwargs, message):
    with pytest.raises(ValueError, match=message):
        training_estimate(INSURER, assumptions, **kwargs)


def test_zero_examples_cost_only_setup(assumptions):
    t = training_estimate(replace(INSURER, labeled_examples=0), assumptions)
    assert t.tokens == 0 and t.train_hours.expected == 0


sizes = st.floats(min_value=0.01, max_value=200, allow_nan=False)  # x50 stays <= 10,000
counts = st.integers(min_value=0, max_value=2_000_000)


@settings(max_examples=60, deadline=None)
@given(n=counts, extra=st.integers(1, 500_000), method=st.sampled_from(["lora", "qlora", "full"]),
       gpu=st.sampled_from(["H100-80GB", "T4", "L4", "cpu"]))  # fmt: skip
def test_more_examples_never_lower_compute_cost(assumptions, n, extra, method, gpu):
    a = replace(INSURER, labeled_examples=n, method=method, gpu=gpu)
    b = replace(a, labeled_examples=n + extra)
    ca, cb = (training_estimate(x, assumptions).compute_usd for x in (a, b))
    assert cb.low >= ca.low and cb.expected >= ca.expected and cb.high >= ca.high


@settings(max_examples=60, deadline=None)
@given(p=sizes, factor=st.floats(min_value=1.0, max_value=50), method=st.sampled_from(
    ["lora", "qlora", "full"]), gpu=st.sampled_from(["H100-80GB", "A100-40GB", "T4"]))  # fmt: skip
def test_bigger_model_never_lowers_compute_cost(assumptions, p, factor, method, gpu):
    a = replace(INSURER, base_model_params_b=p, method=method, gpu=gpu)
    b = replace(a, base_model_params_b=p * factor)
    ta, tb = (training_estimate(x, assumptions) for x in (a, b))
    assert tb.compute_usd.expected >= ta.compute_usd.expected
    assert tb.compute_usd.high >= ta.compute_usd.high
    assert tb.gpu_count >= ta.gpu_count
