"""Checkpoints: `checkpoints/step-<n>/` with the trainable weights (adapter + head) as
safetensors, optimizer/scheduler/RNG state, and `state.json` (the loop state) written last, so a
folder without `state.json` (cut by kill -9) is never used. The newest two are kept.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from trainer.loop import LoopState
from trainer.runfolder import RunFolder

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
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    _prune(run.checkpoints)
    return final


def _prune(folder: Path) -> None:
    done = sorted(
        (p for p in folder.glob("step-*") if (p / "state.json").exists()),
        key=lambda p: int(p.name.split("-")[1]),
    )
    for old in done[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)


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
    blob = torch.load(path / "optim.pt", weights_only=False, map_location="cpu")
    optimizer.load_state_dict(blob["optimizer"])
    scheduler.load_state_dict(blob["scheduler"])
    torch.set_rng_state(blob["rng"]["torch"])
    random.setstate(blob["rng"]["python"])
    if blob["rng"]["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(blob["rng"]["cuda"])
    saved = json.loads((path / "state.json").read_text())
    fields = LoopState.__dataclass_fields__
    state = LoopState(**{k: v for k, v in saved.items() if k in fields})
    extra = {k: v for k, v in saved.items() if k not in fields}
    return state, extra
