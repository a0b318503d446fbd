"""Sentence embeddings, fast on a small CPU, cached on disk.

`Embedder(model).encode(texts)` returns L2-normalised float32 vectors, shape (n, dim). The shipped
all-MiniLM-L6-v2 is the default; any sentence-transformers id or folder works.

Why it is faster than `SentenceTransformer.encode(batch_size=32)` (measured in docs/benchmarks.md):
- all texts are tokenised in one call and grouped by exact token length, batches filled up to a
  token budget: no padding, no attention mask, short texts in big batches; duplicates are
  embedded once;
- where the CPU has native bf16 (avx512_bf16 or AMX) the encoder runs in bfloat16: BERT-layout
  models with oneDNN-fused linear layers (`rag_baseline.fastbert`), others under autocast;
  pooling and normalisation stay float32. Cosine to the fp32 vectors stays above 0.9999.
  Dynamic int8 quantisation was measured too and rejected: cosine to fp32 fell to ~0.95.
Models whose sentence-transformers pipeline is not plain Transformer + mean/CLS Pooling
(+ Normalize) fall back to `SentenceTransformer.encode`, still under autocast.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np

from core.models import (
    DEFAULT_EMBEDDER,
    ModelNotFoundError,
    resolve_local_or_hub,
    shipped_minilm_path,
)
from rag_baseline.cache import EmbeddingCache, text_keys
from rag_baseline.plan import choose_plan, cpu_info
from rag_baseline.threads import ThreadChoice
from rag_baseline.tokens import LongTexts, pieces, special_ids, token_ids, window_report

Precision = Literal["auto", "fp32", "bf16"]
Progress = Callable[[float, str], None]

TOKEN_BUDGET = 4096  # tokens per batch (rows x length) without a plan; the plan's is per CPU
MAX_BATCH = 512  # rows per batch, whatever the budget says
HASH_LIMIT_BYTES = 256 * 2**20  # files larger than this are fingerprinted by size + mtime only
FUSION_CHECK_TEXTS = [
    "I am still waiting on my card?",
    "Please cancel the transfer I made this morning to my landlord, it went to the wrong account.",
    "ok",
]


def cpu_has_native_bf16() -> bool:
    """True when the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX); else bf16 is slower."""
    return cpu_info().bf16_unit != "none"


def resolve_embedder(name: str) -> str:
    """A loadable folder or hub id for `name` (`shipped:...` means the packaged model)."""
    if name == DEFAULT_EMBEDDER or name.startswith("shipped:"):
        if name != DEFAULT_EMBEDDER:
            raise ModelNotFoundError(
                f"unknown shipped embedder '{name}'; the shipped one is '{DEFAULT_EMBEDDER}'."
            )
        return str(shipped_minilm_path())
    return resolve_local_or_hub(name)


def model_fingerprint(target: str) -> str:
    """Hash of a model's files (folder), or of the cached hub snapshot it resolves to."""
    folder = Path(target)
    if not folder.exists():
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(target, "config.json")
        if not isinstance(found, str):
            return f"hub:{target}"  # not cached: the id alone (the hub resolves it)
        folder = Path(found).parent  # .../snapshots/<commit>/
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        h.update(f"{path.relative_to(folder)}\x1f{stat.st_size}\x1e".encode())
        if stat.st_size <= HASH_LIMIT_BYTES:
            h.update(hashlib.sha256(path.read_bytes()).digest())
        else:
            h.update(str(stat.st_mtime_ns).encode())
    return h.hexdigest()


class Embedder:
    """Loads a sentence-transformers model once; `encode` is cached unless `cache_dir` is None.

    `n_encoded` counts texts actually run through the model; `n_cache_hits` counts distinct
    texts whose vectors came from the cache.
    """

    def __init__(
        self,
        model: str = DEFAULT_EMBEDDER,
        cache_dir: str | Path | None = None,
        precision: Precision = "auto",
        max_seq_length: int | None = None,
        token_budget: int | None = None,
        device: str = "cpu",
    ):
        import torch
        from sentence_transformers import SentenceTransformer

        if precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {precision!r}")
        self.model_id = model
        target = resolve_embedder(model)
        try:
            self.st = SentenceTransformer(  # safetensors only (core.models checked a folder)
                target, device=device, model_kwargs={"use_safetensors": True}
            )
        except OSError as exc:  # a folder without a model, or a hub id that is not reachable
            raise ModelNotFoundError(f"cannot load embedder '{model}': {exc}") from None
        self.st.eval()
        if max_seq_length is not None:
            self.st.max_seq_length = max_seq_length
        self.max_seq_length = int(self.st.max_seq_length or 512)
        self.dim = int(self.st.get_embedding_dimension())
        # Precision and batch size from what this CPU has (rag_baseline.plan), chosen here.
        self.plan = choose_plan(cpu_info(), precision, device)
        self.precision: str = self.plan.precision
        self.device = device
        self.token_budget = token_budget or self.plan.token_budget
        self._torch = torch
        # True while another job of the run holds a core (rag_baseline.plan: the classic model
        # beside the embedding); the embedding then uses one core fewer.
        self.other_job: Callable[[], bool] | None = None
        self._fast = self._fast_path_parts()
        self._fused = self._checked_fusion() if self.precision == "bf16" else None
        self.n_encoded = 0
        self.n_cache_hits = 0
        self.threads_used = torch.get_num_threads()  # of the last fast-path run
        self._target = target
        self._fingerprint: str | None = None  # of the model files, on first use (cache keys)
        self.cache_dir: Path | None = None
        self.set_cache_dir(cache_dir)

    @property
    def _files(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = model_fingerprint(self._target)
        return self._fingerprint

    @property
    def space(self) -> str:
        """Everything that decides a vector besides the text; part of every cache key."""
        return json.dumps(
            {
                "model": self.model_id,
                "files": self._files,
                "precision": self.precision,
                "kernel": self.backend,
                "max_seq_length": self.max_seq_length,
                "normalize": True,
                "fast_path": self._fast is not None,
            },
            sort_keys=True,
        )

    def set_cache_dir(self, cache_dir: str | Path | None) -> None:
        """Use (or with None, stop using) the on-disk cache under `cache_dir`."""
        self.cache_dir = Path(cache_dir) if cache_dir else None

    def _fast_path_parts(self) -> tuple | None:
        """(tokenizer, hf model, pooling mode, lower-case?) when the pipeline is plain."""
        modules = list(self.st)
        names = [type(m).__name__ for m in modules]
        if names[:2] != ["Transformer", "Pooling"] or names[2:] not in ([], ["Normalize"]):
            return None
        transformer, pooling = modules[0], modules[1]
        tokenizer = getattr(transformer, "tokenizer", None)
        mode = getattr(pooling, "pooling_mode", None)
        prompts = getattr(self.st, "prompts", None) or {}
        if tokenizer is None or mode not in ("mean", "cls") or any(prompts.values()):
            return None
        if getattr(self.st, "default_prompt_name", None):
            return None
        if not getattr(pooling, "include_prompt", True):
            return None
        if list(getattr(transformer, "modality_config", {"text": None})) != ["text"]:
            return None
        return tokenizer, transformer.auto_model, mode, bool(transformer.do_lower_case)

    def encode(
        self,
        texts: list[str],
        progress: Progress | None = None,
        use_cache: bool = True,
        long_texts: LongTexts = "head",
        ids: list[list[int]] | None = None,
    ) -> np.ndarray:
        """Normalised vectors, shape (len(texts), dim) float32, in the order of `texts`.

        Texts longer than the model's window are embedded from their first `max_seq_length`
        tokens (`long_texts="head"`) or as the token-weighted mean of the vectors of equal chunks
        that cover the whole text (`"chunk"`; the plain pipeline path only truncates).
        `ids`: `self.token_ids(texts)` when the caller already has them (tokenised once).
        """
        if long_texts not in ("head", "chunk"):
            raise ValueError(f"long_texts must be 'head' or 'chunk', got {long_texts!r}")
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        slot: dict[str, int] = {}  # duplicates are embedded once
        inverse = np.array([slot.setdefault(t, len(slot)) for t in texts], dtype=np.int64)
        unique = list(slot)
        cache = None
        if use_cache and self.cache_dir is not None:
            cache = EmbeddingCache(self.cache_dir, self.space, self.dim)
        keys = None
        if cache is not None:  # the space hashes the model files: only when a cache is used
            space = self.space if long_texts == "head" else self.space + "|chunk"
            keys = text_keys(space, unique)
        if cache is not None and keys is not None:
            found, vectors = cache.lookup(keys)
            self.n_cache_hits += int(found.sum())
        else:
            found = np.zeros(len(unique), dtype=bool)
            vectors = np.zeros((len(unique), self.dim), dtype=np.float32)
        todo = np.flatnonzero(~found)
        if len(todo):
            todo_ids = None
            if ids is not None:  # the ids of each unique text's first occurrence
                first = np.unique(inverse, return_index=True)[1]
                todo_ids = [ids[first[i]] for i in todo]
            fresh = self._run([unique[i] for i in todo], progress, long_texts, todo_ids)
            vectors[todo] = fresh
            if cache is not None and keys is not None:
                cache.store(keys[todo], fresh)
        elif progress:
            progress(1.0, f"embeddings: all {len(unique)} from cache")
        return vectors[inverse]

    @property
    def backend(self) -> str:
        """How vectors are computed: "fp32", "bf16-fused" (oneDNN) or "bf16-autocast"."""
        if self.precision != "bf16":
            return "fp32"
        return "bf16-fused" if self._fused is not None else "bf16-autocast"

    def _checked_fusion(self):
        """The fused bf16 encoder if it builds and agrees with fp32 (cosine > 0.999), else None."""
        from rag_baseline.fastbert import fuse_bert

        if self._fast is None or self.device != "cpu":
            return None
        fp32_model = self._fast[1]
        try:
            fused = fuse_bert(fp32_model)
            if fused is None:
                return None
            with self._torch.inference_mode():
                reference = self._run_fast(FUSION_CHECK_TEXTS, fp32_model, None)
                candidate = self._run_fast(FUSION_CHECK_TEXTS, fused, None)
        except RuntimeError:  # the private oneDNN op is missing or rejects this CPU
            return None
        return fused if float(np.sum(reference * candidate, axis=1).min()) > 0.999 else None

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, without special tokens or truncation (`rag_baseline.tokens`)."""
        lower = self._fast[3] if self._fast is not None else False
        return token_ids(self.st.tokenizer, texts, lower)

    def token_lengths(self, texts: list[str], ids: list[list[int]] | None = None) -> np.ndarray:
        """Tokens of each text with the model's special tokens, before any truncation."""
        extra = self.st.tokenizer.num_special_tokens_to_add()
        ids = self.token_ids(texts) if ids is None else ids
        return np.array([len(i) + extra for i in ids], dtype=np.int64)

    def window_report(
        self, texts: list[str], long_texts: LongTexts, ids: list[list[int]] | None = None
    ) -> dict:
        """How many texts exceed the model's window, and what is done about it."""
        chunked = long_texts == "chunk" and self._fast is not None
        lengths = self.token_lengths(texts, ids)
        return window_report(lengths, self.max_seq_length, "chunk" if chunked else "head")

    def _run(
        self,
        texts: list[str],
        progress: Progress | None,
        long_texts: LongTexts = "head",
        ids: list[list[int]] | None = None,
    ):
        torch = self._torch
        self.n_encoded += len(texts)
        backend = self.backend
        device_type = "cuda" if self.device.startswith("cuda") else "cpu"
        with (
            torch.inference_mode(),
            torch.autocast(device_type, dtype=torch.bfloat16, enabled=backend == "bf16-autocast"),
        ):
            if self._fast is None:
                vecs = self.st.encode(
                    texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True
                )
                if progress:
                    progress(1.0, f"embedded {len(texts)} texts")
                return np.asarray(vecs, dtype=np.float32)
            model = self._fused if backend == "bf16-fused" else self._fast[1]
            return self._run_fast(texts, model, progress, long_texts, ids)

    def _run_fast(
        self,
        texts: list[str],
        model,
        progress: Progress | None,
        long_texts: LongTexts = "head",
        ids: list[list[int]] | None = None,
    ) -> np.ndarray:
        """Exact-length, token-budget batches through `model`; (n, dim) normalised float32."""
        torch = self._torch
        tokenizer, _, mode, _ = self._fast
        head, tail = special_ids(tokenizer)
        ids = self.token_ids(texts) if ids is None else ids
        enc, owner = pieces(ids, head, tail, self.max_seq_length, long_texts)
        lengths = np.array([len(ids) for ids in enc])
        out = np.zeros((len(enc), self.dim), dtype=np.float32)
        done = 0
        batches = _exact_length_batches(lengths, self.token_budget)
        threads = ThreadChoice(torch, len(batches), self.device == "cpu", self.other_job)
        try:
            for number, idx in enumerate(batches):
                # Every row in a batch has the same length: no padding, no attention mask.
                ids = torch.tensor([enc[i] for i in idx], dtype=torch.long, device=self.device)
                with threads.timed(number, ids.numel()):
                    result = model(input_ids=ids)
                    hidden = (
                        result if isinstance(result, torch.Tensor) else result.last_hidden_state
                    )
                    hidden = hidden.float()  # (rows, width, dim)
                vec = hidden[:, 0] if mode == "cls" else hidden.mean(dim=1)
                out[idx] = torch.nn.functional.normalize(vec, dim=-1).cpu().numpy()
                done += len(idx)
                if progress:
                    unit = "texts" if len(enc) == len(texts) else "chunks"
                    progress(done / len(enc), f"embedded {done}/{len(enc)} {unit}")
        finally:
            self.threads_used = threads.restore()
        if len(enc) == len(texts):
            return out
        pooled = np.zeros((len(texts), self.dim), dtype=np.float32)  # token-weighted chunk mean
        np.add.at(pooled, owner, out * lengths[:, None].astype(np.float32))
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def _exact_length_batches(lengths: np.ndarray, token_budget: int) -> list[np.ndarray]:
    """Row indices grouped by exact token length, longest first, each batch within the budget."""
    order = np.argsort(-lengths, kind="stable")
    batches = []
    for length in np.unique(lengths)[::-1]:
        rows = order[lengths[order] == length]
        size = max(1, min(MAX_BATCH, token_budget // int(length)))
        batches += [rows[i : i + size] for i in range(0, len(rows), size)]
    return batches
