"""Length-grouped batches and dynamic padding.

Batches are lists of example indices. With length grouping, a seeded permutation is cut into
mega-batches of 50 batches, each sorted by length, so a batch holds examples of similar length and
padding (wasted compute) is small, while the order still changes every epoch. The plan of every
epoch is a pure function of (seed, epoch), so a resumed run replays the same order and skips the
batches it has done. Under DDP each rank takes every world-th batch.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch

MEGA = 50


def epoch_batches(
    lengths: Sequence[int],
    batch_size: int,
    seed: int,
    epoch: int,
    group_by_length: bool = True,
    rank: int = 0,
    world: int = 1,
) -> list[list[int]]:
    """This rank's batches of one epoch (the longest batch first, so memory trouble shows early)."""
    rng = random.Random(seed * 100_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    if group_by_length:
        mega = batch_size * MEGA
        chunks = [order[i : i + mega] for i in range(0, len(order), mega)]
        order = [i for c in chunks for i in sorted(c, key=lambda j: -lengths[j])]
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if group_by_length and len(batches) > 1:
        longest = max(range(len(batches)), key=lambda b: lengths[batches[b][0]])
        first = batches.pop(longest)
        rng.shuffle(batches)
        batches.insert(0, first)
    if world > 1:
        usable = len(batches) - len(batches) % world or len(batches)
        batches = [b for i, b in enumerate(batches[:usable]) if i % world == rank]
    return batches


def padded_tokens(batches: Sequence[Sequence[int]], lengths: Sequence[int]) -> int:
    """Tokens processed including padding: sum over batches of size x longest."""
    return sum(len(b) * max(lengths[i] for i in b) for b in batches)


def pad_batch(
    seqs: Sequence[Sequence[int]], pad_id: int, side: str = "right", fill: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, attention_mask), both (batch, longest) int64; `fill` replaces pad_id in ids."""
    width = max(len(s) for s in seqs)
    value = pad_id if fill is None else fill
    ids = torch.full((len(seqs), width), value, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, s in enumerate(seqs):
        if side == "right":
            ids[row, : len(s)] = torch.tensor(s, dtype=torch.long)
            mask[row, : len(s)] = 1
        else:
            ids[row, width - len(s) :] = torch.tensor(s, dtype=torch.long)
            mask[row, width - len(s) :] = 1
    return ids, mask


def sorted_chunks(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Batches for inference: sorted by length so each batch pads little; order restored later."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
