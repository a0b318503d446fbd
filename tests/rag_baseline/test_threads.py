"""ThreadChoice: a large CPU job keeps whichever thread count ran its trial batches faster."""

from __future__ import annotations

import time

from rag_baseline.threads import ThreadChoice


class _FakeTorch:
    def __init__(self, threads: int, slow_threads: int):
        self.threads, self.slow = threads, slow_threads
        self.history: list[int] = []

    def get_num_threads(self) -> int:
        return self.threads

    def set_num_threads(self, n: int) -> None:
        self.threads = n
        self.history.append(n)


def _run(torch: _FakeTorch, n_batches: int) -> int:
    choice = ThreadChoice(torch, n_batches, on_cpu=True)
    for number in range(n_batches):
        with choice.timed(number, tokens=1000):
            time.sleep(0.02 if torch.threads == torch.slow else 0.002)
    return choice.restore()


def test_keeps_one_thread_when_all_cores_are_slower():
    torch = _FakeTorch(2, slow_threads=2)  # busy cores: two threads stall
    assert _run(torch, 20) == 1
    assert torch.history[:5] == [2, 1, 2, 1, 1] and torch.threads == 2  # restored


def test_keeps_all_cores_when_they_are_faster():
    torch = _FakeTorch(2, slow_threads=1)
    assert _run(torch, 20) == 2 and torch.threads == 2


def test_one_core_fewer_while_another_job_of_the_run_holds_one():
    torch = _FakeTorch(2, slow_threads=0)
    other_job_running = [True]
    choice = ThreadChoice(torch, 20, on_cpu=True, busy=lambda: other_job_running[0])
    for number in range(20):
        if number == 6:
            other_job_running[0] = False  # the classic model is done: all cores again
        with choice.timed(number, tokens=1000):
            pass
    assert choice.restore() == 2
    assert torch.history == [1, 2, 2]  # no trial; one core while busy, then all, then restored


def test_small_jobs_and_one_core_skip_the_trial():
    torch = _FakeTorch(2, slow_threads=2)
    assert _run(torch, 5) == 2 and torch.history == [2]  # only the restore
    single = _FakeTorch(1, slow_threads=1)
    assert _run(single, 20) == 1 and single.history == [1]


def _probe_with(torch: _FakeTorch):
    def work() -> None:
        time.sleep(0.01 if torch.threads == torch.slow else 0.001)

    return work


def test_fits_after_the_embedding_use_one_thread_when_all_cores_stall():
    from rag_baseline.threads import faster_thread_count

    busy = _FakeTorch(2, slow_threads=2)
    assert faster_thread_count(busy, _probe_with(busy)) == 1 and busy.threads == 2
    quiet = _FakeTorch(2, slow_threads=1)
    assert faster_thread_count(quiet, _probe_with(quiet)) == 2 and quiet.threads == 2
    single = _FakeTorch(1, slow_threads=2)
    assert faster_thread_count(single, _probe_with(single)) == 1 and single.history == []
