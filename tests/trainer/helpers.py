"""Helpers shared by the trainer tests (CLI runner, polling, tiny-run flags)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from core.spec import DataSpec
from core.split import prepare_dataset

REPO = Path(__file__).resolve().parents[2]


def base_args(tiny_data: dict[str, Path], runs_dir: Path, **extra) -> list[str]:
    """CLI flags of a small, fast run on the tiny data (1 thread: tests share 2 cores)."""
    args = [
        "--train",
        str(tiny_data["train"]),
        "--test",
        str(tiny_data["test"]),
        "--text-col",
        "text",
        "--label-col",
        "category",
        "--runs-dir",
        str(runs_dir),
        "--split-dir",
        str(runs_dir / "splits"),
        "--batch-size",
        "8",
        "--threads",
        "1",
        "--eval-samples",
        "8",
    ]
    for k, v in extra.items():
        flag = f"--{k.replace('_', '-')}"
        args += [flag] if v is True else [flag, str(v)]
    return args


def config_dict(tiny_data: dict[str, Path], runs_dir: Path, **extra) -> dict:
    cfg = {
        "train": str(tiny_data["train"]),
        "test": str(tiny_data["test"]),
        "text_col": "text",
        "label_col": "category",
        "runs_dir": str(runs_dir),
        "split_dir": str(runs_dir / "splits"),
        "batch_size": 8,
        "threads": 1,
        "eval_samples": 8,
    }
    cfg.update(extra)
    return cfg


def run_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), TOKENIZERS_PARALLELISM="false")
    return subprocess.run(
        [sys.executable, "-m", "trainer", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
    )


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    """Poll until `predicate()` is truthy; fail the test naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def read_status(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "status.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def split_and_predictions(tiny_data: dict[str, Path], runs_dir: Path, run_dir: Path):
    """(the saved split a run on the tiny data used, the rows of its predictions.csv)."""
    spec = DataSpec(
        str(tiny_data["train"]),
        str(tiny_data["test"]),
        "text",
        "category",
        split_dir=str(runs_dir / "splits"),
    )
    with open(run_dir / "predictions.csv") as fh:
        return prepare_dataset(spec), list(csv.DictReader(fh))
