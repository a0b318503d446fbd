"""The measured time estimate: the step-time line it prices a plan with, the batches it times,
and, on the demo tickets with the real model, that it leaves the run exactly as it found it."""

from __future__ import annotations

import pytest

from trainer import estimate as est
from trainer.calibration import calibrate, spread_picks


def test_step_time_recovers_a_fixed_cost_and_a_per_token_cost():
    points = {t: 0.040 + 0.00015 * t for t in (224, 320, 448, 608, 1152)}
    line = est.fit_step_time(list(points.items()))
    assert line.fixed_s == pytest.approx(0.040)
    assert line.per_token_s == pytest.approx(0.00015)
    # what a single rate (seconds per token of a narrow batch) would charge a wide step: +19%
    narrow_rate = points[320] / 320
    assert narrow_rate * 2592 > 1.15 * line(2592)


def test_step_time_shrugs_off_one_pass_slowed_by_another_process():
    points = {t: 0.040 + 0.00015 * t for t in (224, 320, 448, 608, 1152)}
    samples = list(points.items()) + [(448, 3 * points[448])]  # a descheduled thread
    line = est.fit_step_time(samples)
    assert line(2592) == pytest.approx(0.040 + 0.00015 * 2592, rel=0.05)


def test_step_time_of_one_size_is_proportional_and_never_negative():
    assert est.fit_step_time([(100, 0.5), (100, 0.7)])(200) == pytest.approx(1.2)
    falling = est.fit_step_time([(100, 0.01), (200, 0.5), (300, 0.9)])  # would cross zero
    assert falling.fixed_s >= 0 and falling(10) >= 0
    with pytest.raises(ValueError):
        est.fit_step_time([])


def test_picks_spread_over_the_widths_smallest_first():
    lengths = [5 + (i * 7) % 60 for i in range(200)]
    batches = [list(range(i, min(i + 32, 200))) for i in range(0, 200, 32)]
    batches = [sorted(b, key=lambda i: lengths[i]) for b in batches]
    picks = spread_picks(batches, lengths, (0.0, 0.5, 1.0))
    widths = [max(lengths[i] for i in b) for b in picks]
    assert widths == sorted(set(widths))
    assert all(len(b) == 32 for b in picks)  # the short last batch is extrapolated
    full = [b for b in batches if len(b) == 32]
    assert widths[0] == min(max(lengths[i] for i in b) for b in full)
    assert widths[-1] == max(max(lengths[i] for i in b) for b in full)


def test_calibration_prices_steps_new_widths_and_warm_start(demo_session):
    _, _, s = demo_session
    estimate, threads = calibrate(s)
    assert threads == 0 and estimate.source == "measured"
    parts = estimate.parts
    assert parts["steps"] > 0 and parts["warm_start"] > 0 and parts["new_widths"] >= 0
    lo, hi = estimate.range_s
    assert lo <= estimate.seconds <= hi
    assert s.plan.widths and max(s.plan.widths) <= s.cfg.max_length


def test_calibration_takes_real_steps_and_undoes_them(demo_session):
    import torch

    _, _, s = demo_session
    before = {n: p.detach().clone() for n, p in s.model.named_parameters() if p.requires_grad}
    rng = torch.get_rng_state()
    calibrate(s)
    after = dict(s.model.named_parameters())
    assert all(torch.equal(before[n], after[n]) for n in before)
    assert not s.optimizer.state  # the run's first step starts from fresh moments
    assert all(p.grad is None for p in s.model.parameters())
    assert torch.equal(rng, torch.get_rng_state())
    assert s.model.training  # the warm start's eval mode is not left behind


def test_eta_prices_the_remaining_steps_by_the_line_not_by_recent_tokens_per_second():
    from trainer.loop import Loop, Plan

    line = est.StepTime(0.040, 0.00015)
    tokens = [224] * 20 + [2592] * 20  # narrow steps first, wide ones left
    plan = Plan(40, 40, 1, tokens, 30.0, frozenset({7, 81}))
    loop = Loop(None, None, None, None, None, plan, "cpu", None, step_time=line)
    for t in tokens[:20]:
        loop.recent.append((line(t) * 1.1, 32, t))  # this machine runs 10% behind the line
    secs = sum(r[0] for r in loop.recent)
    want = 1.1 * sum(line(t) for t in tokens[20:])
    assert loop._eta(20, secs, 20 * 224 / secs) == pytest.approx(want)
    loop.step_time = None  # tokens / recent tokens/s: the narrow steps' fixed cost, per token
    assert loop._eta(20, secs, 20 * 224 / secs) > 1.4 * want


def test_the_in_run_factor_is_learned_from_runs_and_bounded(tmp_path):
    key = "cpu/bf16/m/2"
    assert est.steps_factor(est.load_calibration(tmp_path, key)) == 1.0  # no run yet
    est.save_calibration(tmp_path, key, {"flops_per_s": 1e11, "steps_factor": 1.08})
    assert est.steps_factor(est.load_calibration(tmp_path, key)) == pytest.approx(1.08)
    assert est.learn_steps_factor(1.08, 1.12) == pytest.approx(1.10)
    assert est.learn_steps_factor(1.0, 40.0) == est.STEPS_FACTOR_BOUNDS[1]
    for bad in ("fast", None, float("nan"), -3):  # calibration.json is input
        assert 0.7 <= est.steps_factor({"steps_factor": bad}) <= 1.5
