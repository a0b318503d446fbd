"""Thread count for CPU inference on a shared machine: all cores or one, whichever is faster now.

Used by `rag_baseline.embed.Embedder` for large jobs and (`measured_threads`) for the CV and fits
after the embedding; the process-wide torch setting is restored when the job ends.
"""

from __future__ import annotations

import time
from contextlib import contextmanager


class ThreadChoice:
    """All cores or one, whichever embeds faster right now; the process setting is restored.

    On a shared 2-core machine each OpenMP region waits for a descheduled thread: measured under
    load (load average 6-10), 2 threads embedded 11-20 texts/s where 1 thread did 150-220. So a
    large job times its first batches alternately at both settings (TRIAL_BATCHES, the same
    lengths, longest first) and keeps the faster tokens/s for the rest.
    """

    TRIAL_BATCHES = 4  # alternate all / one thread over these first batches
    MIN_BATCHES = 12  # smaller jobs are not worth a trial

    def __init__(self, torch, n_batches: int, on_cpu: bool, busy=None) -> None:
        """`busy()`: True while another job of this run holds a core (the classic model beside
        the embedding): then one core fewer, all again once it is done, and no trial."""
        self.torch = torch
        self.start = torch.get_num_threads()
        self.busy = busy if on_cpu and self.start > 1 else None
        self.trial = (
            on_cpu and self.start > 1 and n_batches >= self.MIN_BATCHES and self.busy is None
        )
        self.rates: dict[int, list[float]] = {self.start: [0.0, 0.0], 1: [0.0, 0.0]}
        self.chosen = self.start

    @contextmanager
    def timed(self, number: int, tokens: int):
        if self.busy is not None:
            want = self.start - 1 if self.busy() else self.start
            if want != self.torch.get_num_threads():
                self.torch.set_num_threads(want)
            yield
            return
        if not self.trial or number > self.TRIAL_BATCHES:
            yield
            return
        if number == self.TRIAL_BATCHES:  # decide, then run this batch at the choice
            self.chosen = max(
                self.rates, key=lambda n: self.rates[n][0] / max(self.rates[n][1], 1e-9)
            )
            self.torch.set_num_threads(self.chosen)
            yield
            return
        n = self.start if number % 2 == 0 else 1
        self.torch.set_num_threads(n)
        t0 = time.perf_counter()
        yield
        self.rates[n][0] += tokens
        self.rates[n][1] += time.perf_counter() - t0

    def restore(self) -> int:
        self.torch.set_num_threads(self.start)
        return self.chosen


PROBE_ROUNDS = 3  # alternations of all cores / one thread in `faster_thread_count`
PROBE_PRODUCTS = 8  # small matrix products per setting and round (~0.5 ms each on one core)
ALL_CORES_MARGIN = 0.8  # all cores must take under this share of one thread's time to be kept


def _probe_work(torch):
    x, w = torch.randn(1024, 384), torch.randn(384, 96)  # a probe/CV-sized product

    def work() -> None:
        for _ in range(PROBE_PRODUCTS):
            (x @ w).sum()

    return work


def measured_speedup(torch, work=None) -> float | None:
    """How much faster all cores run a burst of small matrix products than one thread, right
    now (one thread's time over all cores'); None with a single thread (nothing to compare)."""
    start = torch.get_num_threads()
    if start <= 1:
        return None
    work = work or _probe_work(torch)
    spent = {start: 0.0, 1: 0.0}
    try:
        for _ in range(PROBE_ROUNDS):
            for n in (start, 1):
                torch.set_num_threads(n)
                t0 = time.perf_counter()
                work()
                spent[n] += time.perf_counter() - t0
    finally:
        torch.set_num_threads(start)
    return spent[1] / max(spent[start], 1e-9)


def faster_thread_count(torch, work=None, speedup: float | None = None) -> int:
    """All cores or one, whichever runs a burst of small matrix products faster right now.

    The CV and probe fits after the embedding are many small ops; with a core busy elsewhere
    each waits for a descheduled OpenMP thread (measured under load: an L-BFGS probe fit took
    29-32 s at 2 threads against 3.5-6 s at one). The embedder's own choice can be a minute
    old or absent (all vectors from the cache), so this ~50 ms probe decides; ties go to one.
    `speedup`: an already measured `measured_speedup`.
    """
    start = torch.get_num_threads()
    if start <= 1:
        return start
    if speedup is None:
        speedup = measured_speedup(torch, work)
    return start if speedup is not None and speedup > 1 / ALL_CORES_MARGIN else 1


@contextmanager
def measured_threads():
    """torch threads for the CPU work after the embedding: all cores or one, as measured now
    (`faster_thread_count`); yields the measured speedup of all cores over one (None on one
    thread); the process setting is restored."""
    import torch

    start = torch.get_num_threads()
    speedup = measured_speedup(torch)
    torch.set_num_threads(faster_thread_count(torch, speedup=speedup))
    try:
        yield speedup
    finally:
        torch.set_num_threads(start)


def torch_threads() -> int:
    """torch's intra-op threads in this OS thread right now."""
    import torch

    return torch.get_num_threads()
