"""A local Ray head on 127.0.0.1, on free ports, for trying the cluster path on one machine (and
for the tests and the GPU bench).

    python -m trainer.launch_head                 # prints the dashboard URL; Ctrl-C stops it
    python -m trainer launch ... --cluster http://127.0.0.1:PORT

`LocalHead` starts `ray start --head --block` in its own process group with its own temp dir
and stops it with SIGINT to that process (SIGTERM does not stop Ray's workers).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PORT_NAMES = (
    "port",
    "dashboard-port",
    "ray-client-server-port",
    "node-manager-port",
    "object-manager-port",
    "dashboard-agent-grpc-port",
    "dashboard-agent-listen-port",
    "runtime-env-agent-port",
    "metrics-export-port",
)


def free_ports(n: int) -> list[int]:
    """n distinct ports the OS says are free now."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def _worker_port_range(width: int = 40) -> tuple[int, int]:
    """A run of `width` consecutive free ports for Ray's workers."""
    for _ in range(50):
        (start,) = free_ports(1)
        start = 20000 + start % 30000
        if all(_free(p) for p in range(start, start + width)):
            return start, start + width - 1
    raise RuntimeError("no free range of ports for Ray workers")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class LocalHead:
    """`with LocalHead() as head: head.address` -> http://127.0.0.1:<dashboard port>."""

    def __init__(
        self,
        num_cpus: int = 1,
        num_gpus: int | None = None,
        object_store_mb: int = 100,
        temp_dir: str | Path | None = None,
        ray: str | None = None,
    ) -> None:
        self.num_cpus, self.num_gpus, self.object_store_mb = num_cpus, num_gpus, object_store_mb
        # Ray's socket paths must stay short (AF_UNIX limit ~107 bytes): a short temp dir.
        self.temp_dir = Path(temp_dir or tempfile.mkdtemp(prefix="ray", dir="/tmp"))
        self.ray = ray or str(Path(sys.executable).with_name("ray"))
        self.proc: subprocess.Popen | None = None
        self.address = ""
        self.log_path = self.temp_dir / "head.log"

    def start(self, timeout: float = 60.0) -> LocalHead:
        ports = dict(zip(PORT_NAMES, free_ports(len(PORT_NAMES))))
        low, high = _worker_port_range()
        cmd = [self.ray, "start", "--head", "--block", "--node-ip-address", "127.0.0.1"]
        cmd += [f"--{name}={port}" for name, port in ports.items()]
        cmd += [f"--min-worker-port={low}", f"--max-worker-port={high}"]
        cmd += [f"--num-cpus={self.num_cpus}", "--include-dashboard=true"]
        cmd += ["--dashboard-host=127.0.0.1", f"--temp-dir={self.temp_dir}"]
        cmd += [f"--object-store-memory={self.object_store_mb * 1024 * 1024}"]
        cmd += ["--disable-usage-stats"]
        if self.num_gpus is not None:
            cmd.append(f"--num-gpus={self.num_gpus}")
        env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
        # The job's `python` must be this environment's (it has torch and the project's deps).
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self.address = f"http://127.0.0.1:{ports['dashboard-port']}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ray start exited: {self._tail()}")
            if _answers(self.address + "/api/version"):
                return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"the Ray head did not answer within {timeout:.0f} s: {self._tail()}")

    def stop(self, timeout: float = 30.0) -> None:
        """SIGINT to `ray start --block` stops the whole cluster. If it has not within
        `timeout`, SIGKILL to its process group; then any process of the cluster still alive
        (a worker in a group of its own), by the pids recorded before stopping."""
        if self.proc is None:
            return
        family = _descendants(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        for p in family:
            try:
                p.kill()  # psutil checks the pid still names the same process
            except Exception:
                pass
        self.proc = None
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def _tail(self) -> str:
        try:
            return " ".join(self.log_path.read_text()[-600:].split())
        except OSError:
            return "(no log)"

    def __enter__(self) -> LocalHead:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _descendants(pid: int) -> list:
    try:
        import psutil  # installed with ray[default]

        return psutil.Process(pid).children(recursive=True)
    except Exception:
        return []


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Start a local Ray head on 127.0.0.1 (Ctrl-C stops).")
    p.add_argument("--num-cpus", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    p.add_argument("--num-gpus", type=int, default=None)
    args = p.parse_args(argv)
    head = LocalHead(num_cpus=args.num_cpus, num_gpus=args.num_gpus, object_store_mb=500)
    try:
        head.start()
    except RuntimeError as exc:
        print(f"launch_head: error: {exc}", file=sys.stderr)
        return 1
    print(f"Ray head at {head.address}  (python -m trainer launch ... --cluster {head.address})")
    try:
        while head.proc and head.proc.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        head.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
