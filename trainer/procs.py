"""Process facts from /proc, without torch: is a pid alive, and is it still *our* process
(its start time guards against the pid being reused by an unrelated process); and the stop flag
that SIGTERM sets in a worker."""

from __future__ import annotations

import os
import signal


def start_time(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces or parentheses: split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[19])


def state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()[0]


def alive(pid: int | None, started: int | None = None) -> bool:
    """True if `pid` runs (not a zombie) and, when `started` is given, is the same process."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False  # also a pid read from a damaged or hostile status.json
    st = state(pid)
    if st is None or st in ("Z", "X"):
        _reap(pid)
        return False
    if started is not None and start_time(pid) != started:  # None, or another process
        return False
    return True


def _reap(pid: int) -> None:
    """Collect a finished child so it does not linger as a zombie (no-op for non-children)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except (ChildProcessError, OSError):
        pass


class StopFlag:
    """Set by SIGTERM/SIGINT; the loop checks it after every step and then saves and exits."""

    def __init__(self) -> None:
        self.requested = False
        self.signal_name = ""

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handler)

    def _handler(self, signum: int, frame: object) -> None:
        self.requested = True
        self.signal_name = signal.Signals(signum).name

    def __call__(self) -> bool:
        return self.requested


def peak_rss_gb() -> float:
    """This process's peak resident memory so far, in GB."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 3)  # KiB -> GB
