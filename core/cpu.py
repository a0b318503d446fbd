"""How busy this machine's cores are right now, from /proc/stat (Linux); no torch here.

The trainer's thread governor and the RAG baseline's choice of running the classic model beside
the embedding both ask it: a timing burst says how fast two threads run a small product, not
whether another process holds the second core.

    idle, sample = idle_cores(None)      # first sample: idle is None
    idle, sample = idle_cores(sample)    # idle cores of the whole machine since then
    idle_cores_now(0.2)                  # the same over a 0.2 s window, or None off Linux
"""

from __future__ import annotations

import os
import time


def idle_cores(prev: tuple[float, float] | None) -> tuple[float | None, tuple[float, float]]:
    """(idle cores of the whole machine since `prev`, new sample) from /proc/stat; None where
    unreadable or on the first sample."""
    try:
        with open("/proc/stat") as fh:
            fields = [float(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None, prev or (0.0, 0.0)
    idle, total = fields[3] + (fields[4] if len(fields) > 4 else 0.0), sum(fields)
    if prev is None or total <= prev[1]:
        return None, (idle, total)
    return (idle - prev[0]) / (total - prev[1]) * (os.cpu_count() or 1), (idle, total)


def idle_cores_now(window_s: float = 0.2) -> float | None:
    """Idle cores of the whole machine over the next `window_s` seconds (this process sleeps
    meanwhile, so its own threads do not count); None where /proc/stat cannot be read."""
    _, sample = idle_cores(None)
    time.sleep(window_s)
    idle, _ = idle_cores(sample)
    return idle
