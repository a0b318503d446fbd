"""Unusable runs folders and inputs are one line from `trainer train` / `launch` (issue 17 items 5
and 6), through the real CLI, before any model loads: a runs folder under a regular file or on a
full disk (the read-only one is in test_hardening), identifier-like labels with one example per
class, a label count that cannot fit, and a run whose estimate is over --max-hours; an inferred
task is said on stderr with the flag that overrides it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import DEMO_TICKETS
from tests.rag_baseline.test_cli_bounds import identifier_labels_file, many_labels_file
from tests.trainer.helpers import base_args, run_cli


def _one_error(res: subprocess.CompletedProcess) -> str:
    assert res.returncode == 2, res.stderr[-3000:]
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("trainer: ")]
    assert len(lines) == 1, res.stderr[-3000:]
    return lines[0]


def _demo_args(tmp_path: Path, runs: Path, *extra: str) -> list[str]:
    return [
        "--train", str(DEMO_TICKETS), "--text-col", "text", "--label-col", "category",
        "--runs-dir", str(runs), "--split-dir", str(tmp_path / "splits"), "--threads", "1",
        *extra,
    ]  # fmt: skip


@pytest.mark.parametrize("cmd", ["train", "launch"])
def test_runs_dir_under_a_regular_file_is_one_line(tiny_data, tmp_path, cmd):
    blocker = tmp_path / "X"
    blocker.write_text("a file, not a folder")
    line = _one_error(run_cli(cmd, *base_args(tiny_data, blocker / "runs", max_steps=1)))
    assert "runs_dir" in line and "is a file, not a folder" in line, line


@pytest.fixture
def full_disk(tmp_path):
    """A 512 KB tmpfs (needs root), so nearly full for any run."""
    where = tmp_path / "full"
    where.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(where)], capture_output=True
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {res.stderr!r}")
    yield where
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.mark.parametrize("cmd", ["train", "launch"])
def test_runs_dir_on_a_full_disk_is_one_line(tiny_data, full_disk, tmp_path, cmd):
    args = [*base_args(tiny_data, full_disk / "runs", max_steps=1)]
    args[args.index("--split-dir") + 1] = str(tmp_path / "splits")
    line = _one_error(run_cli(cmd, *args))
    assert "no space left on the disk holding" in line, line
    assert not list((full_disk / "runs").glob("*/config.json"))


def test_identifier_labels_stay_classification_and_are_refused(tmp_path):
    data = identifier_labels_file(tmp_path / "intents.csv")
    res = run_cli("train", "--train", str(data), "--runs-dir", str(tmp_path / "runs"),
                  "--split-dir", str(tmp_path / "splits"), "--max-steps", "1")  # fmt: skip
    line = _one_error(res)
    assert "examples per class" in line and "read as classification" in line, line
    assert "--task generation" in line, line
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_fifty_thousand_labels_are_refused_before_the_run(tmp_path):
    data = many_labels_file(tmp_path / "labels.csv")
    res = run_cli("train", "--train", str(data), "--runs-dir", str(tmp_path / "runs"),
                  "--split-dir", str(tmp_path / "splits"), "--max-steps", "3")  # fmt: skip
    line = _one_error(res)
    assert "50,000 classes" in line and "GB" in line, line
    notes = [ln for ln in res.stderr.splitlines() if ln.startswith("note: task:")]
    assert len(notes) == 1 and "--task generation" in notes[0], res.stderr


def test_a_run_over_max_hours_is_refused_naming_what_takes_the_time(tmp_path):
    runs = tmp_path / "runs"
    res = run_cli("train", *_demo_args(tmp_path, runs, "--max-steps", "3", "--max-hours", "1e-4"))
    line = _one_error(res)
    assert "estimate: about" in line and "for 3 steps" in line, line
    assert "--max-hours" in line and "warm start" in line and "--no-warm-start" in line, line
    assert not runs.exists() or not list(runs.glob("*/config.json"))
