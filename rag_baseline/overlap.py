"""Two jobs side by side on a small CPU, each with its share of the cores.

After the embedding, the classic TF-IDF model (scikit-learn's liblinear: one thread, and it
releases the GIL while it fits) and the embedding baselines (torch and FAISS products) use the
CPU differently: on 2 cores the probe's small products gain ~1.6x from the second core, the SVM
nothing. So they run at once, each with half the cores for torch and FAISS (an OpenMP region
spread over a core that another job holds waits for it), rather than one after the other.
Thread settings are per OS thread for OpenMP, so each job sets its own and restores it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")
T = TypeVar("T")


@contextmanager
def thread_share(n: int) -> Iterator[None]:
    """torch and FAISS use `n` threads in this OS thread for the duration; then as before."""
    import faiss
    import torch

    before = torch.get_num_threads(), faiss.omp_get_max_threads()
    torch.set_num_threads(n)
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before[0])
        faiss.omp_set_num_threads(before[1])


def share_of_cores(workers: int) -> int:
    """torch threads for each of `workers` jobs at once: an equal share of the cores."""
    import torch

    return max(1, torch.get_num_threads() // workers)


def side_by_side(background: Callable[[], A], foreground: Callable[[], B]) -> tuple[A, B]:
    """(background(), foreground()), run at once in two threads with half the cores each.

    `foreground` runs in the calling thread (its progress messages stay in order); an error in
    either is raised after both have stopped."""
    share = share_of_cores(2)

    def job() -> A:
        with thread_share(share):
            return background()

    with ThreadPoolExecutor(max_workers=1) as pool, thread_share(share):
        pending = pool.submit(job)
        front = foreground()
        return pending.result(), front


def map_side_by_side(fn: Callable[[T], B], items: Sequence[T], workers: int = 2) -> list[B]:
    """[fn(item) for item in items], `workers` at a time, each with its share of the cores."""
    share = share_of_cores(workers)

    def job(item: T) -> B:
        with thread_share(share):
            return fn(item)

    if len(items) < 2 or workers < 2:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(job, items))
