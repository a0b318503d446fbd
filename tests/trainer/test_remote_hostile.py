"""The remote route against a cluster that is not trusted: a fake Ray dashboard (http.server on
127.0.0.1, tests/trainer/remote_fake.py) that serves hostile logs, a gzip bomb, a reply that
never comes, and vanishes; everything through the trainer CLI, as a user or the app would."""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.trainer.helpers import REPO, base_args, run_cli
from tests.trainer.remote_fake import FakeDashboard
from trainer.remote.protocol import MARK, encode, end_line, env_line


def _launch(fake: FakeDashboard, tiny_data, runs: Path, *extra: str) -> str:
    res = run_cli(
        "launch", *base_args(tiny_data, runs), "--cluster", fake.address, *extra, "--json"
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)["run_id"]


def _cli_json(*args: str):
    res = run_cli(*args, "--json")
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    return json.loads(res.stdout)


def _status_line(state: str, **extra) -> list[str]:
    return list(encode("status.json", json.dumps({"state": state, **extra}).encode()))


OK_ENV = env_line({"ok": True, "device": "cpu", "gpu_count": 0, "python": "3.11"})


def test_hostile_log_lines_are_refused_counted_and_break_nothing(tmp_path, tiny_data):
    runs = tmp_path / "runs"
    with FakeDashboard() as fake:
        run_id = _launch(fake, tiny_data, runs)
        other = _launch(fake, tiny_data, runs)
        config_before = (runs / run_id / "config.json").read_bytes()
        evil = [
            MARK + '["x"]',
            MARK + '{"f": 7}',
            MARK + "not json",
            *encode("../registry.sqlite", b"gone"),
            *encode("config.json", b'{"train": "/root/.ssh/id_rsa"}'),
            *encode("adapter/trainer_meta.json", b'{"base_model": "/etc"}'),
            *encode("adapter/evil.py", b"import os"),
            *encode("adapter/adapter_model.bin", b"pickle"),
            *encode("data_record.json", b"{}"),
            *encode(".sync.json", b"{}"),
            *encode("metrics.jsonl", b"[1, 2]\n", op="a"),
            *encode("status.json", b'{"state": "lost"}'),
            *encode("status.json", json.dumps({"state": "running", "run_id": other}).encode()),
        ]
        good = [OK_ENV, *_status_line("running", step=2, total_steps=8, progress=0.25, pid=42)]
        good += [*encode("metrics.jsonl", b'{"step": 1, "loss": 1.5}\n', op="a"), "trainer hi"]
        fake.status = "RUNNING"
        fake.log = "\n".join([*evil, *good]) + "\n"
        listed = _cli_json("list", "--runs-dir", str(runs))
        assert {r["run_id"] for r in listed} == {run_id, other}  # nothing broke the listing
        st = _cli_json("status", run_id, "--runs-dir", str(runs))
    assert st["run_id"] == run_id and st["state"] == "running" and st["step"] == 2
    assert st["sync_refused"] == 12 and "not an object" in st["sync_refused_first"]
    assert st["remote_pid"] == 42 and st.get("pid") is None  # another machine's pid
    assert (runs / run_id / "config.json").read_bytes() == config_before
    with sqlite3.connect(runs / "registry.sqlite") as db:  # still the registry, both runs in it
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2
    adapter = runs / run_id / "adapter"
    assert not (adapter / "evil.py").exists() and not (adapter / "trainer_meta.json").exists()
    assert not (adapter / "adapter_model.bin").exists()
    assert not (tmp_path / "registry.sqlite").exists()
    out = (runs / run_id / "stdout.log").read_text()
    assert out.count("refused a line") == 1 and "trainer hi" in out  # said once


def test_a_gzip_bomb_and_a_stalled_log_are_bounded(tmp_path, tiny_data):
    runs = tmp_path / "runs"
    with FakeDashboard() as fake:
        run_id = _launch(fake, tiny_data, runs)
        fake.status, fake.mode = "RUNNING", "bomb"
        rss_mb, st = _status_with_peak_rss(run_id, runs, {"TRAINER_MAX_LOG_MB": "8"})
        assert "sent more than 8.4 MB" in st["cluster_note"], st
        assert rss_mb < 400, f"{rss_mb:.0f} MB: the bomb was inflated"
        fake.mode = "stall"
        t0 = time.monotonic()
        st = _cli_json("status", run_id, "--runs-dir", str(runs))
        took = time.monotonic() - t0
    assert took < 40, f"a stalled logs endpoint held `status` for {took:.0f} s"
    assert st["state"] in ("queued", "running") and "timed out" in st["cluster_note"]


def _status_with_peak_rss(run_id: str, runs: Path, env: dict) -> tuple[float, dict]:
    """`trainer status` in a child; its peak RSS (MB) as the kernel counted it."""
    probe = (
        "import json, resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps({'rss': peak, 'out': r.stdout, 'err': r.stderr}))\n"
    )
    cmd = [sys.executable, "-c", probe, sys.executable, "-m", "trainer", "status", run_id]
    cmd += ["--runs-dir", str(runs), "--json"]
    full_env = dict(os.environ, PYTHONPATH=str(REPO), **env)
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=full_env, timeout=120)
    out = json.loads(res.stdout)
    assert "Traceback" not in out["err"], out["err"]
    return out["rss"], json.loads(out["out"])


def test_a_vanished_cluster_leaves_the_run_lost_and_cancel_works_here(tmp_path, tiny_data):
    from tests.trainer.helpers import config_dict
    from trainer.jobs import JobManager
    from trainer.remote.spec import ClusterSpec

    runs = tmp_path / "runs"
    with FakeDashboard() as fake:
        jm = JobManager(runs)
        spec = ClusterSpec(address=fake.address, lost_after_min=0.1)  # 6 s
        lost = jm.launch(config_dict(tiny_data, runs), cluster=spec)
        kept = _launch(fake, tiny_data, runs)  # the default: 10 min
        ckpt = "checkpoints/step-0000004/"
        files = [*encode(ckpt + "trainable.safetensors", b"w"), *encode(ckpt + "optim.pt", b"o")]
        files += list(encode(ckpt + "state.json", b'{"step": 4}'))
        fake.status, fake.log = (
            "RUNNING",
            "\n".join([OK_ENV, *_status_line("running"), *files]) + "\n",
        )
        assert jm.status(lost)["state"] == "running"
    # the cluster is gone
    time.sleep(7)
    listed = {r["run_id"]: r for r in _cli_json("list", "--runs-dir", str(runs))}
    assert listed[lost]["state"] == "lost" and "step-0000004" in listed[lost]["reason"]
    assert listed[kept]["state"] == "running" and "no Ray dashboard" in listed[kept]["cluster_note"]
    res = run_cli("resume", lost, "--runs-dir", str(runs))
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("trainer: error:")]
    assert res.returncode == 2 and len(errors) == 1 and "Traceback" not in res.stderr
    st = _cli_json("cancel", kept, "--runs-dir", str(runs))
    assert st["state"] == "cancelled" and "did not answer" in st["reason"]
    for run_id in (lost, kept):  # nothing holds them: the app's Delete works
        assert jm.status(run_id)["state"] not in ("queued", "running")
        shutil.rmtree(runs / run_id)
    assert _cli_json("list", "--runs-dir", str(runs)) == []


def test_an_environment_failure_is_failed_with_the_missing_module(tmp_path, tiny_data):
    runs = tmp_path / "runs"
    with FakeDashboard() as fake:
        run_id = _launch(fake, tiny_data, runs)
        env = {"ok": False, "missing": "torch", "error": "No module named 'torch'"}
        fake.status, fake.log = "FAILED", env_line(env) + "\n" + end_line(4) + "\n"
        st = _cli_json("status", run_id, "--runs-dir", str(runs))
        assert st["state"] == "failed", st
        assert "cannot run the trainer: torch" in st["reason"] and "resume" not in st["reason"]
        fake.log = ""  # a second job, whose log starts afresh
        never = _launch(fake, tiny_data, runs)
        fake.status, fake.log, fake.message = "FAILED", "sh: 1: python: not found\n", "exit 127"
        st = _cli_json("status", never, "--runs-dir", str(runs))
    assert st["state"] == "failed" and "never started the trainer" in st["reason"], st


def test_the_bill_is_what_the_job_measured(tmp_path, tiny_data):
    runs = tmp_path / "runs"
    gpu_node = {"CPU": 8.0, "GPU": 1.0, "accelerator_type:H100": 1.0}
    with FakeDashboard(resources=gpu_node) as fake:
        run_id = _launch(fake, tiny_data, runs, "--gpus", "1", "--gpu-type", "H100-80GB")
        final = json.dumps({"accuracy": 0.5, "steps": 8}).encode()
        lines = [OK_ENV, *encode("metrics.json", final), *encode("adapter/head.safetensors", b"h")]
        lines += [*_status_line("completed"), end_line(0, wall_s=36.0)]
        fake.status, fake.log = "SUCCEEDED", "\n".join(lines) + "\n"
        fake.times = (1_000_000.0, 1_000_000.0 + 2 * 3600 * 1000)  # Ray claims 2 hours
        st = _cli_json("status", run_id, "--runs-dir", str(runs))
    assert st["state"] == "completed"
    assert st["gpu_type"] == "cpu" and st["device_hours"] == pytest.approx(0.01)
    assert "asked for 1 x H100-80GB, the job ran on the CPU" in st["billing"]["note"]
    assert "the cluster reports 2.0000 h" in st["billing"]["note"]
    metrics = json.loads((runs / run_id / "metrics.json").read_text())
    assert metrics["cluster"]["gpu_type"] == "cpu"
    meta = json.loads((runs / run_id / "adapter" / "trainer_meta.json").read_text())
    assert meta["base_model"] == "shipped:all-MiniLM-L6-v2"  # written here, from the launch
    assert len(meta["labels"]) == 4 and meta["task"] == "classification"


def test_resume_uploads_only_what_the_launch_uploaded(tmp_path, tiny_data):
    runs = tmp_path / "runs"
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN PRIVATE KEY-----\n")
    with FakeDashboard() as fake:
        run_id = _launch(fake, tiny_data, runs)
        fake.status, fake.log = "STOPPED", OK_ENV + "\n" + "\n".join(_status_line("cancelled"))
        assert _cli_json("status", run_id, "--runs-dir", str(runs))["state"] == "cancelled"
        cfg_path = runs / run_id / "config.json"
        cfg = json.loads(cfg_path.read_text())
        cfg_path.write_text(json.dumps({**cfg, "train": str(secret)}))
        res = run_cli("resume", run_id, "--runs-dir", str(runs))
        assert res.returncode == 2 and "not the file its launch uploaded" in res.stderr
        cfg_path.write_text(json.dumps(cfg))
        res = run_cli("resume", run_id, "--runs-dir", str(runs))
        assert res.returncode == 0, res.stderr
    assert len(fake.submitted) == 2 and fake.submitted[-1]["submission_id"].endswith("-2")
    for blob in fake.uploads.values():
        zipped = zipfile.ZipFile(io.BytesIO(blob))
        assert "data/train.csv" in zipped.namelist()
        assert not any(b"PRIVATE KEY" in zipped.read(n) for n in zipped.namelist())


def test_a_damaged_registry_is_rebuilt_with_the_remote_handles(tmp_path, tiny_data):
    runs = tmp_path / "runs"
    with FakeDashboard() as fake:
        run_id = _launch(fake, tiny_data, runs)
        (runs / "registry.sqlite").write_bytes(b"this is not a database" * 100)
        fake.status, fake.log = "RUNNING", OK_ENV + "\n" + "\n".join(_status_line("running"))
        res = run_cli("list", "--runs-dir", str(runs), "--json")
        assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
        warning = [ln for ln in res.stderr.splitlines() if "damaged" in ln]
        assert len(warning) == 1 and "rebuilt from 1 run folder" in warning[0]
        assert [r["run_id"] for r in json.loads(res.stdout)] == [run_id]
        st = _cli_json("cancel", run_id, "--runs-dir", str(runs), "--grace", "0")
        assert fake.stopped == [fake.job_id()]  # the handle survived: the job was told
    assert st["state"] in ("running", "cancelled")
    assert list(runs.glob("registry.sqlite.damaged-*"))
    with sqlite3.connect(runs / "registry.sqlite") as db:
        assert db.execute("SELECT device FROM runs").fetchone()[0].startswith("ray:")


def test_a_copied_run_folder_keeps_its_own_id(tmp_path, tiny_data):
    runs = tmp_path / "runs"
    with FakeDashboard() as fake:
        run_id = _launch(fake, tiny_data, runs)
        fake.status, fake.log = "RUNNING", OK_ENV + "\n" + "\n".join(_status_line("running"))
        shutil.copytree(runs / run_id, runs / "copy")
        listed = _cli_json("list", "--runs-dir", str(runs))
    assert sorted(r["run_id"] for r in listed) == sorted([run_id, "copy"])
