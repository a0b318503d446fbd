"""A local Ray head for trying the cluster path on one machine (and for the tests and the GPU
bench), with every socket it opens on 127.0.0.1.

    python -m trainer.remote.head                 # prints the dashboard URL; Ctrl-C stops it
    python -m trainer launch ... --cluster http://127.0.0.1:PORT

Why the flags and the environment below: `ray start --node-ip-address 127.0.0.1` alone is not
enough. Ray swaps a loopback node address for the machine's own address
(`services.resolve_ip_for_localhost`), and GCS, raylet, object manager, the dashboard agent
(whose job endpoint runs any command it is sent), the runtime-env agent and the client server
then listen on the network. `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0` is Ray's own switch for a
single-node cluster: it keeps 127.0.0.1 as the node address, and every component binds to the
node address when that is loopback. The two metrics servers Ray opens on fixed ports get free
ones, so two heads (tests) do not collide. `listening_sockets` lists what a head listens on; the
tests check that none is off loopback. To reach a head on another machine, tunnel to it (SSH
`-L 8265:127.0.0.1:8265`, `kubectl port-forward`) rather than opening it to the network.

`LocalHead` starts `ray start --head --block` in its own process group with its own temp dir
and stops it with SIGINT to that process (SIGTERM does not stop Ray's workers).
"""

from __future__ import annotations

import argparse
import ipaddress
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

LOOPBACK = "127.0.0.1"
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
# Ray settings read from the environment by every process of the cluster.
ENV_PORTS = ("AUTOSCALER_METRIC_PORT", "DASHBOARD_METRIC_PORT")


def free_ports(n: int) -> list[int]:
    """n distinct ports the OS says are free now."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind((LOOPBACK, 0))
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
            s.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def head_command(ray: str, ports: dict[str, int], workers: tuple[int, int], **opts) -> list[str]:
    """`ray start --head` with every address Ray lets us set on loopback."""
    cmd = [ray, "start", "--head", "--block", "--node-ip-address", LOOPBACK]
    cmd += [f"--{name}={port}" for name, port in ports.items()]
    cmd += [f"--min-worker-port={workers[0]}", f"--max-worker-port={workers[1]}"]
    cmd += [f"--num-cpus={opts['num_cpus']}", "--include-dashboard=true"]
    cmd += [f"--dashboard-host={LOOPBACK}", f"--temp-dir={opts['temp_dir']}"]
    cmd += [f"--object-store-memory={opts['object_store_mb'] * 1024 * 1024}"]
    cmd += ["--disable-usage-stats"]
    if opts.get("num_gpus") is not None:
        cmd.append(f"--num-gpus={opts['num_gpus']}")
    return cmd


def head_env(metrics_ports: list[int]) -> dict[str, str]:
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # keep the node address 127.0.0.1 (above)
    env.update({name: str(port) for name, port in zip(ENV_PORTS, metrics_ports)})
    # The job's `python` must be this environment's (it has torch and the project's deps).
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


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
        ports = free_ports(len(PORT_NAMES) + len(ENV_PORTS))
        named = dict(zip(PORT_NAMES, ports))
        cmd = head_command(
            self.ray,
            named,
            _worker_port_range(),
            num_cpus=self.num_cpus,
            num_gpus=self.num_gpus,
            temp_dir=self.temp_dir,
            object_store_mb=self.object_store_mb,
        )
        env = head_env(ports[len(PORT_NAMES) :])
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=_default_sigint,  # stop() relies on it, even under a shell's `&`
            )
        self.address = f"http://{LOOPBACK}:{named['dashboard-port']}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ray start exited: {self._tail()}")
            if _answers(self.address + "/api/version"):
                return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"the Ray head did not answer within {timeout:.0f} s: {self._tail()}")

    def processes(self) -> list:
        """`ray start` and every process of the cluster below it (psutil.Process objects)."""
        if self.proc is None:
            return []
        import psutil  # installed with ray[default]

        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def stop(self, timeout: float = 30.0) -> None:
        """SIGINT to `ray start --block` stops the whole cluster. If it has not within
        `timeout`, SIGKILL to its process group; then any process of the cluster still alive
        (a worker in a group of its own), by the pids recorded before stopping."""
        if self.proc is None:
            return
        family = self.processes()[1:]
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


def _default_sigint() -> None:
    """In the child before exec: SIGINT as default (a shell's `&` starts it ignored, and an
    ignored SIGINT would not stop `ray start --block`)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def listening_sockets(processes: list) -> list[tuple[int, str, str, int]]:
    """(pid, process name, address, port) of every TCP socket listening and every UDP socket
    bound by `processes`."""
    import psutil

    out = []
    for p in processes:
        try:
            conns, name = p.net_connections(kind="inet"), p.name()
        except psutil.Error:
            continue  # ended meanwhile
        for c in conns:
            if c.status == psutil.CONN_LISTEN or (c.type == socket.SOCK_DGRAM and not c.raddr):
                out.append((p.pid, name, c.laddr.ip, c.laddr.port))
    return out


def is_loopback(address: str) -> bool:
    """127.0.0.0/8, ::1, or an IPv4-mapped loopback (::ffff:127.0.0.1)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m trainer.remote.head",
        description="Start a local Ray head on 127.0.0.1 only (Ctrl-C stops it).",
    )
    p.add_argument("--num-cpus", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    p.add_argument("--num-gpus", type=int, default=None)
    args = p.parse_args(argv)
    head = LocalHead(num_cpus=args.num_cpus, num_gpus=args.num_gpus, object_store_mb=500)
    # Ctrl-C or SIGTERM: the `finally` below stops the cluster, whatever started this process.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        head.start()
    except RuntimeError as exc:
        print(f"head: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    print(f"Ray head at {head.address}  (python -m trainer launch ... --cluster {head.address})")
    print("It listens on 127.0.0.1 only; from another machine use an SSH tunnel to it.")
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
