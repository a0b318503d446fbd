"""JobManager with real worker processes on tiny data: queueing, status transitions, kill -9 +
resume, cancel, recovery of dead runs. Each job trains the shipped MiniLM for a few steps."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys

from tests.trainer.helpers import config_dict, read_status, wait_for
from trainer import procs
from trainer.jobs import JobManager
from trainer.runfolder import RunFolder

JOB_TIMEOUT = 240


def _state(jm: JobManager, run_id: str) -> str:
    return jm.status(run_id)["state"]


def test_recover_marks_dead_registered_run_interrupted(tmp_path, tiny_data):
    # A "python" that exits at once stands for a worker that crashed before writing anything.
    jm = JobManager(tmp_path / "runs", python="/bin/true")
    run_id = jm.launch(config_dict(tiny_data, tmp_path / "runs"))
    wait_for(lambda: _state(jm, run_id) == "interrupted", 20, "the dead job to be noticed")
    st = jm.status(run_id)
    assert "ended without finishing" in st["reason"]
    assert read_status(tmp_path / "runs" / run_id)["state"] == "interrupted"
    with sqlite3.connect(tmp_path / "runs" / "registry.sqlite") as db:
        assert db.execute("SELECT state FROM runs").fetchone()[0] == "interrupted"


def test_recover_marks_dead_foreground_run_interrupted(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    started = procs.start_time(dead.pid)
    dead.wait()
    run = RunFolder(tmp_path / "runs" / "fg-run")
    run.create()
    run.write_status("running", "", pid=dead.pid, pid_start=started)
    jm = JobManager(tmp_path / "runs")
    assert jm.recover() == ["fg-run"]
    assert jm.status("fg-run")["state"] == "interrupted"
    assert jm.recover() == []


def test_pid_reuse_is_not_mistaken_for_our_job():
    me = os.getpid()
    assert procs.alive(me, procs.start_time(me))
    assert not procs.alive(me, (procs.start_time(me) or 0) + 1)
    assert not procs.alive(None)


def test_second_launch_queues_then_runs(tmp_path, tiny_data):
    runs = tmp_path / "runs"
    jm = JobManager(runs)
    first = jm.launch(config_dict(tiny_data, runs, max_steps=6, run_id="first"))
    second = jm.launch(config_dict(tiny_data, runs, max_steps=4, run_id="second"))
    assert _state(jm, first) == "running"
    st = jm.status(second)
    assert st["state"] == "queued" and st["queue_position"] == 1

    def both_done() -> bool:
        return all(_state(jm, r) in ("completed", "failed") for r in (first, second))

    wait_for(both_done, JOB_TIMEOUT, "both queued jobs to finish", interval=0.5)
    a, b = jm.status(first), jm.status(second)
    assert (a["state"], b["state"]) == ("completed", "completed"), (a["reason"], b["reason"])
    assert b["started_at"] >= a["ended_at"] - 1.0  # the second ran after the first
    # The phase is checked at the end, not sampled while running: a 6-step run can pass through
    # "training" faster than any polling interval on a quiet machine (a flake seen in the suite).
    assert read_status(runs / first)["phase"] == "completed"
    rows = [r for r in jm.metrics(first) if "loss" in r]  # eval rows are rows of their own
    assert rows and {"step", "loss", "lr", "samples_per_s", "tokens_per_s", "eta_s"} <= set(
        rows[-1]
    )
    final = jm.final_metrics(first)
    assert final["gate_override"] is False and 0.0 <= final["accuracy"] <= 1.0
    assert [r["run_id"] for r in jm.list_runs()] == ["second", "first"]


def test_kill9_then_resume_completes(tmp_path, tiny_data):
    runs = tmp_path / "runs"
    jm = JobManager(runs)
    run_id = jm.launch(config_dict(tiny_data, runs, max_steps=40, save_every=3, log_every=1))
    run = RunFolder(runs / run_id)
    wait_for(run.latest_checkpoint, JOB_TIMEOUT, "a first checkpoint")
    st = jm.status(run_id)
    os.killpg(st["pid"], signal.SIGKILL)
    wait_for(lambda: not procs.alive(st["pid"], st["pid_start"]), 10, "the killed worker to die")
    assert jm.recover() == [run_id]
    assert _state(jm, run_id) == "interrupted"
    killed_at = int(run.latest_checkpoint().name.split("-")[1])
    assert killed_at < 40
    jm.resume(run_id)
    wait_for(lambda: _state(jm, run_id) in ("completed", "failed"), JOB_TIMEOUT, "the resume")
    st = jm.status(run_id)
    assert st["state"] == "completed", st["reason"]
    final = jm.final_metrics(run_id)
    assert final["steps"] == 40
    assert "resumed" in final["prediction_note"]
    steps = [r["step"] for r in jm.metrics(run_id) if "loss" in r]
    assert steps[-1] == 40 and min(s for s in steps if s > killed_at) == killed_at + 1


def test_cancel_saves_checkpoint_and_marks_cancelled(tmp_path, tiny_data):
    runs = tmp_path / "runs"
    jm = JobManager(runs)
    run_id = jm.launch(config_dict(tiny_data, runs, max_steps=500, save_every=1000))
    waiting = jm.launch(config_dict(tiny_data, runs, max_steps=2))
    assert jm.cancel(waiting)["state"] == "cancelled"  # queued: cancelled without starting
    assert "before it started" in jm.status(waiting)["reason"]
    wait_for(lambda: jm.status(run_id).get("step", 0) >= 1, JOB_TIMEOUT, "training to start")
    st = jm.cancel(run_id, grace_s=60)
    assert st["state"] == "cancelled", st
    assert "checkpoint" in st["reason"] and "resume" in st["reason"]
    ckpt = RunFolder(runs / run_id).latest_checkpoint()
    assert ckpt is not None and (ckpt / "trainable.safetensors").exists()
    assert not procs.alive(st["pid"], st["pid_start"])
    assert jm.status(waiting)["state"] == "cancelled"  # and it did not start afterwards
    assert not (runs / waiting / "metrics.jsonl").exists()
