"""Run-time choices and estimates: precision from CPU flags + a burst, the thread governor, the
prediction's range, the CPU memory estimate, the loading ETA; and, on the shipped demo tickets
with the real model, the bf16 frozen weights (the calibration: test_calibration.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.cpu import matrix_flags
from trainer import estimate as est
from trainer import loop as loop_mod
from trainer.loop import ThreadGovernor

AMX_XEON = frozenset(
    "avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8 avx512_fp16".split()
)
ZEN4 = frozenset("avx2 avx512f avx512_vnni avx512_bf16".split())
AVX2_ONLY = frozenset("avx2 fma f16c".split())


# --- precision -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags, burst, want",
    [
        (AMX_XEON, {"fp32": 160e9, "bf16": 1400e9}, "bf16"),  # measured here: 8.8x
        (ZEN4, {"fp32": 75e9, "bf16": 180e9}, "bf16"),  # AVX512-BF16, no AMX: 2.4x
        (AMX_XEON, {"fp32": 160e9, "bf16": 158e9}, "fp32"),  # flags say AMX, kernels do not
        (AMX_XEON, None, "bf16"),  # no burst: trust the flags
        (AVX2_ONLY, None, "fp32"),  # emulated bf16 is slower
        (AVX2_ONLY, {"fp32": 60e9, "bf16": 90e9}, "fp32"),  # never bf16 without native support
        (frozenset(), {}, "fp32"),
    ],
)
def test_precision_is_chosen_from_flags_and_the_burst(flags, burst, want):
    precision, why = est.choose_cpu_precision(flags, burst)
    assert precision == want and why


def test_matrix_units_are_named_best_first():
    assert matrix_flags(AMX_XEON)[:3] == ["amx_bf16", "amx_int8", "avx512_bf16"]
    assert matrix_flags(ZEN4) == ["avx512_bf16", "avx512_vnni", "avx512f", "avx2"]
    assert matrix_flags(AVX2_ONLY) == ["avx2"]


# --- thread governor -------------------------------------------------------------------------


class Threads:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, n: int) -> None:
        self.calls.append(n)


def _governor(threads: int = 2) -> tuple[ThreadGovernor, Threads]:
    sink = Threads()
    return ThreadGovernor(2, threads, set_threads=sink), sink


def test_governor_keeps_all_cores_through_ordinary_noise():
    gov, sink = _governor()
    for i in range(60):
        assert gov.observe(1000 + (150 if i % 3 else -150), 0.1) is None
    assert sink.calls == [] and gov.threads == 2


def test_governor_drops_to_one_thread_on_a_stalled_step():
    gov, sink = _governor()
    for _ in range(10):
        gov.observe(1000, 0.1)
    changed = gov.observe(1000, 8.0)  # a 0.1 s step took 8 s: an OpenMP region stalled
    assert changed is not None and changed[0] == 1 and "slower" in changed[1]
    assert sink.calls == [1] and gov.threads == 1


def test_governor_does_not_judge_an_epoch_tail_or_a_new_shape():
    """Measured on a quiet AMX host: a 12-token epoch tail took 33 ms against ~0.1 s for 2,300
    tokens (the optimizer's fixed cost), and a new shape pays for oneDNN's kernels; neither may
    drop the run to one thread (it did, three times a run, before)."""
    gov, sink = _governor()
    for _ in range(10):
        gov.observe(2300, 0.1)
    assert gov.observe(12, 0.033) is None  # 360 tokens/s against 23,000: a tail, not a stall
    assert gov.observe(2300, 1.5, new_shape=True) is None  # a new width's first step
    assert sink.calls == [] and gov.threads == 2
    changed = gov.observe(2300, 1.5)  # the same slow step at a known shape is a stall
    assert changed is not None and changed[0] == 1


def test_governor_drops_when_the_rate_sinks_for_several_steps():
    gov, sink = _governor()
    for _ in range(10):
        gov.observe(3000, 1.0)
    got = [gov.observe(1200, 1.0) for _ in range(5)]  # 40% of the earlier rate
    switched = [i for i, g in enumerate(got) if g is not None]
    assert len(switched) == 1 and switched[0] >= 2  # the median of the last 5 steps sank
    assert got[switched[0]][0] == 1 and sink.calls == [1]


def test_governor_tries_all_cores_when_idle_and_keeps_them_only_if_faster(monkeypatch):
    monkeypatch.setattr(loop_mod, "idle_cores", lambda prev: (1.0, (0.0, 0.0)))

    def until_trial(gov: ThreadGovernor) -> int:
        for n in range(1, 20):  # 1 thread at 1000 tokens/s, 1 s per step, until recheck_s
            gov.observe(1000, 1.0)
            if gov.trial is not None:
                return n
        raise AssertionError("no trial started")

    gov, sink = _governor(threads=1)
    assert until_trial(gov) == 4 and sink.calls == [2]
    results = [gov.observe(900, 0.5) for _ in range(ThreadGovernor.TRIAL)]  # 1,800 tokens/s
    assert results[-1] is not None and results[-1][0] == 2 and gov.threads == 2
    assert "1.8x" in results[-1][1] and sink.calls == [2]

    gov, sink = _governor(threads=1)
    until_trial(gov)
    for _ in range(ThreadGovernor.TRIAL):  # all cores no faster: back to one, wait longer
        assert gov.observe(1020, 1.0) is None
    assert sink.calls == [2, 1] and gov.threads == 1 and gov.recheck_s == 8.0


def test_governor_stays_at_one_thread_while_the_other_core_is_busy(monkeypatch):
    monkeypatch.setattr(loop_mod, "idle_cores", lambda prev: (0.1, (0.0, 0.0)))
    gov, sink = _governor(threads=1)
    for _ in range(30):
        assert gov.observe(1000, 1.0) is None
    assert sink.calls == [] and gov.trial is None


def test_idle_cores_reads_the_machine():
    first, sample = loop_mod.idle_cores(None)
    assert first is None
    sum(i * i for i in range(200_000))  # let the clock tick
    idle, _ = loop_mod.idle_cores(sample)
    if Path("/proc/stat").exists():
        assert idle is None or 0.0 <= idle <= (__import__("os").cpu_count() or 1) + 0.01


# --- the prediction's range, memory, loading ETA ---------------------------------------------


def test_range_is_tight_when_quiet_and_wide_under_load():
    rates = [100.0, 102.0, 98.0, 101.0, 99.0, 100.0]
    lo, hi = est.spread_range(40.0, rates, cpu_share=1.0, load=1.0, cores=2)
    assert lo == pytest.approx(36.0) and hi == pytest.approx(44.0)  # +-10%
    lo, hi = est.spread_range(40.0, rates, cpu_share=0.5, load=6.0, cores=2)
    assert lo == pytest.approx(20.0)  # the passes had half a core: quiet would be twice faster
    assert hi == pytest.approx(60.0)  # 6 runnable on 2 cores: a third of a core each


def test_cpu_memory_counts_the_measured_process_and_scales_with_batch():
    size = est.known_model_size("shipped:all-MiniLM-L6-v2")
    assert size is not None
    small = est.estimate_memory_bytes(size, 700_000, 8, 64, "bf16", "lora", "cpu", 0.6e9)
    big = est.estimate_memory_bytes(size, 700_000, 32, 64, "bf16", "lora", "cpu", 0.6e9)
    assert small["resident"] == 0.6e9 and 0.6e9 < small["total"] < big["total"]
    cold = est.estimate_memory_bytes(size, 700_000, 32, 64, "bf16", "lora", "cpu")
    assert cold["resident"] > est.CPU_RUNTIME_BYTES  # runtime + weights when not measured


def test_loading_eta_defaults_then_learns_from_the_last_run(tmp_path):
    first = est.loading_eta(tmp_path, "cpu", "auto", "auto")
    assert first["phase_eta_s"] == est.DEFAULT_LOADING_S["auto"] and first["phase_started_at"]
    est.save_loading_s(tmp_path, "cpu", "auto", "auto", 4.25)
    assert est.loading_eta(tmp_path, "cpu", "auto", "auto")["phase_eta_s"] == 4.2
    assert est.loading_eta(tmp_path, "cpu", "auto", "generation")["phase_eta_s"] == 30.0
    est.save_loading_s(tmp_path, "cpu", "x", "auto", -3)  # nonsense is not trusted
    assert est.loading_eta(tmp_path, "cpu", "x", "auto")["phase_eta_s"] == 10.0


# --- the real model on the shipped demo tickets ----------------------------------------------


def test_frozen_weights_in_bf16_leave_the_loss_unchanged(demo_session):
    import torch

    from trainer.distributed import Dist
    from trainer.model import frozen_to_bf16
    from trainer.session import build_session
    from trainer.tasks import autocast_ctx

    cfg, data, s = demo_session
    frozen = [p for p in s.model.parameters() if not p.requires_grad]
    trained = [p for p in s.model.parameters() if p.requires_grad]
    assert all(p.dtype == torch.bfloat16 for p in frozen)
    assert all(p.dtype == torch.float32 for p in trained)  # AdamW keeps fp32 masters
    plain = build_session(cfg, data, "cpu", "fp32", Dist())  # same seed, weights left fp32
    plain.model.load_state_dict({k: v.float() for k, v in s.model.state_dict().items()})
    s.model.eval(), plain.model.eval()  # no dropout: the two losses see the same network
    batch = s.task.batch(list(range(16)), "cpu")
    with torch.no_grad(), autocast_ctx("cpu", torch.bfloat16):
        a = s.task.loss(s.model, batch)
        b = plain.task.loss(plain.model, batch)
    assert float(a) == pytest.approx(float(b), abs=1e-4)
    assert frozen_to_bf16(plain.model) > 0  # the conversion itself reports what it did
