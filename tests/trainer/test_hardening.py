"""Hostile run folders, two writers, data changed under a run, full and read-only disks, and the
small things (issue 11 items 1-3, 5, 8), through the real CLI on the tiny banking77 slice."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from tests.trainer.helpers import REPO, base_args, read_status, run_cli, wait_for
from trainer.runfolder import RunFolder


def _error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr[-3000:]
    return [ln for ln in stderr.splitlines() if ln.startswith("trainer: ")]


@pytest.fixture(scope="module")
def data(tiny_data, tmp_path_factory) -> dict[str, Path]:
    """A private copy of the tiny data (tests here change files)."""
    out = tmp_path_factory.mktemp("hdata")
    for key in ("train", "test"):
        shutil.copy(tiny_data[key], out / f"{key}.csv")
    return {"train": out / "train.csv", "test": out / "test.csv"}


def _args(data, runs: Path, **extra) -> list[str]:
    args = base_args(data, runs, **extra)
    return [*args, "--split-dir", str(runs.parent / "splits")]


@pytest.fixture(scope="module")
def done_run(data, tmp_path_factory) -> Path:
    """A completed 4-step run with checkpoints at steps 2 and 4 and a metrics row per step."""
    runs = tmp_path_factory.mktemp("hruns") / "runs"
    res = run_cli(
        "train",
        *_args(data, runs, max_steps=4, save_every=2, log_every=1, run_id="done"),
        "--gate-override",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return runs / "done"


def _copy_as_stopped(done: Path, runs: Path, name: str, keep_step: int | None = None) -> Path:
    """A copy of the completed run that looks cancelled (optionally back at `keep_step`)."""
    run = runs / name
    shutil.copytree(done, run)
    (run / "metrics.json").unlink()
    shutil.rmtree(run / "adapter", ignore_errors=True)
    if keep_step is not None:
        for ckpt in (run / "checkpoints").glob("step-*"):
            if int(ckpt.name.split("-")[1]) > keep_step:
                shutil.rmtree(ckpt)
    st = json.loads((run / "status.json").read_text())
    st.update(state="cancelled", reason="cancelled (SIGTERM)", run_id=name)
    (run / "status.json").write_text(json.dumps(st))
    return run


class _Boom:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_optim_pt_does_not_run_on_resume(done_run, tmp_path):
    runs = tmp_path / "runs"
    run = _copy_as_stopped(done_run, runs, "evil")
    marker = tmp_path / "PWNED"
    ckpt = RunFolder(run).latest_checkpoint()
    torch.save({"optimizer": _Boom(str(marker)), "scheduler": {}, "rng": {}}, ckpt / "optim.pt")
    res = run_cli("resume", "evil", "--runs-dir", str(runs))
    assert not marker.exists(), "the pickle in optim.pt ran a command"
    assert res.returncode == 2
    lines = _error_lines(res.stderr)
    assert len(lines) == 1 and "refusing to load it" in lines[0], res.stderr[-2000:]
    assert read_status(run)["state"] == "failed"


def test_real_checkpoint_resumes_and_replayed_steps_are_not_repeated(done_run, tmp_path):
    runs = tmp_path / "runs"
    run = _copy_as_stopped(done_run, runs, "good", keep_step=2)
    before = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    assert max(r["step"] for r in before) == 4  # steps 3-4 were logged after the checkpoint
    res = run_cli("resume", "good", "--runs-dir", str(runs), "--json")
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads(res.stdout)["status"] == "completed"
    assert "resumed from step-0000002" in res.stderr
    rows = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    train_steps = [r["step"] for r in rows if "loss" in r]
    assert train_steps == sorted(set(train_steps)) and train_steps[-1] == 4


def test_resume_of_a_completed_run_is_refused(done_run):
    final = (done_run / "metrics.json").read_bytes()
    res = run_cli("resume", "done", "--runs-dir", str(done_run.parent))
    assert res.returncode == 2
    lines = _error_lines(res.stderr)
    assert len(lines) == 1 and "is completed" in lines[0]
    assert (done_run / "metrics.json").read_bytes() == final


def test_resume_of_a_running_run_is_refused(data, tmp_path):
    runs = tmp_path / "runs"
    env = dict(os.environ, PYTHONPATH=str(REPO), TOKENIZERS_PARALLELISM="false")
    args = _args(data, runs, max_steps=100_000, save_every=5, log_every=1, run_id="busy")
    first = subprocess.Popen(
        [sys.executable, "-m", "trainer", "train", *args, "--gate-override"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        run = runs / "busy"
        wait_for(lambda: read_status(run).get("step", 0) >= 2, 180, "the first writer to train")
        res = run_cli("resume", "busy", "--runs-dir", str(runs))
        assert res.returncode == 2
        lines = _error_lines(res.stderr)
        assert len(lines) == 1 and "being trained by another process" in lines[0], lines
        assert f"pid {first.pid}" in lines[0]
        assert read_status(run)["pid"] == first.pid  # the second never wrote the status
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)
    assert read_status(run)["state"] == "cancelled"
    assert f"--runs-dir {runs}" in read_status(run)["reason"]  # the hint is complete


def test_resume_refuses_changed_data(done_run, data, tmp_path):
    runs = tmp_path / "runs"
    run = _copy_as_stopped(done_run, runs, "moved")
    changed = tmp_path / "train.csv"
    frame = pd.read_csv(data["train"])
    frame.iloc[1:].to_csv(changed, index=False)  # one row fewer: a different split
    cfg = json.loads((run / "config.json").read_text())
    recorded = json.loads((run / "data_record.json").read_text())
    assert recorded["split_id"] and recorded["train_sha256"]
    cfg["train"] = str(changed)
    (run / "config.json").write_text(json.dumps(cfg))
    res = run_cli("resume", "moved", "--runs-dir", str(runs))
    assert res.returncode == 2
    lines = _error_lines(res.stderr)
    assert len(lines) == 1 and "changed since run 'moved' started" in lines[0], lines
    assert recorded["train_sha256"][:12] in lines[0]


def test_split_change_is_refused_even_with_the_same_files(done_run, data, tmp_path):
    from core.data import DataError
    from trainer.config import TrainConfig
    from trainer.runguard import record_data

    run = RunFolder(_copy_as_stopped(done_run, tmp_path / "runs", "split"))
    cfg = TrainConfig.from_json((run.config_path).read_text())
    record_data(run, cfg, json.loads(run.data_record_path.read_text())["split_id"], resume=True)
    with pytest.raises(DataError, match="held-out split changed"):
        record_data(run, cfg, "0123456789ab", resume=True)


def test_cancel_during_final_evaluation_says_so(data, tiny_data, banking77_slice, tmp_path):
    """A SIGTERM after the last step, while the held-out set is scored: completed, and the
    status says the stop came too late."""
    runs = tmp_path / "runs"
    test = pd.read_csv(banking77_slice / "test.csv")
    classes = sorted(pd.read_csv(data["train"])["category"].unique())
    big_test = tmp_path / "test.csv"
    test[test["category"].isin(classes)].sample(n=160, replace=True, random_state=0).to_csv(
        big_test, index=False
    )
    args = _args({"train": data["train"], "test": big_test}, runs, max_steps=2, run_id="late")
    env = dict(os.environ, PYTHONPATH=str(REPO), TOKENIZERS_PARALLELISM="false")
    proc = subprocess.Popen(
        [sys.executable, "-m", "trainer", "train", *args, "--gate-override", "--max-length", "512"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    run = runs / "late"
    evaluating = lambda: read_status(run).get("phase") == "evaluating"  # noqa: E731
    wait_for(evaluating, 180, "the final evaluation", interval=0.02)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 0
    st = read_status(run)
    assert st["state"] == "completed" and "during the final evaluation" in st["reason"]


def test_status_and_list_on_a_missing_runs_dir_do_not_create_it(tmp_path):
    missing = tmp_path / "nowhere"
    for cmd in (["status", "x"], ["list"], ["cancel", "x"]):
        res = run_cli(*cmd, "--runs-dir", str(missing))
        assert res.returncode == 2
        assert len(_error_lines(res.stderr)) == 1 and "no folder" in res.stderr
    assert not missing.exists()


@pytest.fixture
def small_disk(tmp_path):
    """A size-limited file system (tmpfs, needs root) mounted for one test; yields a mounter."""
    mounts: list[Path] = []

    def mount(size_bytes: int, read_only: bool = False) -> Path:
        where = tmp_path / f"disk{len(mounts)}"
        where.mkdir()
        opts = f"size={size_bytes}" + (",ro" if read_only else "")
        res = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True
        )
        if res.returncode != 0:
            pytest.skip(f"cannot mount a size-limited tmpfs here (needs root): {res.stderr!r}")
        mounts.append(where)
        return where

    yield mount
    for where in mounts:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_full_disk_fails_the_run_in_one_line_and_keeps_earlier_checkpoints(
    done_run, data, small_disk, tmp_path
):
    ckpt = RunFolder(done_run).latest_checkpoint()
    ckpt_bytes = sum(p.stat().st_size for p in ckpt.iterdir())
    disk = small_disk(int(ckpt_bytes * 1.6) + 512 * 1024)  # room for one checkpoint, not two
    runs = disk / "runs"
    args = base_args(data, runs, max_steps=6, save_every=2, log_every=1, run_id="full")
    res = run_cli("train", *args, "--split-dir", str(tmp_path / "splits"), "--gate-override")
    assert res.returncode == 1, res.stderr[-3000:]
    lines = _error_lines(res.stderr)
    assert len(lines) == 1 and "no space left on the disk holding" in lines[0], lines
    assert str(runs / "full" / "checkpoints") in lines[0] and "MB is needed" in lines[0]
    run = RunFolder(runs / "full")
    st = run.status()
    assert st["state"] == "failed" and "no space left" in st["reason"]
    assert run.latest_checkpoint().name == "step-0000002"  # the earlier one is intact
    assert (run.latest_checkpoint() / "state.json").exists()
    assert not list(run.checkpoints.glob(".tmp-*")) and not list(run.path.glob("*.tmp"))
    for cmd in (["status", "full"], ["list"]):
        res = run_cli(*cmd, "--runs-dir", str(runs), "--json")
        assert res.returncode == 0, res.stderr[-2000:]
    assert (
        json.loads(run_cli("status", "full", "--runs-dir", str(runs), "--json").stdout)["state"]
        == "failed"
    )


def test_read_only_runs_dir_gives_one_line_on_launch_and_train(data, small_disk, tmp_path):
    ro = small_disk(1 << 20, read_only=True)
    for cmd in ("launch", "train"):
        args = base_args(data, ro / "runs" if cmd == "train" else ro, max_steps=2)
        res = run_cli(cmd, *args, "--split-dir", str(tmp_path / "splits"))
        assert res.returncode == 2, (cmd, res.stderr[-2000:])
        lines = _error_lines(res.stderr)
        assert len(lines) == 1 and "read-only file system" in lines[0], (cmd, lines)


def test_spreadsheet_cells_are_escaped(tmp_path):
    """Formula-looking cells in CSVs a user may open in a spreadsheet (item 8)."""
    import csv

    from core.predictions import spreadsheet_safe
    from rag_baseline.evaluate import write_outputs
    from trainer.finalize import write_predictions

    evil = '=HYPERLINK("http://x","y")'
    assert spreadsheet_safe(evil) == "'" + evil
    assert [spreadsheet_safe(v) for v in ("+1x", "-a", "@b", "\tc", "-1", "3", "ok", 2.5)] == [
        "'+1x",
        "'-a",
        "'@b",
        "'\tc",
        "-1",
        "3",
        "ok",
        2.5,
    ]
    write_predictions(tmp_path / "p.csv", ["t0", "t1"], [evil, "-1"], ["@SUM(A1)", "-1"])
    with open(tmp_path / "p.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0] == {"id": "t0", "gold": "'" + evil, "pred": "'@SUM(A1)"}
    assert rows[1] == {"id": "t1", "gold": "-1", "pred": "-1"}
    write_outputs(tmp_path / "b", {"task": "classification"}, ["t0"], [evil], {"knn": ["+x"]})
    with open(tmp_path / "b" / "predictions.csv", newline="") as fh:
        assert list(csv.DictReader(fh)) == [{"id": "t0", "gold": "'" + evil, "knn": "'+x"}]
