"""On-disk embedding cache: one folder per (model, revision, settings), vectors in .npy shards.

Layout: `<cache_dir>/<space>/keys-<stamp>.npy` holds sha256 digests of texts, shape (n,) dtype S32;
`vecs-<stamp>.npy` beside it holds their vectors, shape (n, dim) float32. `space` is itself a hash
of the model id, its file hash and the encoding settings, so a vector is only ever reused for the
exact model and settings that made it. Shards are written to a temporary name and renamed, so a
reader never sees half a shard; two writers at once only duplicate work. Reading the whole cache
for 13k texts takes a few milliseconds (one memory-mapped array per shard).
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from pathlib import Path

import numpy as np

MAX_SHARDS = 8  # above this many shards a store is merged into one, to keep lookups cheap


def text_keys(space: str, texts: list[str]) -> np.ndarray:
    """sha256(space + text) per text, shape (n,) dtype S32."""
    prefix = hashlib.sha256(space.encode())
    out = []
    for text in texts:
        h = prefix.copy()
        h.update(text.encode("utf-8", "surrogatepass"))
        out.append(h.digest())
    return np.array(out, dtype="S32")


class EmbeddingCache:
    """Vectors keyed by text hash for one embedding space (model + revision + settings)."""

    def __init__(self, cache_dir: str | Path, space: str, dim: int):
        self.space = space
        self.dim = dim
        self.folder = Path(cache_dir) / hashlib.sha256(space.encode()).hexdigest()[:24]

    def _shards(self) -> list[tuple[Path, Path]]:
        if not self.folder.is_dir():
            return []
        pairs = []
        for keys in sorted(self.folder.glob("keys-*.npy")):
            vecs = keys.with_name("vecs-" + keys.name[len("keys-") :])
            if vecs.exists():
                pairs.append((keys, vecs))
        return pairs

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found mask shape (n,), vectors shape (n, dim) with zeros where not found)."""
        found = np.zeros(len(keys), dtype=bool)
        vectors = np.zeros((len(keys), self.dim), dtype=np.float32)
        for key_file, vec_file in self._shards():
            try:
                stored = np.load(key_file)
                stored_vecs = np.load(vec_file, mmap_mode="r")
            except (OSError, ValueError):
                continue  # a damaged shard is a cache miss, not an error
            if stored_vecs.shape != (len(stored), self.dim):
                continue
            # Sorted search: O((n + m) log m) instead of a Python dict over every key.
            order = np.argsort(stored)
            pos = np.searchsorted(stored, keys, sorter=order)
            pos = np.minimum(pos, len(stored) - 1)
            rows = order[pos]
            hit = (stored[rows] == keys) & ~found
            if hit.any():
                vectors[hit] = stored_vecs[rows[hit]]
                found |= hit
            if found.all():
                break
        return found, vectors

    def store(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Add a shard; merge shards when there are too many."""
        if not len(keys):
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write(np.asarray(keys, dtype="S32"), np.asarray(vectors, dtype=np.float32))
        shards = self._shards()
        if len(shards) > MAX_SHARDS:
            self._merge(shards)

    def _write(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        stamp = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        for prefix, array in (("vecs", vectors), ("keys", keys)):  # keys last: marks completion
            tmp = self.folder / f".{prefix}-{stamp}.tmp.npy"
            np.save(tmp, array)
            os.replace(tmp, self.folder / f"{prefix}-{stamp}.npy")

    def _merge(self, shards: list[tuple[Path, Path]]) -> None:
        keys = np.concatenate([np.load(k) for k, _ in shards])
        vecs = np.concatenate([np.load(v) for _, v in shards])
        keys, first = np.unique(keys, return_index=True)
        self._write(keys, vecs[first])
        for key_file, vec_file in shards:
            key_file.unlink(missing_ok=True)
            vec_file.unlink(missing_ok=True)
