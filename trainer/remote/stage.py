"""What travels with a Ray job: its runtime_env working dir, filled here. No torch, no Ray.

stage/
  trainer/ core/ rag_baseline/      the code (the cluster runs this version of it)
  data/train.csv data/test.csv      copies of the run's data files (same bytes)
  splits/split-<id>.json            the saved held-out split, checked again on the cluster
  model/                            a local base-model folder, when the run names one
  runs/<run_id>/config.json         the run's config, paths made relative to stage/
  runs/<run_id>/data_record.json    split id + sha256 of each data file (written at launch)
  runs/<run_id>/...                 on resume: status, metrics, last checkpoint

What is uploaded is decided once, at launch (`plan_uploads`), and kept with the job's handle:
a resume uploads those same files, refused when their bytes changed, whatever the run folder
says since. A model folder travels as regular files of known kinds only (no links followed,
no pickles, no code).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.data import DataError
from core.split import file_hash
from trainer.config import TrainConfig
from trainer.remote.local import REPO_ROOT
from trainer.remote.spec import ClusterError
from trainer.runfolder import RunFolder, write_json_atomic

CODE = ("trainer", "core", "rag_baseline")
MAX_UPLOAD_MB = 400  # Ray keeps a working_dir package in its GCS (limit 512 MiB)
MODEL_FILES = (".safetensors", ".json", ".txt", ".model", ".gguf", ".jinja", ".md", ".tiktoken")


def plan_uploads(cfg: TrainConfig) -> dict[str, Any]:
    """The files a job of `cfg` takes along, with their sha256, and the adapter's meta this
    side will write when the run completes. Bad data: one DataError line, here."""
    from core.split import prepare_dataset

    data = prepare_dataset(cfg.data_spec())
    base = cfg.resolved_base_model(data.task)
    folder = Path(base).expanduser()
    up: dict[str, Any] = {"train": _regular(cfg.train), "test": None, "split": data.split_path}
    if cfg.test:
        up["test"] = _regular(cfg.test)
    up["model"] = str(folder.resolve()) if folder.is_dir() else None
    up["base"] = base  # resolved here: the cluster's probe checks this very model
    for role in ("train", "test", "split"):
        if up[role]:
            up[f"{role}_sha256"] = file_hash(up[role])
    meta = {
        "task": data.task,
        "base_model": up["model"] or base,
        "method": cfg.method,
        "max_length": cfg.max_length,
        "max_new_tokens": cfg.max_new_tokens,
        "labels": data.labels if data.task == "classification" else [],
        "pooling": "mean+l2" if data.task == "classification" else None,
        "text_col": data.text_col,
        "label_col": data.label_col,
        "split_id": data.split_id,
    }
    return {"uploads": up, "meta": meta}


def write_data_record(run: RunFolder, uploads: dict[str, Any], split_id: str) -> None:
    """data_record.json as the trainer writes it, from this side (the job may not send one)."""
    record: dict[str, Any] = {"split_id": split_id}
    for role in ("train", "test"):
        if uploads.get(role):
            record[role] = uploads[role]
            record[f"{role}_sha256"] = uploads[f"{role}_sha256"]
    write_json_atomic(run.data_record_path, record)


def stage_working_dir(
    stage: Path, run: RunFolder, cfg: TrainConfig, uploads: dict[str, Any], resume: bool
) -> str:
    """Fill `stage` with the code, the recorded uploads and the run folder; returns the run
    folder's path relative to it."""
    for pkg in CODE:
        shutil.copytree(
            REPO_ROOT / pkg, stage / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    (stage / "data").mkdir()
    staged: dict[str, str | None] = {"test": None}
    for role in ("train", "test"):
        if uploads.get(role):
            dest = stage / "data" / (role + Path(uploads[role]).suffix)
            _copy_unchanged(uploads[role], uploads[f"{role}_sha256"], dest, role, run)
            staged[role] = str(dest.relative_to(stage))
    (stage / "splits").mkdir()
    split = Path(uploads["split"])
    _copy_unchanged(split, uploads["split_sha256"], stage / "splits" / split.name, "split", run)
    base = uploads.get("base") or cfg.base_model
    if uploads.get("model"):
        _copy_model(Path(uploads["model"]), stage / "model")
        base = "model"
    remote = replace(
        cfg,
        train=staged["train"],
        test=staged["test"],
        split_dir="splits",
        runs_dir="runs",
        base_model=base,
    )
    rel = f"runs/{run.run_id}"
    (stage / rel).mkdir(parents=True)
    (stage / rel / "config.json").write_text(remote.to_json())
    if run.data_record_path.is_file():
        shutil.copyfile(run.data_record_path, stage / rel / "data_record.json")
    if resume:
        _stage_resume(stage / rel, run)
    _check_size(stage)
    return rel


def _regular(path: str) -> str:
    p = Path(path).expanduser()
    if p.is_symlink() or not p.is_file():
        raise DataError(f"{path}: not a regular file (links are not uploaded to a cluster)")
    return str(p.resolve())


def _copy_unchanged(src: str | Path, sha256: str, dest: Path, role: str, run: RunFolder) -> None:
    src = Path(src)
    if src.is_symlink() or not src.is_file():
        raise DataError(
            f"{role}: {src} is gone since run '{run.run_id}' was launched; restore it to "
            "resume, or start a new run."
        )
    shutil.copyfile(src, dest, follow_symlinks=False)
    got = file_hash(dest)
    if got != sha256:
        dest.unlink()
        raise DataError(
            f"{role}: {src.name} changed since run '{run.run_id}' was launched (sha256 "
            f"{sha256[:12]} -> {got[:12]}); resuming would train on other data. Restore the "
            "original file or start a new run."
        )


def _copy_model(src: Path, dest: Path) -> None:
    """Regular files of known model kinds only; a link, a pickle or code is refused."""
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if any(part.startswith(".") for part in rel.parts):
            continue  # .cache/, .git: not the model
        if path.is_symlink():
            raise ClusterError(f"base_model: {path} is a link; copy the real file there")
        if path.is_dir():
            continue
        if path.suffix.lower() not in MODEL_FILES:
            raise ClusterError(
                f"base_model: {path.name} in {src} is not a safetensors model file (only "
                f"{', '.join(MODEL_FILES)} travel to a cluster; .bin/.pt/.pkl/.py never)"
            )
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest / rel, follow_symlinks=False)


def _check_size(stage: Path) -> None:
    size_mb = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file()) / 1e6
    if size_mb > MAX_UPLOAD_MB:
        raise ClusterError(
            f"cluster: the job's files are {size_mb:.0f} MB, more than Ray takes in a "
            f"working_dir ({MAX_UPLOAD_MB} MB); use a smaller data file or a hub model id"
        )


def _stage_resume(dest: Path, run: RunFolder) -> None:
    """The run folder a resume needs: its latest checkpoint, status and the metrics up to the
    checkpoint (trimmed here as the trainer would, so that the job's log carries on from the
    end of this very file). Regular files only."""
    ckpt = run.latest_checkpoint()
    run.trim_metrics(int(ckpt.name.split("-")[1]) if ckpt else 0)
    for name in ("status.json", "metrics.jsonl"):
        src = run.path / name
        if src.is_file() and not src.is_symlink():
            shutil.copyfile(src, dest / name)
    if ckpt is not None and not ckpt.is_symlink():
        out = dest / "checkpoints" / ckpt.name
        out.mkdir(parents=True)
        for f in ckpt.iterdir():
            if f.is_file() and not f.is_symlink():
                shutil.copyfile(f, out / f.name)
