"""Thread count for CPU inference on a shared machine: all cores or one, whichever is faster now.

Used by `rag_baseline.embed.Embedder` for large jobs; the process-wide torch setting is restored
when the job ends.
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

    def __init__(self, torch, n_batches: int, on_cpu: bool) -> None:
        self.torch = torch
        self.start = torch.get_num_threads()
        self.trial = on_cpu and self.start > 1 and n_batches >= self.MIN_BATCHES
        self.rates: dict[int, list[float]] = {self.start: [0.0, 0.0], 1: [0.0, 0.0]}
        self.chosen = self.start

    @contextmanager
    def timed(self, number: int, tokens: int):
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


@contextmanager
def threads_like(embedder):
    """torch threads as the embedder's last run chose, for the CPU work that follows it."""
    import torch

    start = torch.get_num_threads()
    torch.set_num_threads(min(start, max(1, int(getattr(embedder, "threads_used", start)))))
    try:
        yield
    finally:
        torch.set_num_threads(start)
