"""How a job's status is summarised for the progress bar (pure function over status dicts)."""

from __future__ import annotations

from ui.training import progress_of


def test_running_job_shows_step_loss_eta_and_re_estimate():
    status = {"state": "running", "phase": "training", "step": 3, "total_steps": 12,
              "progress": 0.25, "eta_s": 30.0, "predicted_train_s": 41.0}  # fmt: skip
    rows = [{"step": 3, "loss": 1.234, "samples_per_s": 9.5}]
    fraction, text = progress_of(status, rows)
    assert fraction == 0.25
    for part in ("step 3 of 12", "loss 1.234", "9.5 samples/s", "ETA 30 s", "41 s"):
        assert part in text


def test_queued_and_failed_jobs_say_why():
    fraction, text = progress_of({"state": "queued", "queue_position": 2}, [])
    assert fraction == 0.0 and "position 2" in text
    _, text = progress_of({"state": "failed", "reason": "out of memory: use a smaller batch"}, [])
    assert text.startswith("failed") and "smaller batch" in text


def test_completed_is_full():
    assert progress_of({"state": "completed"}, []) == (1.0, "completed")
