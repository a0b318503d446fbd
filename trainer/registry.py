"""The run registry `runs/registry.sqlite`: the queue, each job's pid (or a cluster job's
handle) and its state. No torch. Used by trainer.jobs and trainer.remote.runs.

The registry is an index of the run folders, never the only copy of anything: a remote run's
handle is also in its folder (`remote.json`), a local run's state in its `status.json`. So a
damaged file (not a database, a malformed page, a foreign table) is set aside as
`registry.sqlite.damaged-<time>` and rebuilt from the run folders, with one line saying so
(`Registry.notes`, and on stderr), never a traceback.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from trainer.remote.outcome import load_record
from trainer.remote.spec import ClusterSpec
from trainer.runfolder import TERMINAL, RunFolder

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    device TEXT NOT NULL,
    command TEXT NOT NULL,
    pid INTEGER,
    pid_start INTEGER,
    queued_seq INTEGER NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
)
"""
COLUMNS = "run_id, state, device, command, pid, pid_start, queued_seq, created_at, updated_at"
# sqlite errors that say the disk or another process is the problem, not the file's content.
NOT_DAMAGE = ("unable to open", "readonly", "read-only", "disk is full", "locked", "disk i/o")


class Registry:
    def __init__(self, runs_dir: Path, python: str) -> None:
        self.runs_dir = runs_dir
        self.path = runs_dir / "registry.sqlite"
        self.python = python
        self.notes: list[str] = []
        try:
            self._check()
        except sqlite3.DatabaseError as exc:
            if any(s in str(exc).lower() for s in NOT_DAMAGE):
                raise
            self.rebuild(exc)

    @contextmanager
    def db(self):
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA busy_timeout=30000")
            yield db
        finally:
            db.close()

    def _check(self) -> None:
        with self.db() as db:
            db.execute(SCHEMA)
            db.execute(f"SELECT {COLUMNS} FROM runs LIMIT 1").fetchall()
            (verdict,) = db.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed ({verdict})")

    def folder(self, run_id: str) -> RunFolder:
        if not run_id or "/" in run_id or run_id.startswith(".") or run_id in ("..",):
            raise ValueError(f"run: '{run_id}' is not a run id")
        return RunFolder(self.runs_dir / run_id)

    def row(self, run_id: str) -> sqlite3.Row | None:
        with self.db() as db:
            return db.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()

    def put(self, run_id: str, state: str, device: str, command: Any, new_seq: bool) -> None:
        """Insert or replace a run's row (a new place in the queue with `new_seq`)."""
        now = time.time()
        seq_update = ", queued_seq=excluded.queued_seq" if new_seq else ""
        with self.db() as db:
            db.execute("BEGIN IMMEDIATE")
            seq = db.execute("SELECT COALESCE(MAX(queued_seq), 0) + 1 FROM runs").fetchone()[0]
            db.execute(
                f"INSERT INTO runs({COLUMNS}) VALUES (?, ?, ?, ?, NULL, NULL, ?, ?, ?) "
                "ON CONFLICT(run_id) DO UPDATE SET state=excluded.state, device=excluded.device, "
                f"command=excluded.command, pid=NULL, pid_start=NULL{seq_update}, "
                "updated_at=excluded.updated_at",
                (run_id, state, device, json.dumps(command), seq, now, now),
            )
            db.execute("COMMIT")

    def set_state(self, run_id: str, state: str) -> None:
        with self.db() as db:
            db.execute(
                "UPDATE runs SET state=?, updated_at=? WHERE run_id=?", (state, time.time(), run_id)
            )

    # --- rebuilding -----------------------------------------------------------------------

    def rebuild(self, exc: BaseException) -> None:
        """Set the damaged file aside and rebuild, under a lock: of two processes that found
        it damaged, the second finds it rebuilt."""
        with open(self.runs_dir / ".registry.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._check()
                return
            except sqlite3.DatabaseError:
                self._rebuild(exc)

    def _rebuild(self, exc: BaseException) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        kept = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        self.path.replace(kept)
        for suffix in ("-wal", "-shm", "-journal"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                side.replace(kept.with_name(kept.name + suffix))
        with self.db() as db:
            db.execute(SCHEMA)
        n = sum(self._restore(path) for path in sorted(self.runs_dir.iterdir()))
        note = (
            f"runs_dir: {self.path} was damaged ({' '.join(str(exc).split())[:120]}); rebuilt "
            f"from {n} run folder(s), the damaged file kept as {kept.name}"
        )
        self.notes.append(note)
        print(f"trainer: warning: {note}", file=sys.stderr)

    def _restore(self, path: Path) -> bool:
        """One run folder back into the registry: remote runs by their launch record, runs
        the job manager started by their status. Foreground runs never were in it."""
        if path.is_symlink() or not path.is_dir() or path.name.startswith("."):
            return False
        run = RunFolder(path)
        st = run.status() or {}
        record = load_record(run)
        state = st.get("state") if st.get("state") in (*TERMINAL, "queued", "running") else None
        if record is not None:
            try:
                spec = ClusterSpec.from_dict(record["handle"].get("cluster") or {})
            except ValueError:
                return False
            settled = st.get("cluster_settled") == record["handle"].get("job_id")
            state = state if state in TERMINAL and (settled or state == "lost") else "running"
            self.put(run.run_id, state, spec.device, record["handle"], new_seq=True)
            return True
        if not st.get("managed") or state is None or not run.config_path.is_file():
            return False
        cmd = [self.python, "-m", "trainer", "train", "--config", str(run.config_path)]
        if run.latest_checkpoint() is not None:
            cmd = [self.python, "-m", "trainer", "resume", run.run_id, "--runs-dir"]
            cmd.append(str(self.runs_dir))
        self.put(run.run_id, state, str(st.get("device") or "cpu"), cmd, new_seq=True)
        pid, start = st.get("pid"), st.get("pid_start")
        if state == "running" and isinstance(pid, int) and isinstance(start, int | None):
            with self.db() as db:
                db.execute(
                    "UPDATE runs SET pid=?, pid_start=? WHERE run_id=?", (pid, start, run.run_id)
                )
        return True
