"""What the app shows about a run, as pure facts (trainer.outlook): progress and ETA from the
first report, the cancel message, predicted vs measured, real epochs, run names and dates, the
config the settings make."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

from trainer import outlook
from trainer.outlook import outcome_message, progress_of


def test_running_job_shows_step_loss_and_eta_but_no_second_prediction():
    status = {"state": "running", "phase": "training", "step": 3, "total_steps": 12,
              "progress": 0.25, "eta_s": 30.0, "predicted_train_s": 41.0}  # fmt: skip
    rows = [{"step": 3, "loss": 1.234, "samples_per_s": 9.5}]
    fraction, text = progress_of(status, rows)
    assert fraction == 0.25
    for part in ("step 3 of 12", "loss 1.234", "9.5 training examples/s", "ETA 30 s"):
        assert part in text
    assert "41" not in text and "estimat" not in text  # a re-estimate is an ETA, not a prediction


def test_queued_and_failed_jobs_say_why():
    fraction, text = progress_of({"state": "queued", "queue_position": 2}, [])
    assert fraction == 0.0 and "position 2" in text
    _, text = progress_of({"state": "failed", "reason": "out of memory: use a smaller batch"}, [])
    assert text.startswith("failed") and "smaller batch" in text


def test_completed_is_full():
    assert progress_of({"state": "completed"}, []) == (1.0, "completed")


def test_a_cancel_is_not_an_error_and_names_the_checkpoint_step():
    status = {"state": "cancelled", "step": 40, "total_steps": 400,
              "reason": "cancelled (SIGTERM); checkpoint step-0000040 saved - continue with "
                        "`python -m trainer resume r1`"}  # fmt: skip
    message = outcome_message(status)
    assert message.startswith("Cancelled at step 40 of 400")
    assert "Resume" in message and "python -m" not in message
    _, text = progress_of(status, [])
    assert "python -m" not in text
    assert "Resume" in outcome_message({"state": "interrupted", "step": 3, "total_steps": 9})
    assert "out of memory" in outcome_message({"state": "failed", "reason": "out of memory"})
    assert outcome_message({"state": "running"}) == ""


def test_predicted_before_launch_beside_measured(tmp_path):
    prediction = {"seconds": {"low": 5, "expected": 10.0, "high": 20}, "usd_per_hour": 0.36,
                  "memory_gb": {"expected": 1.06}, "device": "cpu"}  # fmt: skip
    outlook.save_prediction(tmp_path, prediction)
    assert outlook.launch_prediction(tmp_path) == prediction
    final = {"train_s": 20.0, "predicted_train_s": 14.0, "peak_memory_gb": {"cpu_rss_gb": 2.97}}
    rows = {r[""]: r for r in outlook.predicted_vs_actual(final, prediction)}
    assert rows["Training time"]["predicted before launch"] == "10 s"
    assert rows["Training time"]["measured"] == "20 s"
    # One compute-cost formula: seconds x hourly price.
    assert rows["Compute cost"]["predicted before launch"] == "$0.0010"
    assert rows["Compute cost"]["measured"] == "$0.0020"
    assert rows["Peak memory"]["predicted before launch"] == "1.06 GB"
    assert rows["Peak memory"]["measured"].startswith("2.97 GB")
    merged = outlook.with_launch_prediction(final, tmp_path)
    assert merged["predicted_train_s"] == 10.0 and merged["trainer_estimate_s"] == 14.0
    assert outlook.with_launch_prediction(final, tmp_path / "none") == final


def test_dates_are_human_and_names_show_in_pickers():
    ts = time.mktime((2026, 3, 4, 9, 5, 0, 0, 0, -1))
    assert outlook.human_time(ts) == "4 Mar 2026 09:05"
    assert outlook.human_time(None) == "—"
    shown = outlook.with_human_times({"created_at": ts, "state": "completed", "step": 3})
    assert shown == {"created_at": "4 Mar 2026 09:05", "state": "completed", "step": 3}
    run = {"run_id": "20260304-090500-abc123", "created_at": ts}
    assert outlook.run_label(run, {}) == "20260304-090500-abc123 · 4 Mar 2026 09:05"
    named = outlook.run_label(run, {"20260304-090500-abc123": "lr 1e-3"})
    assert named.startswith("lr 1e-3 (20260304-090500-abc123)")


def test_short_runs_log_every_step_and_check_held_out_loss(tmp_path):
    project = SimpleNamespace(runs_dir=tmp_path / "runs", splits_dir=tmp_path / "splits")
    choice = SimpleNamespace(train="/x.csv", test="", text_col="t", label_col="l",
                             split_task="classification", n_train=1600)  # fmt: skip
    cfg = outlook.make_config(project, choice, base_model="auto", epochs=3.0, max_steps=60,
                               batch_size=32, gate_override=False, lr=1e-3, lora_r=8)  # fmt: skip
    assert cfg.log_every == 1 and cfg.eval_every == 10
    assert cfg.lr == 1e-3 and cfg.lora_r == 8 and cfg.max_steps == 60
    long = outlook.make_config(project, choice, base_model="auto", epochs=3.0, max_steps=0,
                                batch_size=8, gate_override=False)  # fmt: skip
    assert long.max_steps is None and long.log_every == 10  # 600 steps
    assert long.lr == outlook.config_defaults().lr and long.lora_r == 16
    json.dumps(cfg.to_dict())


def test_loading_phases_show_their_estimate_and_an_eta_before_the_first_step():
    """Before the first step: the phase's own estimate counts down, and the ETA is what is left
    of it plus the training time predicted at launch."""
    prediction = {"seconds": {"low": 20.0, "expected": 40.0, "high": 80.0}}
    status = {"state": "running", "phase": "loading", "phase_eta_s": 25.0,
              "phase_started_at": 1000.0}  # fmt: skip
    _, text = progress_of(status, [], prediction, now=1010.0)
    assert text.startswith("running (loading, est. 15 s)")
    assert "ETA 55 s" in text
    # Without the trainer's phase estimate, the prediction alone still gives an ETA.
    _, text = progress_of({"state": "running", "phase": "starting"}, [], prediction, now=0.0)
    assert "ETA 40 s" in text and "est." not in text
    # Training started, no report yet: the prediction, less what training already took.
    training = {"state": "running", "phase": "training", "phase_started_at": 1000.0}
    assert "ETA 30 s" in progress_of(training, [], prediction, now=1010.0)[1]
    # Once the trainer measured its own ETA, that one is shown, from its first report on.
    status = {**status, "phase": "training", "eta_s": 33.0}
    _, text = progress_of(status, [], prediction, now=1010.0)
    assert "ETA 33 s" in text and "est." not in text
    # Nothing known: no made-up ETA.
    assert "ETA" not in progress_of({"state": "running", "phase": "loading"}, [])[1]


def test_max_steps_give_the_real_number_of_epochs():
    settings = {"epochs": 3.0, "batch_size": 32, "max_steps": 60}
    assert outlook.planned_steps(1600, settings) == 60
    assert round(outlook.effective_epochs(1600, settings), 2) == 1.2
    settings["max_steps"] = 0
    assert outlook.planned_steps(1600, settings) == 150
    assert outlook.effective_epochs(1600, settings) == 3.0


def test_a_damaged_prediction_or_config_file_reads_as_none(tmp_path):
    (tmp_path / outlook.PREDICTION_FILE).write_text("[1, 2]")
    (tmp_path / "config.json").write_text("{not json")
    assert outlook.launch_prediction(tmp_path) == {}
    assert outlook.run_config(tmp_path) == {}
