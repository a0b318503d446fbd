"""Checkpoints: `checkpoints/step-<n>/` with the trainable weights (adapter + head) as
safetensors, optimizer/scheduler/RNG state, and `state.json` (the loop state) written last, so a
folder without `state.json` (cut by kill -9) is never used. The newest two are kept.
"""

from __future__ import annotations

import errno
import json
import pickle
import random
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from trainer.loop import LoopState
from trainer.runfolder import RunFolder, storage_errno, storage_reason

KEEP = 2


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {
        n: p.detach().to("cpu", copy=True).contiguous()
        for n, p in model.named_parameters()
        if p.requires_grad
    }


def save_checkpoint(
    run: RunFolder,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    state: LoopState,
    extra: dict[str, Any] | None = None,
) -> Path | None:
    if not run.writer:
        return None
    final = run.checkpoints / f"step-{state.step:07d}"
    tmp = run.checkpoints / f".tmp-step-{state.step:07d}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _write(tmp, model, optimizer, scheduler, state, extra)
    except Exception as exc:
        needed = _needed_bytes(run, model)
        code = storage_errno(exc) or _out_of_space(run.checkpoints, needed)
        shutil.rmtree(tmp, ignore_errors=True)  # earlier checkpoints stay as they were
        if code is None:
            raise
        raise StorageError(
            f"checkpoint step {state.step}: {storage_reason(code, run.checkpoints, needed)}"
        ) from None
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    _prune(run.checkpoints)
    return final


class StorageError(RuntimeError):
    """A run-folder write failed for lack of space or permission; the message is one line."""


def _write(
    tmp: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    state: LoopState,
    extra: dict[str, Any] | None,
) -> None:
    tmp.mkdir(parents=True)
    save_file(trainable_state(model), str(tmp / "trainable.safetensors"))
    rng = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    torch.save(
        {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": rng},
        tmp / "optim.pt",
    )
    (tmp / "state.json").write_text(json.dumps({**state.to_dict(), **(extra or {})}, indent=2))


def _out_of_space(folder: Path, needed: int) -> int | None:
    """ENOSPC when the disk has less room than a checkpoint needs: torch.save reports a full
    disk only as 'unexpected pos ...' from its zip writer."""
    try:
        return errno.ENOSPC if shutil.disk_usage(folder).free < needed else None
    except OSError:
        return None


def _needed_bytes(run: RunFolder, model: nn.Module) -> int:
    """Size of the last complete checkpoint, else weights + two Adam moments per trainable."""
    last = run.latest_checkpoint()
    if last is not None:
        return sum(p.stat().st_size for p in last.iterdir() if p.is_file())
    n = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    return 3 * n + 64 * 1024


def _prune(folder: Path) -> None:
    done = sorted(
        (p for p in folder.glob("step-*") if (p / "state.json").exists()),
        key=lambda p: int(p.name.split("-")[1]),
    )
    for old in done[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)


class UnsafeCheckpointError(ValueError):
    """A checkpoint file holds something other than tensors and plain values."""


def _load_untrusted(path: Path) -> dict[str, Any]:
    """Load optimizer/scheduler/RNG state with `weights_only=True`: a run folder is untrusted (it
    may come from a cluster or a colleague), and a full unpickle would run any code it names."""
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnsafeCheckpointError(
            f"{path} holds more than tensors and plain values ({first}); refusing to load it. "
            "Delete that checkpoint folder to resume from an earlier one, or start a new run."
        ) from None


def load_checkpoint(
    path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any
) -> tuple[LoopState, dict[str, Any]]:
    """Restore weights, optimizer, scheduler and RNG; returns (loop state, extra fields)."""
    weights = load_file(str(path / "trainable.safetensors"))
    params = dict(model.named_parameters())
    missing = [n for n in weights if n not in params]
    if missing:
        raise ValueError(f"checkpoint {path.name} does not fit this model (e.g. {missing[0]})")
    with torch.no_grad():
        for name, tensor in weights.items():
            params[name].copy_(tensor.to(params[name].device))
    blob = _load_untrusted(path / "optim.pt")
    optimizer.load_state_dict(blob["optimizer"])
    scheduler.load_state_dict(blob["scheduler"])
    torch.set_rng_state(blob["rng"]["torch"])
    version, internal, gauss = blob["rng"]["python"]
    random.setstate((version, tuple(internal), gauss))
    if blob["rng"]["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(blob["rng"]["cuda"])
    saved = json.loads((path / "state.json").read_text())
    fields = LoopState.__dataclass_fields__
    state = LoopState(**{k: v for k, v in saved.items() if k in fields})
    extra = {k: v for k, v in saved.items() if k not in fields}
    return state, extra
