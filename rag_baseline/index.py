"""FAISS search over normalised vectors: exact inner product, approximate above a size threshold.

Exact search (IndexFlatIP) is the default: on 10k x 384 vectors it answers 3k queries in well
under a second. Above `approx_threshold` vectors an HNSW graph is used instead, and its recall@k
against exact search is measured on a sample of the queries and reported, so a lossy index is
never silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

APPROX_THRESHOLD = 50_000  # vectors; exact search below, HNSW above
RECALL_SAMPLE = 500  # queries used to measure approximate recall
HNSW_M = 32  # graph degree: accuracy vs memory
HNSW_EF_SEARCH = 128  # search breadth: recall vs speed


@dataclass
class VectorIndex:
    """A built index plus what the report needs about it."""

    index: object  # faiss.Index
    kind: str  # "flat_ip" | "hnsw_ip"
    n: int
    info: dict = field(default_factory=dict)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(similarities (q, k) float32, row ids (q, k) int64); -1 ids pad when k > n."""
        k = min(k, self.n)
        sims, ids = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return sims, ids


def _flat(vectors: np.ndarray):
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def build_index(vectors: np.ndarray, approx_threshold: int = APPROX_THRESHOLD) -> VectorIndex:
    """Exact inner-product index, or HNSW when there are more than `approx_threshold` vectors."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    if n <= approx_threshold:
        return VectorIndex(_flat(vectors), "flat_ip", n, {"type": "flat_ip", "exact": True})
    index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efSearch = HNSW_EF_SEARCH
    index.add(vectors)
    info = {"type": "hnsw_ip", "exact": False, "hnsw_m": HNSW_M, "ef_search": HNSW_EF_SEARCH}
    return VectorIndex(index, "hnsw_ip", n, info)


def measure_recall(
    built: VectorIndex,
    vectors: np.ndarray,
    queries: np.ndarray,
    k: int,
    sample: int = RECALL_SAMPLE,
    seed: int = 0,
) -> float:
    """Recall@k of `built` against exact search, on up to `sample` of the queries.

    Recall = share of the exact top-k ids that the index also returns in its top-k.
    """
    k = min(k, built.n)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(queries), size=min(sample, len(queries)), replace=False)
    q = np.ascontiguousarray(queries[pick], dtype=np.float32)
    _, exact = _flat(vectors).search(q, k)
    _, approx = built.search(q, k)
    hits = sum(len(set(a) & set(e)) for a, e in zip(approx.tolist(), exact.tolist()))
    return round(hits / exact.size, 4)


def index_report(built: VectorIndex, vectors: np.ndarray, queries: np.ndarray, k: int) -> dict:
    """The `index` block of the result: type, and recall@k where the index is approximate."""
    report = dict(built.info, n=built.n)
    if not report["exact"]:
        report["recall_k"] = min(k, built.n)
        report["recall_at_k"] = measure_recall(built, vectors, queries, k)
    return report
