"""The run plan: precision, token budget and overlap chosen from what the CPU has (flags in,
choice out), and from the speedup measured in the run's first seconds."""

from __future__ import annotations

import os

import pytest

from rag_baseline.plan import (
    EMBEDDING_OVERLAP_ROWS,
    SIDE_BY_SIDE_SPEEDUP,
    TOKEN_BUDGET,
    CpuInfo,
    choose_overlap,
    choose_plan,
    choose_precision,
    cpu_info,
    host_line,
    parse_cpuinfo,
)

AMX = "fpu avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8"
ZEN4 = "fpu avx2 avx512f avx512_vnni avx512_bf16"
AVX2 = "fpu sse4_2 avx avx2 fma"


def _cpu(flags: str, cores: int = 2, onednn: bool = True) -> CpuInfo:
    return CpuInfo("test CPU", frozenset(flags.split()), cores, onednn)


@pytest.mark.parametrize(
    ("flags", "onednn", "precision", "unit", "budget"),
    [
        (AMX, True, "bf16", "amx", TOKEN_BUDGET["amx"]),
        (ZEN4, True, "bf16", "avx512_bf16", TOKEN_BUDGET["avx512_bf16"]),
        (AVX2, True, "fp32", "none", TOKEN_BUDGET["fp32"]),
        (AMX, False, "fp32", "none", TOKEN_BUDGET["fp32"]),  # no oneDNN: no fused bf16 kernels
    ],
)
def test_precision_and_budget_follow_the_flags(flags, onednn, precision, unit, budget):
    plan = choose_plan(_cpu(flags, onednn=onednn))
    assert (plan.precision, plan.bf16_unit, plan.token_budget) == (precision, unit, budget)
    assert plan.probe_bf16 is (precision == "bf16")
    assert plan.reasons[0].startswith(f"precision {precision}")
    assert plan.to_dict()["reasons"] == list(plan.reasons)


def test_an_explicit_precision_or_a_gpu_wins_over_the_flags():
    assert choose_precision(_cpu(AVX2), "bf16") == "bf16"
    assert choose_precision(_cpu(AMX), "fp32") == "fp32"
    assert choose_precision(_cpu(AVX2), "auto", device="cuda:0") == "bf16"
    assert choose_plan(_cpu(AMX), "fp32").token_budget == TOKEN_BUDGET["fp32"]
    assert "asked for" in choose_plan(_cpu(AMX), "fp32").reasons[0]


def test_amx_hosts_batch_more_tokens_than_avx512_bf16_hosts():
    assert TOKEN_BUDGET["amx"] > TOKEN_BUDGET["avx512_bf16"]


def test_overlap_needs_two_cores_and_a_free_second_core():
    big = EMBEDDING_OVERLAP_ROWS
    assert choose_overlap(1, None, big) == "serial"
    assert choose_overlap(1, 2.0, big) == "serial"
    assert choose_overlap(2, None) == "side_by_side"
    assert choose_overlap(2, 1.9, big - 1) == "side_by_side"  # small: after the embedding
    assert choose_overlap(2, 1.9, big) == "embedding"  # large: from the start, beside it
    assert choose_overlap(2, SIDE_BY_SIDE_SPEEDUP, big) == "embedding"
    assert choose_overlap(2, 1.05, big) == "serial"  # the other core is busy right now
    assert choose_overlap(2, 1.05) == "serial"


def test_idle_cores_decide_the_overlap_where_known():
    big = EMBEDDING_OVERLAP_ROWS
    # An idle 2-core host whose timing burst read "busy": the idle cores win.
    assert choose_overlap(2, 1.05, big, idle=1.9) == "embedding"
    assert choose_overlap(2, 1.05, big - 1, idle=1.6) == "side_by_side"
    # Another process holds a core: serial, whatever the burst said.
    assert choose_overlap(2, 1.9, big, idle=1.0) == "serial"
    assert choose_overlap(8, 1.9, big, idle=1.2) == "serial"
    assert choose_overlap(8, None, big, idle=3.0) == "embedding"
    assert choose_overlap(1, None, big, idle=1.0) == "serial"


def test_idle_cores_now_reads_this_machine():
    from core.cpu import idle_cores_now

    idle = idle_cores_now(0.05)
    assert idle is not None and -0.01 <= idle <= (os.cpu_count() or 1) + 0.01


def test_cpuinfo_text_gives_model_and_flags():
    text = (
        "processor\t: 0\nmodel name\t: Intel(R) Xeon(R)   Processor\n"
        f"flags\t\t: {AMX}\n\nprocessor\t: 1\nmodel name\t: other\nflags\t\t: fpu\n"
    )
    model, flags = parse_cpuinfo(text)
    assert model == "Intel(R) Xeon(R) Processor" and "amx_bf16" in flags
    cpu = CpuInfo(model, flags, 2, True)
    assert cpu.matrix_units[:3] == ["AMX-BF16", "AMX-INT8", "AVX512-BF16"]
    assert "AMX-BF16" in cpu.describe() and "2 cores" in cpu.describe()
    assert parse_cpuinfo("") == ("unknown CPU", frozenset())


def test_this_host_is_described_with_its_load():
    cpu = cpu_info()
    assert cpu.cores >= 1 and cpu.model
    assert host_line().startswith(cpu.describe())
    assert "load average" in host_line()
