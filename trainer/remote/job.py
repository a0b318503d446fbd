"""The entrypoint of a Ray job, run on the cluster: checks that the cluster's Python can train,
runs the trainer CLI unchanged, and mirrors its run folder into the job log
(trainer.remote.protocol), so the app brings the run back through the dashboard alone. Standard
library only: the trainer runs in a child process.

    python -m trainer.remote.job --run-dir runs/RUN -- python -m trainer train --config ...
    python -m trainer.remote.job --run-dir runs/RUN -- torchrun --nproc_per_node 4 -m trainer ...

First line of the job: an `env` line from a probe child that imports what the trainer imports
and resolves the run's base model; it names the device torch sees (kind, name, count). If the
probe fails, the job ends there (exit status EXIT_ENV) and the app marks the run failed with
the missing piece named. While the trainer runs: status.json when it changes and new
metrics.jsonl lines. At the end: metrics.json, predictions.csv, adapter/ (and, when the run did
not complete, its latest checkpoint, which a resume starts from), then status.json, then an end
line with the exit status and the trainer's wall-clock seconds as measured here. Checkpoints are
not streamed while training; a node that is lost takes the last one along. Stopping the job
(SIGTERM to every process of the job) lets the trainer save a checkpoint; this process keeps
going until it has sent it.
"""

from __future__ import annotations

import argparse
import json
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from trainer.remote.protocol import accepts, encode, end_line, env_line
from trainer.runfolder import TERMINAL

FINAL_FILES = ("metrics.json", "predictions.csv")
EXIT_ENV = 4  # the cluster's environment cannot run the trainer
PROBE_TIMEOUT_S = 600
# Imports what training imports (torch, transformers, peft, safetensors, pandas, ...), then
# finds the base model the run names, then says which device torch sees.
PROBE = """
import json, sys
out = {"ok": True, "python": sys.version.split()[0]}
try:
    import trainer.run
    from trainer.config import TrainConfig
    from trainer.model import resolve_source
    with open(sys.argv[1]) as fh:
        resolve_source(TrainConfig.from_json(fh.read()).base_model)
    import torch
    if torch.cuda.is_available():
        out.update(device="cuda", gpu_name=torch.cuda.get_device_name(0),
                   gpu_count=torch.cuda.device_count())
    else:
        out.update(device="cpu", gpu_count=0)
except ModuleNotFoundError as exc:
    out.update(ok=False, missing=exc.name or "a module", error=str(exc))
except Exception as exc:
    out.update(ok=False, missing=type(exc).__name__, error=str(exc))
print(json.dumps(out))
"""


def probe(run_dir: Path, cmd: list[str]) -> dict:
    """What the cluster's environment can do for this run (never raises)."""
    if not shutil.which(cmd[0]):
        return {"ok": False, "missing": cmd[0], "error": f"no {cmd[0]} command on the node"}
    try:
        res = subprocess.run(
            [sys.executable, "-c", PROBE, str(run_dir / "config.json")],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
        )
        return json.loads(res.stdout.strip().splitlines()[-1])
    except subprocess.TimeoutExpired:
        return {"ok": False, "missing": "time", "error": "the import check took over 10 min"}
    except (ValueError, IndexError):
        tail = " ".join((res.stderr or "").split())[-300:]
        return {"ok": False, "missing": "python", "error": f"the import check died: {tail}"}


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
        done = [p for p in root.glob("step-*") if (p / "state.json").exists()]
        return sorted(done, key=lambda p: int(p.name.split("-")[1]))

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
        rel = str(path.relative_to(self.run))
        if not accepts(rel):  # what the app would refuse (e.g. trainer_meta.json) stays here
            return []
        try:
            data = path.read_bytes()
        except OSError:
            return []
        return list(encode(rel, data))


def _state(run_dir: Path) -> str | None:
    try:
        return json.loads((run_dir / "status.json").read_text()).get("state")
    except (OSError, ValueError, AttributeError):
        return None


def run(run_dir: Path, cmd: list[str], interval: float = 1.0) -> int:
    t0 = time.monotonic()  # the job's own clock: its resources are held from here
    out = sys.stdout.buffer
    env = probe(run_dir, cmd)
    _emit(out, [env_line(env)])
    if not env.get("ok"):
        _emit(out, [end_line(EXIT_ENV, time.monotonic() - t0)])
        return EXIT_ENV
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
    wall_s = time.monotonic() - t0
    _emit(out, mirror.final() + [end_line(rc, wall_s)])
    return rc


def _emit(out, lines: list[str]) -> None:
    for line in lines:
        out.write(line.encode() + b"\n")
    out.flush()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        print("job: error: give the trainer command after --", file=sys.stderr)
        return 2
    cut = argv.index("--")
    p = argparse.ArgumentParser(prog="python -m trainer.remote.job")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--interval", type=float, default=1.0)
    args = p.parse_args(argv[:cut])
    return run(Path(args.run_dir), argv[cut + 1 :], args.interval)


if __name__ == "__main__":
    sys.exit(main())
