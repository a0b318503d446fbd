"""Batching, estimates and the run folder: the pieces the loop and the app rely on."""

from __future__ import annotations

import random

import pytest

from trainer import estimate as est
from trainer.batching import epoch_batches, pad_batch, padded_tokens
from trainer.runfolder import RunFolder


def _lengths(n: int = 500, seed: int = 0) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(4, 60) for _ in range(n)]


def test_epoch_covers_every_example_once_and_is_reproducible():
    lengths = _lengths()
    a = epoch_batches(lengths, 32, seed=1, epoch=0)
    assert sorted(i for b in a for i in b) == list(range(len(lengths)))
    assert a == epoch_batches(lengths, 32, seed=1, epoch=0)
    assert a != epoch_batches(lengths, 32, seed=1, epoch=1)


def test_length_grouping_cuts_padding():
    lengths = _lengths(2000)
    grouped = padded_tokens(epoch_batches(lengths, 32, 0, 0, True), lengths)
    plain = padded_tokens(epoch_batches(lengths, 32, 0, 0, False), lengths)
    assert grouped < 0.7 * plain
    assert grouped >= sum(lengths)


def test_longest_batch_comes_first():
    lengths = _lengths()
    batches = epoch_batches(lengths, 16, 0, 0, True)
    assert max(lengths[i] for i in batches[0]) == max(lengths)


def test_ranks_get_disjoint_equal_shares():
    lengths = _lengths(330)
    shares = [epoch_batches(lengths, 16, 0, 0, True, rank=r, world=3) for r in range(3)]
    assert len({len(s) for s in shares}) == 1
    seen = [i for s in shares for b in s for i in b]
    assert len(seen) == len(set(seen))


def test_pad_batch_right_and_left():
    ids, mask = pad_batch([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    ids, mask = pad_batch([[5, 6, 7], [8]], pad_id=0, side="left")
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8]] and mask.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_time_estimate_scales_with_work_and_inverts():
    size = est.known_model_size("shipped:all-MiniLM-L6-v2")
    assert size is not None and size.non_embedding < size.total
    one = est.predict_time(size, 10_000, 10, 16, "lora", 1e11)
    two = est.predict_time(size, 20_000, 20, 16, "lora", 1e11)
    full = est.predict_time(size, 10_000, 10, 16, "full", 1e11)
    assert two.seconds == pytest.approx(2 * one.seconds)
    assert full.flops == pytest.approx(1.5 * one.flops)
    back = est.measured_flops_per_s(size, 10_000, 10, 16, "lora", one.seconds)
    assert back == pytest.approx(1e11, rel=1e-6)


def test_effective_flops_sources():
    assert est.effective_flops("cpu", "bf16", 2) > est.effective_flops("cpu", "bf16", 1)
    assert est.effective_flops("cpu", "bf16", 1) > est.effective_flops("cpu", "fp32", 1)
    assert est.effective_flops("cpu", "bf16", calibration={"flops_per_s": 5e9}) == 5e9
    assert est.effective_flops("cuda", "bf16", peak_flops=1e15, mfu=0.5) == 5e14


def test_memory_estimate_grows_with_batch_and_shrinks_with_qlora():
    size = est.known_model_size("SmolLM2-135M-Instruct")
    small = est.estimate_memory_bytes(size, 1_000_000, 4, 256, "bf16", "lora", "cuda")
    big = est.estimate_memory_bytes(size, 1_000_000, 32, 256, "bf16", "lora", "cuda")
    q = est.estimate_memory_bytes(size, 1_000_000, 4, 256, "bf16", "qlora", "cuda")
    assert big["total"] > small["total"] > q["total"]
    assert small["total"] == pytest.approx(sum(v for k, v in small.items() if k != "total"))


def test_calibration_file_round_trip(tmp_path):
    key = est.calibration_key("cpu", "bf16", "shipped:all-MiniLM-L6-v2", 2)
    assert est.load_calibration(tmp_path, key) is None
    est.save_calibration(tmp_path, key, {"flops_per_s": 1.5e11})
    assert est.load_calibration(tmp_path, key)["flops_per_s"] == 1.5e11
    assert est.cost_usd(3600, 2.5) == 2.5 and est.cost_usd(10, None) is None


def test_status_transitions_are_atomic_and_merge(tmp_path):
    run = RunFolder(tmp_path / "r1")
    run.create()
    run.write_status("queued", "waiting", device="cpu")
    run.write_status("running", "", pid=123)
    run.update_status(step=5, eta_s=10.0)
    st = run.write_status("completed")
    assert st["state"] == "completed" and st["device"] == "cpu" and st["step"] == 5
    assert st["started_at"] <= st["ended_at"]
    assert not list(run.path.glob(".*tmp"))
    with pytest.raises(ValueError, match="state"):
        run.write_status("exploded")


def test_metrics_log_skips_a_line_cut_by_kill(tmp_path):
    run = RunFolder(tmp_path / "r2")
    run.create()
    run.append_metrics({"step": 1, "loss": 2.0})
    with open(run.metrics_log, "a") as fh:
        fh.write('{"step": 2, "lo')
    assert run.metrics() == [{"step": 1, "loss": 2.0}]


def test_latest_checkpoint_ignores_incomplete(tmp_path):
    run = RunFolder(tmp_path / "r3")
    for step, complete in ((10, True), (20, True), (30, False)):
        d = run.checkpoints / f"step-{step:07d}"
        d.mkdir(parents=True)
        if complete:
            (d / "state.json").write_text("{}")
    assert run.latest_checkpoint().name == "step-0000020"
