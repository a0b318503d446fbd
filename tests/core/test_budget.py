"""The baseline's memory plan (issue 11 item 4): full when it fits, a stratified sample with a
clear message above the limit, a refusal when even the sample would not fit."""

from __future__ import annotations

import pytest

from core.budget import SAMPLE_TEST, SAMPLE_TRAIN, baseline_gb, baseline_plan, memory_limit_gb


def test_small_data_runs_in_full():
    plan = baseline_plan(8_000, 2_000, mean_words=11, limit_gb=8)
    assert not plan.sample and plan.message == "" and plan.train_rows == 8_000


def test_a_1_5m_row_upload_is_sampled_with_a_message():
    plan = baseline_plan(1_200_000, 300_000, mean_words=14, limit_gb=8)
    assert plan.sample and plan.estimate_gb > 8 >= plan.planned_gb
    assert (plan.train_rows, plan.test_rows) == (SAMPLE_TRAIN, SAMPLE_TEST)
    assert "1,500,000 rows" in plan.message and "stratified sample" in plan.message


def test_refused_when_even_the_sample_does_not_fit():
    with pytest.raises(ValueError, match="even for a sampled baseline"):
        baseline_plan(50_000_000, 1_000_000, mean_words=40, limit_gb=4)


def test_estimate_grows_with_rows_and_the_limit_reads_the_environment(monkeypatch):
    assert baseline_gb(2_000_000, 80) > 2 * baseline_gb(500_000, 80) - 2
    monkeypatch.setenv("ADVISOR_BASELINE_MEMORY_GB", "3.5")
    assert memory_limit_gb() == 3.5
    monkeypatch.setenv("ADVISOR_BASELINE_MEMORY_GB", "lots")
    with pytest.raises(ValueError, match="ADVISOR_BASELINE_MEMORY_GB"):
        memory_limit_gb()
