"""What travels with a Ray job: its runtime_env working dir, filled here. No torch, no Ray.

stage/
  trainer/ core/ rag_baseline/      the code (the cluster runs this version of it)
  data/train.csv data/test.csv      copies of the run's data files (same bytes)
  splits/split-<id>.json            the saved held-out split, checked again on the cluster
  model/                            a local base-model folder, when the run names one
  runs/<run_id>/config.json         the run's config, paths made relative to stage/
  runs/<run_id>/...                 on resume: status, metrics, data record, last checkpoint
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from trainer.config import TrainConfig
from trainer.launch import REPO_ROOT, ClusterError
from trainer.runfolder import RunFolder

CODE = ("trainer", "core", "rag_baseline")
MAX_UPLOAD_MB = 400  # Ray keeps a working_dir package in its GCS (limit 512 MiB)


def stage_working_dir(stage: Path, run: RunFolder, cfg: TrainConfig, resume: bool) -> str:
    """Fill `stage` with the code, the data, the saved split and the run folder; returns the run
    folder's path relative to it."""
    from core.split import prepare_dataset

    split = Path(prepare_dataset(cfg.data_spec()).split_path)  # bad data: one line, here
    for pkg in CODE:
        shutil.copytree(
            REPO_ROOT / pkg, stage / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    (stage / "data").mkdir()
    train = stage / "data" / ("train" + Path(cfg.train).suffix)
    shutil.copy2(cfg.train, train)
    test = None
    if cfg.test:
        test = stage / "data" / ("test" + Path(cfg.test).suffix)
        shutil.copy2(cfg.test, test)
    (stage / "splits").mkdir()
    shutil.copy2(split, stage / "splits" / split.name)
    base = cfg.base_model
    if Path(base).expanduser().is_dir():  # a local model folder travels too
        shutil.copytree(Path(base).expanduser(), stage / "model")
        base = "model"
    remote = replace(
        cfg,
        train=str(train.relative_to(stage)),
        test=str(test.relative_to(stage)) if test else None,
        split_dir="splits",
        runs_dir="runs",
        base_model=base,
    )
    rel = f"runs/{run.run_id}"
    (stage / rel).mkdir(parents=True)
    (stage / rel / "config.json").write_text(remote.to_json())
    if resume:
        _stage_resume(stage / rel, run)
    size_mb = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file()) / 1e6
    if size_mb > MAX_UPLOAD_MB:
        raise ClusterError(
            f"cluster: the job's files are {size_mb:.0f} MB, more than Ray takes in a "
            f"working_dir ({MAX_UPLOAD_MB} MB); use a smaller data file or a hub model id"
        )
    return rel


def _stage_resume(dest: Path, run: RunFolder) -> None:
    """The run folder a resume needs: its latest checkpoint, status, data record, and the
    metrics up to the checkpoint (trimmed here as the trainer would, so that the job's log
    carries on from the end of this very file)."""
    ckpt = run.latest_checkpoint()
    run.trim_metrics(int(ckpt.name.split("-")[1]) if ckpt else 0)
    for name in ("status.json", "metrics.jsonl", "data_record.json"):
        if (run.path / name).exists():
            shutil.copy2(run.path / name, dest / name)
    if ckpt is not None:
        shutil.copytree(ckpt, dest / "checkpoints" / ckpt.name)
