"""The registry's side of runs on a Ray cluster (used by trainer.jobs.JobManager; no torch).

A remote run is a registry row whose device is `ray:<dashboard>` and whose command column holds
the launcher's handle (cluster spec, Ray job id, the files the launch uploaded) instead of an
argv; the same handle is kept in the run folder (`remote.json`). Its row stays `running` while
the Ray job is pending or running (the local queue never starts it); the state shown is the run
folder's status.json, which the job's log brings back (trainer.remote.protocol). When the Ray job
ends, the run folder's final state moves the row on, as for a local run. A cluster that does not
answer is noted on the run; after `lost_after_min` the run is `lost`. Cancel always ends the run
here, even when the cluster cannot be told.
"""

from __future__ import annotations

import shutil
import time
from typing import Any

from trainer.config import TrainConfig
from trainer.registry import Registry
from trainer.remote.cluster import RAY_TERMINAL, RayLauncher
from trainer.remote.dashboard import _one_line
from trainer.remote.outcome import load_record, mark_lost, save_record
from trainer.remote.spec import ClusterError, ClusterSpec, handle_of, is_remote
from trainer.remote.stage import plan_uploads, write_data_record
from trainer.runfolder import RunFolder, write_json_atomic

REFRESH_EVERY_S = 1.0


class RemoteRuns:
    def __init__(self, registry: Registry) -> None:
        self.reg = registry
        self._last: dict[str, float] = {}

    def row(self, run_id: str) -> Any | None:
        row = self.reg.row(run_id)
        return row if row is not None and is_remote(row["device"]) else None

    @staticmethod
    def settled(row: Any, status: dict[str, Any]) -> bool:
        """The Ray job has ended and its results are in the run folder (or it was lost)."""
        job = handle_of(row["command"]).get("job_id")
        return status.get("cluster_settled") == job or status.get("state") == "lost"

    def launch(self, cfg: TrainConfig, cluster: str | dict[str, Any] | ClusterSpec) -> str:
        """Check the cluster and the data, create the run folder, submit; one line
        (ClusterError or DataError) if the cluster is unreachable, cannot take the job or
        refuses it, or the data is bad. No run folder is left then."""
        spec = ClusterSpec.coerce(cluster)
        launcher = RayLauncher(spec)
        checked = launcher.check(cfg)
        plan = plan_uploads(cfg)
        run = self.reg.folder(cfg.run_id or "")
        run.create()
        try:
            write_json_atomic(run.config_path, cfg.to_dict())
            write_data_record(run, plan["uploads"], plan["meta"]["split_id"])
            run.write_status(
                "queued",
                f"submitted to the Ray cluster at {spec.dashboard}; waiting for its resources",
                device=spec.device,
                gate_override=cfg.gate_override,
                created_at=time.time(),
                cluster_check=checked,
            )
            handle = launcher.start(run, ["train"], plan)
            save_record(run, handle, plan["meta"])
        except BaseException:
            shutil.rmtree(run.path, ignore_errors=True)
            raise
        self.reg.put(run.run_id, "running", spec.device, handle, new_seq=True)
        return run.run_id

    def refresh(self, force: bool = False) -> None:
        """Bring every active remote run's folder up to date (outside the registry lock: these
        are HTTP calls, each with a timeout). Nothing one run's cluster or log does is raised:
        it is noted on that run."""
        with self.reg.db() as db:
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
        try:
            run = self.reg.folder(row["run_id"])
            handle = handle_of(row["command"])
            spec = ClusterSpec.from_dict(handle["cluster"])
        except (ValueError, KeyError, TypeError):
            return None  # a row this version cannot read: left as it is
        try:
            status = RayLauncher(spec, timeout_s=5.0).refresh(run, handle)
        except ClusterError as exc:
            self._unanswered(row, run, spec, handle, str(exc))
            return None
        except Exception as exc:  # a local disk error, a damaged file: this run only
            _note(run, f"sync: {type(exc).__name__}: {_one_line(exc)}")
            return None
        if (run.status() or {}).get("cluster_note"):
            run.update_status(cluster_note="")
        return status

    def _unanswered(self, row: Any, run: RunFolder, spec: ClusterSpec, handle: dict, why: str):
        st = run.status() or {}
        last = st.get("cluster_seen_at") or handle.get("submitted_at") or time.time()
        silent = time.time() - float(last)
        if silent > spec.lost_after_min * 60:
            mark_lost(run, spec.dashboard, silent, why.removeprefix("cluster: ")[:200])
            run.update_status(cluster_note="")
            self.reg.set_state(row["run_id"], "lost")
        else:
            _note(run, why)

    def cancel(self, row: Any, grace_s: float, wait: bool) -> None:
        """Stop the Ray job (its processes get SIGTERM: the trainer saves a checkpoint, which
        comes back with the log); with `wait`, until the job has ended or `grace_s` passed. A
        cluster that does not answer cannot be told: the run is cancelled here all the same."""
        handle = handle_of(row["command"])
        spec = ClusterSpec.from_dict(handle["cluster"])
        try:
            RayLauncher(spec, timeout_s=5.0).stop(handle)
        except ClusterError as exc:
            run = self.reg.folder(row["run_id"])
            run.write_status(
                "cancelled",
                f"cancelled here; the Ray cluster did not answer ({_one_line(exc)[:200]}), so "
                f"job {handle.get('job_id')} may still run there: stop it from its dashboard",
                phase="cancelled",
                cluster_settled=handle.get("job_id"),
            )
            self.reg.set_state(row["run_id"], "cancelled")
            return
        deadline = time.monotonic() + grace_s + 10
        while wait and time.monotonic() < deadline:
            if self.refresh_one(row) in RAY_TERMINAL:
                return
            time.sleep(0.5)

    def resume(self, row: Any) -> None:
        """Submit the run again to its cluster with the files its launch uploaded (refused when
        they changed); the job gets the run folder with its latest checkpoint and runs
        `python -m trainer resume`."""
        run: RunFolder = self.reg.folder(row["run_id"])
        handle = handle_of(row["command"])
        spec = ClusterSpec.from_dict(handle["cluster"])
        cfg = TrainConfig.from_json(run.config_path.read_text())
        plan = self._launch_plan(run, handle, cfg)
        launcher = RayLauncher(spec)
        if (run.status() or {}).get("state") == "lost":
            _stop_quietly(spec, handle)  # the old job must not train the same run too
        launcher.check(cfg)
        before = run.status() or {}
        ckpt = run.latest_checkpoint()
        run.write_status(
            "queued",
            f"resume from {ckpt.name if ckpt else 'the start'} submitted to {spec.dashboard}",
            ended_at=None,
            cluster_note="",
        )
        try:
            new = launcher.start(run, ["resume", row["run_id"]], plan)
        except BaseException:
            run.write_status(before.get("state", "failed"), before.get("reason", ""))
            raise
        save_record(run, new)
        self.reg.put(row["run_id"], "running", spec.device, new, new_seq=False)

    @staticmethod
    def _launch_plan(run: RunFolder, handle: dict, cfg: TrainConfig) -> dict[str, Any]:
        uploads = handle.get("uploads")
        if not isinstance(uploads, dict):
            record = load_record(run) or {}
            uploads = (record.get("handle") or {}).get("uploads")
        if not isinstance(uploads, dict) or not uploads.get("train_sha256"):
            raise ClusterError(
                f"run: '{run.run_id}' has no record of the files its launch uploaded; start a "
                "new run"
            )
        named = {"train": cfg.train, "test": cfg.test}
        for role, path in named.items():
            if (path or None) and str(path) != uploads.get(role):
                raise ClusterError(
                    f"run: config.json of '{run.run_id}' names {role} {path}, not the file its "
                    f"launch uploaded ({uploads.get(role)}); a resume uploads only those"
                )
        return {"uploads": uploads}


def _note(run: RunFolder, text: str) -> None:
    try:
        run.update_status(cluster_note=text)
    except OSError:
        pass  # the disk is the problem; the next call says so again


def _stop_quietly(spec: ClusterSpec, handle: dict[str, Any]) -> None:
    try:
        RayLauncher(spec, timeout_s=5.0).stop(handle)
    except ClusterError:
        pass
