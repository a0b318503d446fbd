"""Devices, precision, DDP set-up from the launcher's environment, and the stop flag.

`accelerate launch -m trainer train ...` and `torchrun --nproc_per_node N -m trainer train ...`
both set RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT; with WORLD_SIZE > 1 we
join the process group (NCCL on CUDA, Gloo on CPU) and wrap the model in DDP. Only rank 0
writes the run folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from trainer.config import InputError


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    import torch.distributed as dist

    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "cuda":
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")
    return Dist(rank, world, local)


def barrier(d: Dist) -> None:
    if d.enabled:
        import torch.distributed as dist

        dist.barrier()


def any_rank(d: Dist, flag: bool, device: str) -> bool:
    """True on every rank if any rank says True (so all ranks stop at the same step)."""
    if not d.enabled:
        return flag
    import torch.distributed as dist

    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def shutdown(d: Dist) -> None:
    if d.enabled:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def resolve_device(choice: str) -> str:
    if choice == "cuda" and not torch.cuda.is_available():
        raise InputError("device: cuda was asked for but no CUDA GPU is visible; use auto or cpu")
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return choice


def resolve_precision(choice: str, device: str) -> str:
    if choice != "auto":
        if choice == "bf16" and device == "cuda" and not torch.cuda.is_bf16_supported():
            raise InputError("precision: this GPU has no bf16; use fp32")
        return choice
    if device == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    from trainer.model import auto_cpu_precision  # CPU flags + a measured matmul burst

    return auto_cpu_precision()[0]


def amp_dtype(precision: str) -> torch.dtype | None:
    return torch.bfloat16 if precision == "bf16" else None
