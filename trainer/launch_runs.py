"""The registry's side of runs on a Ray cluster (used by trainer.jobs.JobManager; no torch).

A remote run is a registry row whose device is `ray:<dashboard>` and whose command column holds
the launcher's handle (cluster spec + Ray job id) instead of an argv. Its row stays `running`
while the Ray job is pending or running (the local queue never starts it); the state shown is
the run folder's status.json, which the job's log brings back (trainer.launch_sync). When the
Ray job ends, the run folder's final state moves the row on, as for a local run.
"""

from __future__ import annotations

import json
import shutil
import time
from typing import TYPE_CHECKING, Any

from trainer.config import TrainConfig
from trainer.launch import ClusterError, ClusterSpec, handle_of, is_remote
from trainer.launch_ray import RAY_TERMINAL, RayLauncher
from trainer.runfolder import RunFolder, write_json_atomic

if TYPE_CHECKING:
    from trainer.jobs import JobManager

REFRESH_EVERY_S = 1.0


class RemoteRuns:
    def __init__(self, jm: JobManager) -> None:
        self.jm = jm
        self._last: dict[str, float] = {}

    def row(self, run_id: str) -> Any | None:
        with self.jm._db() as db:
            row = db.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
        return row if row is not None and is_remote(row["device"]) else None

    @staticmethod
    def settled(row: Any, status: dict[str, Any]) -> bool:
        """The Ray job has ended and its results are in the run folder."""
        return status.get("cluster_settled") == handle_of(row["command"]).get("job_id")

    def launch(self, cfg: TrainConfig, cluster: str | dict[str, Any] | ClusterSpec) -> str:
        """Check the cluster, create the run folder, submit; one ClusterError line if the
        cluster is unreachable, cannot take the job or refuses it (no run folder is left)."""
        spec = ClusterSpec.coerce(cluster)
        launcher = RayLauncher(spec)
        checked = launcher.check(cfg)
        run = self.jm._folder(cfg.run_id or "")
        run.create()
        try:
            write_json_atomic(run.config_path, cfg.to_dict())
            run.write_status(
                "queued",
                f"submitted to the Ray cluster at {spec.dashboard}; waiting for its resources",
                device=spec.device,
                gate_override=cfg.gate_override,
                created_at=time.time(),
                cluster_check=checked,
            )
            handle = launcher.start(run, ["train"])
        except Exception:
            shutil.rmtree(run.path, ignore_errors=True)
            raise
        self._register(run.run_id, spec.device, handle)
        return run.run_id

    def _register(self, run_id: str, device: str, handle: dict[str, Any]) -> None:
        now = time.time()
        with self.jm._db() as db:
            db.execute("BEGIN IMMEDIATE")
            seq = db.execute("SELECT COALESCE(MAX(queued_seq), 0) + 1 FROM runs").fetchone()[0]
            db.execute(
                "INSERT INTO runs(run_id, state, device, command, queued_seq, created_at, "
                "updated_at) VALUES (?, 'running', ?, ?, ?, ?, ?) ON CONFLICT(run_id) DO UPDATE "
                "SET state='running', device=excluded.device, command=excluded.command, "
                "pid=NULL, pid_start=NULL, updated_at=excluded.updated_at",
                (run_id, device, json.dumps(handle), seq, now, now),
            )
            db.execute("COMMIT")

    def refresh(self, force: bool = False) -> None:
        """Bring every active remote run's folder up to date (outside the registry lock: these
        are HTTP calls). An unreachable cluster is noted in the status, never raised."""
        with self.jm._db() as db:
            rows = list(
                db.execute("SELECT * FROM runs WHERE state='running' AND device LIKE 'ray:%'")
            )
        now = time.monotonic()
        for row in rows:
            if not force and now - self._last.get(row["run_id"], -1e9) < REFRESH_EVERY_S:
                continue
            self._last[row["run_id"]] = now
            self.refresh_one(row)

    def refresh_one(self, row: Any) -> str | None:
        run = self.jm._folder(row["run_id"])
        handle = handle_of(row["command"])
        launcher = RayLauncher(ClusterSpec.from_dict(handle["cluster"]), timeout_s=5.0)
        try:
            status = launcher.refresh(run, handle)
        except ClusterError as exc:
            run.update_status(cluster_note=str(exc))
            return None
        if (run.status() or {}).get("cluster_note"):
            run.update_status(cluster_note="")
        return status

    def cancel(self, row: Any, grace_s: float, wait: bool) -> None:
        """Stop the Ray job (its processes get SIGTERM: the trainer saves a checkpoint, which
        comes back with the log); with `wait`, until the job has ended or `grace_s` passed."""
        handle = handle_of(row["command"])
        RayLauncher(ClusterSpec.from_dict(handle["cluster"])).stop(handle)
        deadline = time.monotonic() + grace_s + 10
        while wait and time.monotonic() < deadline:
            if self.refresh_one(row) in RAY_TERMINAL:
                return
            time.sleep(0.5)

    def resume(self, row: Any) -> None:
        """Submit the run again to its cluster: the job gets the run folder with its latest
        checkpoint and runs `python -m trainer resume`."""
        run: RunFolder = self.jm._folder(row["run_id"])
        handle = handle_of(row["command"])
        spec = ClusterSpec.from_dict(handle["cluster"])
        launcher = RayLauncher(spec)
        launcher.check(TrainConfig.from_json(run.config_path.read_text()))
        before = run.status() or {}
        ckpt = run.latest_checkpoint()
        run.write_status(
            "queued",
            f"resume from {ckpt.name if ckpt else 'the start'} submitted to {spec.dashboard}",
            ended_at=None,
        )
        try:
            new = launcher.start(run, ["resume", row["run_id"]])
        except Exception:
            run.write_status(before.get("state", "failed"), before.get("reason", ""))
            raise
        self._register(row["run_id"], spec.device, new)
