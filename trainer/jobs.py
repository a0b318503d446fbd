"""Background training jobs for the app: launch, queue, cancel, resume, recover. No torch.

Each job is `python -m trainer train --config runs/<id>/config.json` (or `... resume <id>`) in
its own process session, stdout and stderr to `runs/<id>/stdout.log`. A SQLite registry
(`runs/registry.sqlite`) holds the queue and each job's pid and process start time (so a reused
pid is not mistaken for our job). One job runs per device; later ones wait as `queued` and start
when the running one ends: the finishing worker starts the next one itself, and any JobManager
call does too (e.g. after a crash). `status.json` in the run folder, written by the worker, holds
progress and the final state; a running job whose process is gone becomes `interrupted`.

    jm = JobManager("runs")
    run_id = jm.launch(TrainConfig(train="train.csv", text_col="text", label_col="label"))
    jm.status(run_id)["state"]     # queued | running | completed | failed | cancelled |
                                    # interrupted | lost (a cluster that stopped answering)
    jm.cancel(run_id)               # SIGTERM -> checkpoint + cancelled; SIGKILL after grace_s
    jm.resume(run_id)               # continue from the last checkpoint
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from trainer import procs
from trainer.config import TrainConfig
from trainer.registry import Registry
from trainer.remote.local import LocalLauncher
from trainer.remote.runs import RemoteRuns
from trainer.remote.spec import ClusterSpec, is_remote
from trainer.runfolder import RESUMABLE, TERMINAL, RunFolder, new_run_id, write_json_atomic

GONE_REASON = (
    "the training process ({pid}) ended without finishing (killed, crashed or the machine "
    "restarted; see stdout.log); resume to continue from the last checkpoint"
)


def device_key(device: str) -> str:
    """The device a job occupies, decided without importing torch."""
    if device != "auto":
        return device
    return "cuda" if os.path.exists("/proc/driver/nvidia/version") else "cpu"


class JobManager:
    """The app's handle on training jobs under `runs_dir` (safe to create many; state is on
    disk)."""

    def __init__(self, runs_dir: str | Path = "runs", python: str | None = None) -> None:
        self.runs_dir = Path(runs_dir).resolve()
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.python = python or sys.executable
        self.local = LocalLauncher(self.python)
        self.registry = Registry(self.runs_dir, self.python)  # rebuilt here when damaged
        self.db_path = self.registry.path
        self.notes = self.registry.notes  # one line per thing worth telling the user
        self.remote = RemoteRuns(self.registry)  # runs on a Ray cluster (trainer.remote)

    # --- public API ----------------------------------------------------------------------

    def launch(
        self,
        config: TrainConfig | dict[str, Any],
        cluster: str | dict[str, Any] | ClusterSpec | None = None,
    ) -> str:
        """Validate, create the run folder (config.json, status queued) and queue the job;
        it starts at once if its device is free. With `cluster` (a Ray dashboard address or a
        ClusterSpec) the job is submitted to that Ray cluster instead. Returns the run id."""
        cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
        cfg = _absolute_paths(replace(cfg, runs_dir=str(self.runs_dir)))
        run_id = cfg.run_id or new_run_id()
        run = self._folder(run_id)
        if run.path.exists():
            raise ValueError(f"run_id: a run named '{run_id}' already exists in {self.runs_dir}")
        cfg = replace(cfg, run_id=run_id)
        if cluster is not None:
            return self.remote.launch(cfg, cluster)
        run.create()
        write_json_atomic(run.config_path, cfg.to_dict())
        run.write_status(
            "queued",
            "waiting for the device",
            device=device_key(cfg.device),
            gate_override=cfg.gate_override,
            created_at=time.time(),
        )
        cmd = [self.python, "-m", "trainer", "train", "--config", str(run.config_path)]
        self._enqueue(run_id, device_key(cfg.device), cmd)
        self._schedule()
        return run_id

    def status(self, run_id: str) -> dict[str, Any]:
        """status.json merged with the registry: run_id, state, reason, phase, pid, device,
        step, total_steps, epoch, progress, eta_s, predicted_train_s, queue_position, ..."""
        self._schedule()
        return self._status(run_id)

    def list_runs(self) -> list[dict[str, Any]]:
        """Every run in runs_dir (registered or run in the foreground), newest first."""
        self._schedule()
        rows = []
        for path in self.runs_dir.iterdir():
            if path.name.startswith(".") or not (path / "status.json").is_file():
                continue
            try:
                rows.append(self._status(path.name))
            except ValueError:
                continue  # a folder that is no run (its status.json is not an object)
        return sorted(rows, key=lambda r: _number(r.get("created_at")), reverse=True)

    def metrics(self, run_id: str) -> list[dict[str, Any]]:
        """metrics.jsonl rows: {step, epoch, loss, lr, head_lr, samples_per_s, tokens_per_s,
        eta_s, train_s, total_steps, time} and eval rows {step, epoch, eval_accuracy|eval_loss,
        eval_n, time}."""
        return self._folder(run_id).metrics()

    def final_metrics(self, run_id: str) -> dict[str, Any] | None:
        return self._folder(run_id).final_metrics()

    def cancel(self, run_id: str, grace_s: float = 30.0, wait: bool = True) -> dict[str, Any]:
        """Queued: cancelled at once. Running: SIGTERM to its process group (the worker saves a
        checkpoint and marks itself cancelled), SIGKILL if still alive after `grace_s`."""
        self._schedule()
        st = self._status(run_id)
        remote = self.remote.row(run_id) if st["state"] in ("queued", "running") else None
        if remote is not None:
            self.remote.cancel(remote, grace_s, wait)
        elif st["state"] == "queued":
            self._set_state(run_id, "cancelled")
            self._folder(run_id).write_status("cancelled", "cancelled before it started")
            self._schedule()
        elif st["state"] == "running":
            pid, started = st.get("pid"), st.get("pid_start")
            if procs.alive(pid, started):
                group = bool(st.get("managed"))
                _signal(pid, signal.SIGTERM, group)
                if wait:
                    self._reap_after(run_id, pid, started, grace_s, group)
                else:
                    args = (run_id, pid, started, grace_s, group)
                    threading.Thread(target=self._reap_after, args=args, daemon=True).start()
        return self.status(run_id)

    def resume(self, run_id: str) -> str:
        """Queue the run again; it continues from its last checkpoint (or starts over if it
        has none). Only interrupted, cancelled or failed runs can be resumed."""
        self._schedule()
        run = self._folder(run_id)
        if not run.config_path.exists():
            raise ValueError(f"run: no run '{run_id}' with a config.json in {self.runs_dir}")
        state = self._status(run_id)["state"]
        if state not in RESUMABLE:
            raise ValueError(
                f"run: '{run_id}' is {state}; only {', '.join(RESUMABLE)} runs can be resumed"
            )
        remote = self.remote.row(run_id)
        if remote is not None:
            self.remote.resume(remote)
            return run_id
        cfg = TrainConfig.from_json(run.config_path.read_text())
        cmd = [self.python, "-m", "trainer", "resume", run_id, "--runs-dir", str(self.runs_dir)]
        ckpt = run.latest_checkpoint()
        run.write_status(
            "queued",
            f"resume from {ckpt.name if ckpt else 'the start'} requested",
            pid=None,
            ended_at=None,
        )
        self._enqueue(run_id, device_key(cfg.device), cmd)
        self._schedule()
        return run_id

    def recover(self) -> list[str]:
        """At start-up: runs marked running whose process is gone become interrupted (and the
        queue moves on). Returns their ids."""
        return self._schedule()

    def start_next(self, finished: str | None = None) -> list[str]:
        """Called by a finishing worker: start queued jobs whose device is now free."""
        return self._schedule(finishing=finished)

    # --- internals -----------------------------------------------------------------------

    def _db(self):
        return self.registry.db()

    def _folder(self, run_id: str) -> RunFolder:
        return self.registry.folder(run_id)

    def _enqueue(self, run_id: str, device: str, cmd: list[str]) -> None:
        self.registry.put(run_id, "queued", device, cmd, new_seq=True)

    def _set_state(self, run_id: str, state: str) -> None:
        self.registry.set_state(run_id, state)

    def _schedule(self, finishing: str | None = None) -> list[str]:
        """Under one write lock: settle running jobs, then start the next queued job on every
        free device. Returns the runs newly marked interrupted."""
        self.remote.refresh()  # runs on a cluster: their folders, from the jobs' logs
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                gone = self._settle(db, finishing)
                busy = {
                    r["device"]
                    for r in db.execute(
                        "SELECT device FROM runs WHERE state='running' AND run_id IS NOT ?",
                        (finishing,),
                    )
                }
                queued = db.execute("SELECT * FROM runs WHERE state='queued' ORDER BY queued_seq")
                for row in list(queued):
                    if row["device"] not in busy and not is_remote(row["device"]):
                        self._spawn(db, row)
                        busy.add(row["device"])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return gone + self._recover_foreground()

    def _settle(self, db: sqlite3.Connection, finishing: str | None) -> list[str]:
        gone = []
        for row in list(db.execute("SELECT * FROM runs WHERE state='running'")):
            run = self._folder(row["run_id"])
            st = run.status() or {}
            if is_remote(row["device"]) and not self.remote.settled(row, st):
                continue  # the Ray job still runs, or its last files are on their way
            if st.get("state") in TERMINAL:
                new = st["state"]
            elif row["run_id"] == finishing or is_remote(row["device"]):
                continue
            elif procs.alive(row["pid"], row["pid_start"]):
                continue
            else:
                new = "interrupted"
                run.write_status(new, GONE_REASON.format(pid=row["pid"]))
                gone.append(row["run_id"])
            db.execute(
                "UPDATE runs SET state=?, updated_at=? WHERE run_id=?",
                (new, time.time(), row["run_id"]),
            )
        return gone

    def _spawn(self, db: sqlite3.Connection, row: sqlite3.Row) -> None:
        run = self._folder(row["run_id"])
        # Before the process exists: the worker's own status writes must never be overwritten.
        run.write_status("running", "starting", pid=None, phase="starting", managed=True)
        handle = self.local.spawn(run, json.loads(row["command"]))
        db.execute(
            "UPDATE runs SET state='running', pid=?, pid_start=?, updated_at=? WHERE run_id=?",
            (handle["pid"], handle["pid_start"], time.time(), row["run_id"]),
        )

    def _recover_foreground(self) -> list[str]:
        """Runs started in the foreground (not in the registry) whose process died."""
        with self._db() as db:
            known = {r[0] for r in db.execute("SELECT run_id FROM runs")}
        gone = []
        for path in self.runs_dir.iterdir():
            if path.name in known or not (path / "status.json").exists():
                continue
            run = RunFolder(path)
            st = run.status() or {}
            if st.get("state") == "running" and not procs.alive(st.get("pid"), st.get("pid_start")):
                run.write_status("interrupted", GONE_REASON.format(pid=st.get("pid")))
                gone.append(path.name)
        return gone

    def _status(self, run_id: str) -> dict[str, Any]:
        run = self._folder(run_id)
        st = run.status()
        with self._db() as db:
            row = db.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
            if row is not None and row["state"] == "queued":
                ahead = db.execute(
                    "SELECT COUNT(*) FROM runs WHERE state='queued' AND device=? "
                    "AND queued_seq < ?",
                    (row["device"], row["queued_seq"]),
                )
                queue_position = ahead.fetchone()[0] + 1
        if st is None and row is None:
            raise ValueError(f"run: no run '{run_id}' in {self.runs_dir}")
        out: dict[str, Any] = dict(st or {})
        out.update(run_id=run_id, run_dir=str(run.path))  # the folder's name, not the file's say
        if row is not None:
            out.update(state=row["state"], device=row["device"], managed=True)
            if is_remote(row["device"]) and row["state"] == "running":
                out["state"] = self._remote_state(st or {})
            if row["state"] == "running":
                out["pid"], out["pid_start"] = row["pid"], row["pid_start"]
            out.setdefault("created_at", row["created_at"])
            if row["state"] == "queued":
                out["queue_position"] = queue_position
        out.setdefault("reason", "")
        return out

    @staticmethod
    def _remote_state(st: dict[str, Any]) -> str:
        """A cluster run's state as its job reports it; `running` until its results are here."""
        state = st.get("state") or "queued"
        return "running" if state in TERMINAL else state

    def _reap_after(
        self, run_id: str, pid: int, started: int | None, grace_s: float, group: bool
    ) -> None:
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and procs.alive(pid, started):
            time.sleep(0.2)
        killed = procs.alive(pid, started)
        if killed:
            _signal(pid, signal.SIGKILL, group)
            wait_until = time.monotonic() + 5
            while procs.alive(pid, started) and time.monotonic() < wait_until:
                time.sleep(0.1)
        run = self._folder(run_id)
        if self._resumed_since(run_id, pid):
            pass  # resumed after the cancel: the status is the new process's, not ours to end
        elif (run.status() or {}).get("state") not in TERMINAL:
            reason = (
                f"killed after not stopping within {grace_s:.0f} s of SIGTERM; the last "
                "periodic checkpoint is kept"
                if killed
                else "cancelled while starting, before anything was saved"
            )
            run.write_status("cancelled", reason)
        self._schedule()

    def _resumed_since(self, run_id: str, pid: int) -> bool:
        """The run was queued again (Resume) after `pid` was told to stop."""
        with self._db() as db:
            row = db.execute("SELECT state, pid FROM runs WHERE run_id=?", (run_id,)).fetchone()
        return row is not None and (row["state"] == "queued" or row["pid"] not in (None, pid))


def _number(x: Any) -> float:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else 0.0


def _signal(pid: int, sig: int, group: bool) -> None:
    try:
        if group:
            os.killpg(pid, sig)  # start_new_session=True: the job's pgid is its pid
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _absolute_paths(cfg: TrainConfig) -> TrainConfig:
    """The job runs from another process; make its file paths independent of the cwd."""

    def absolute(p: str | None) -> str | None:
        return str(Path(p).expanduser().resolve()) if p else p

    base = cfg.base_model
    if base != "auto" and not base.startswith("shipped:") and Path(base).expanduser().exists():
        base = str(Path(base).expanduser().resolve())
    return replace(
        cfg,
        train=absolute(cfg.train),
        test=absolute(cfg.test),
        split_dir=absolute(cfg.split_dir),
        base_model=base,
    )
