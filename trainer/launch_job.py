"""The entrypoint of a Ray job, run on the cluster: runs the trainer CLI unchanged and mirrors its
run folder into the job log (trainer.launch_sync), so the app brings the run back through the
dashboard alone. No torch here; the trainer runs in a child process.

    python -m trainer.launch_job --run-dir runs/RUN -- python -m trainer train --config ...
    python -m trainer.launch_job --run-dir runs/RUN -- torchrun --nproc_per_node 4 -m trainer ...

While it runs: status.json when it changes and new metrics.jsonl lines (a few hundred bytes a
step). At the end: metrics.json, predictions.csv, adapter/ (and, when the run did not complete,
its latest checkpoint, which a resume starts from), then status.json, then an end line with the
exit status. Checkpoints are not streamed while training (megabytes each, every `save_every`
steps); a trainer that crashes, is OOM-killed or is stopped still sends its last one, a node
that is lost takes it along (see the README for shared storage).
Stopping the job (SIGTERM to every process of the job) lets the trainer save a checkpoint;
this process keeps going until it has sent it.
"""

from __future__ import annotations

import argparse
import json
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

from trainer.launch_sync import encode, end_line
from trainer.runfolder import TERMINAL

FINAL_FILES = ("metrics.json", "predictions.csv", "data_record.json")


class Mirror:
    """What of the run folder has been printed already."""

    def __init__(self, run_dir: Path) -> None:
        """What the run folder already holds when the job starts (a resume ships its metrics
        and latest checkpoint) is on the app's side already: only what comes after is sent."""
        self.run = run_dir
        self.status = b""
        metrics = run_dir / "metrics.jsonl"
        self.metrics_offset = metrics.stat().st_size if metrics.exists() else 0
        done = self._checkpoints()
        self.checkpoint = done[-1].name if done else ""

    def _checkpoints(self) -> list[Path]:
        root = self.run / "checkpoints"
        return sorted(p for p in root.glob("step-*") if (p / "state.json").exists())

    def poll(self) -> list[str]:
        return self._metrics() + self._status(final=False)

    def final(self) -> list[str]:
        lines = self.poll()
        if _state(self.run) != "completed":  # cancelled or failed: what a resume starts from
            lines += self._checkpoint()
        for name in FINAL_FILES:
            lines += self._file(self.run / name)
        adapter = self.run / "adapter"
        if adapter.is_dir():
            for path in sorted(p for p in adapter.rglob("*") if p.is_file()):
                lines += self._file(path)
        self.status = b""  # status.json last, so the app sees `completed` with every file there
        return lines + self._status(final=True)

    def _status(self, final: bool) -> list[str]:
        """A final state (completed, failed, cancelled) is sent only after the files."""
        try:
            data = (self.run / "status.json").read_bytes()
        except OSError:
            return []
        state = _state(self.run)
        if data == self.status or (state in TERMINAL and not final):
            return []
        self.status = data
        return list(encode("status.json", data))

    def _metrics(self) -> list[str]:
        try:
            with open(self.run / "metrics.jsonl", "rb") as fh:
                size = fh.seek(0, 2)
                self.metrics_offset = min(self.metrics_offset, size)  # rewritten shorter
                fh.seek(self.metrics_offset)
                data = fh.read()
        except OSError:
            return []
        data = data[: data.rfind(b"\n") + 1]  # whole lines only
        if not data:
            return []
        self.metrics_offset += len(data)
        return list(encode("metrics.jsonl", data, op="a"))

    def _checkpoint(self) -> list[str]:
        done = self._checkpoints()
        if not done or done[-1].name == self.checkpoint:
            return []
        latest = done[-1]
        files = sorted(p for p in latest.rglob("*") if p.is_file() and p.name != "state.json")
        lines: list[str] = []
        for path in [*files, latest / "state.json"]:  # state.json last: complete when it lands
            lines += self._file(path)
        self.checkpoint = latest.name
        return lines

    def _file(self, path: Path) -> list[str]:
        try:
            data = path.read_bytes()
        except OSError:
            return []
        return list(encode(str(path.relative_to(self.run)), data))


def _state(run_dir: Path) -> str | None:
    try:
        return json.loads((run_dir / "status.json").read_text()).get("state")
    except (OSError, ValueError, AttributeError):
        return None


def run(run_dir: Path, cmd: list[str], interval: float = 1.0) -> int:
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0)

    def forward(signum: int, frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    lines: queue.Queue[bytes | None] = queue.Queue()

    def read() -> None:
        assert child.stdout is not None
        for line in iter(child.stdout.readline, b""):
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    mirror = Mirror(run_dir)
    out = sys.stdout.buffer
    eof = False
    while not eof:  # this thread is the only writer of stdout: no line is cut by another
        try:
            item = lines.get(timeout=interval)
            while item is not None:
                out.write(item if item.endswith(b"\n") else item + b"\n")
                item = lines.get_nowait()
            eof = True
        except queue.Empty:
            pass
        _emit(out, mirror.poll())
    rc = child.wait()
    _emit(out, mirror.final() + [end_line(rc)])
    return rc


def _emit(out, lines: list[str]) -> None:
    for line in lines:
        out.write(line.encode() + b"\n")
    out.flush()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv:
        print("launch_job: error: give the trainer command after --", file=sys.stderr)
        return 2
    cut = argv.index("--")
    p = argparse.ArgumentParser(prog="python -m trainer.launch_job")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--interval", type=float, default=1.0)
    args = p.parse_args(argv[:cut])
    return run(Path(args.run_dir), argv[cut + 1 :], args.interval)


if __name__ == "__main__":
    sys.exit(main())
