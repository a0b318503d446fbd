"""The trainer on a real Ray cluster: a head on 127.0.0.1 (free ports, one CPU, its own temp dir,
stopped by SIGINT to its pid), jobs submitted through JobManager / `python -m trainer launch
--cluster` (the app's path), progress and results brought back over the job log, cancel and
resume on the cluster, and the comparison reading the brought-back run."""

from __future__ import annotations

import base64
import csv
import json
import os
import signal
import sys
import time

import pytest

from core.metrics import classification_metrics
from tests.trainer.helpers import (
    base_args,
    config_dict,
    read_status,
    run_cli,
    split_and_predictions,
    wait_for,
)
from trainer.jobs import JobManager
from trainer.remote.dashboard import Dashboard
from trainer.remote.head import LocalHead, free_ports, is_loopback, listening_sockets
from trainer.remote.protocol import MARK, apply_log, encode, end_line
from trainer.remote.spec import ClusterSpec
from trainer.runfolder import RunFolder

JOB_TIMEOUT = 240
DONE = ("completed", "failed", "cancelled", "interrupted")


@pytest.fixture(scope="module")
def ray_head():
    head = LocalHead(num_cpus=1, object_store_mb=80)
    head.start(timeout=90)  # no skip: a local head needs nothing but this environment
    yield head
    t0 = time.monotonic()
    head.stop()  # SIGINT to `ray start --block`: the whole cluster, workers included
    print(f"ray: head stopped in {time.monotonic() - t0:.1f} s")


def test_every_socket_of_the_head_and_its_jobs_is_on_loopback(ray_head):
    """Issue 17 item 1: GCS, raylet, object manager, dashboard, its agent (whose job endpoint
    runs any command), the runtime-env agent, the client server, the metrics servers and a
    job's workers all listen on 127.0.0.1 only."""
    api = Dashboard(ray_head.address)
    job = "loopback-check"
    body = {"entrypoint": f"{sys.executable} -c 'import time; time.sleep(30)'"}
    api.post_json("/api/jobs/", {**body, "submission_id": job, "entrypoint_num_cpus": 0})
    try:
        wait_for(
            lambda: api.get_json(f"/api/jobs/{job}")["status"] == "RUNNING",
            60,
            "the job to run",
            interval=0.5,
        )
        time.sleep(2)  # the job's driver and supervisor have opened their servers
        sockets = listening_sockets(ray_head.processes())
    finally:
        api.post_json(f"/api/jobs/{job}/stop", {})
    names = {name for _, name, _, _ in sockets}
    assert len(sockets) >= 10 and any("raylet" in n for n in names), sockets
    assert any("gcs_server" in n for n in names) and any("Agent" in n for n in names), names
    outside = [s for s in sockets if not is_loopback(s[2])]
    assert not outside, f"listening off loopback: {outside}"


def test_a_cluster_python_without_the_trainers_packages_fails_naming_it(
    ray_head, tmp_path, tiny_data
):
    """A head whose `python` lacks the project's packages (here a bare venv): the job's first
    lines find out, and the run is failed with the missing module named, never interrupted."""
    import venv

    bare = tmp_path / "bare"
    venv.create(bare, with_pip=False)
    runs = tmp_path / "runs"
    cfg = config_dict(tiny_data, runs)
    jm = JobManager(runs)
    spec = ClusterSpec(address=ray_head.address, python=str(bare / "bin" / "python"))
    run_id = jm.launch(cfg, cluster=spec)
    st = _poll(jm, run_id, [], DONE)
    assert st["state"] == "failed", st
    assert "cannot run the trainer" in st["reason"] and "No module named" in st["reason"]
    assert "resume" not in st["reason"]


def test_sync_applies_whole_files_only(tmp_path):
    """The log protocol alone: chunked files land whole, a cut line waits, output is kept."""
    run = tmp_path / "run"
    blob = bytes(range(256)) * 700  # 179 KB: 4 chunks
    lines = ["Running entrypoint", *encode("adapter/w.safetensors", blob), "trainer says hi"]
    lines += [*encode("metrics.jsonl", b'{"step": 1}\n', op="a"), end_line(0)]
    log = "\n".join(lines) + "\n"
    cut = log.index(lines[3]) + 10  # in the middle of the third chunk
    state = apply_log(run, "job-1", log[:cut])
    assert not (run / "adapter" / "w.safetensors").exists() and not state["ended"]
    state = apply_log(run, "job-1", log)
    assert (run / "adapter" / "w.safetensors").read_bytes() == blob and state["ended"]
    apply_log(run, "job-1", log)  # applying again adds nothing
    assert (run / "metrics.jsonl").read_text() == '{"step": 1}\n'
    assert (run / "stdout.log").read_text() == "Running entrypoint\ntrainer says hi\n"
    evil = MARK + json.dumps({"f": "../x", "o": "w", "b": base64.b64encode(b"x").decode()})
    state = apply_log(run, "job-2", evil + "\n")  # refused and counted, never raised
    assert state["refused"] == 1 and not (tmp_path / "x").exists()


def test_cluster_spec_validates_and_round_trips():
    spec = ClusterSpec(address="ray://head.example:10001", gpus=2, gpu_type="L4")
    assert spec.dashboard == "http://head.example:8265" and spec.device.startswith("ray:http")
    assert ClusterSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    for bad, field in (({"address": "head:8265"}, "address"), ({"gpus": -1}, "gpus")):
        with pytest.raises(ValueError, match=f"^cluster {field}:"):
            ClusterSpec(**{"address": "http://h:8265", **bad})
    with pytest.raises(ValueError, match="unknown setting"):
        ClusterSpec.from_dict({"address": "http://h:8265", "gpu": 1})


def test_unreachable_cluster_is_one_line(tmp_path, tiny_data):
    (port,) = free_ports(1)
    runs = tmp_path / "runs"
    res = run_cli("launch", *base_args(tiny_data, runs), "--cluster", f"http://127.0.0.1:{port}")
    assert res.returncode == 2
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("trainer: error:")]
    assert len(errors) == 1 and "Traceback" not in res.stderr, res.stderr  # (and any notes)
    assert "no Ray dashboard answers at http://127.0.0.1" in res.stderr
    assert not [p for p in runs.iterdir() if (p / "config.json").exists()]  # no run left behind


def test_a_cluster_gone_mid_run_is_noted_not_raised(tmp_path):
    """The registry keeps the run; status says the cluster does not answer; nothing fails."""
    (port,) = free_ports(1)
    jm = JobManager(tmp_path / "runs")
    spec = ClusterSpec(address=f"http://127.0.0.1:{port}")
    run = RunFolder(tmp_path / "runs" / "remote-1")
    run.create()
    run.write_status("running", "", step=3, total_steps=10, progress=0.3)
    handle = {"cluster": spec.to_dict(), "job_id": "j-1"}
    jm.registry.put("remote-1", "running", spec.device, handle, new_seq=True)
    st = JobManager(tmp_path / "runs").status("remote-1")  # as after an app restart
    assert st["state"] == "running" and st["progress"] == 0.3
    assert "no Ray dashboard answers" in st["cluster_note"]
    assert [r["run_id"] for r in jm.list_runs()] == ["remote-1"]


def test_cluster_without_the_gpu_or_memory_refuses_before_submitting(ray_head, tmp_path, tiny_data):
    runs = tmp_path / "runs"
    args = [*base_args(tiny_data, runs), "--cluster", ray_head.address, "--gpus", "1"]
    res = run_cli("launch", *args, "--gpu-type", "L4")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "has 1 GPU(s) of type L4" in res.stderr and "1 CPU, 0 GPU" in res.stderr
    big = ["--batch-size", "4096", "--max-length", "8192", "--task", "classification"]
    res = run_cli("launch", *args, *big, "--gpu-type", "T4")
    assert res.returncode == 2 and "more than a T4 (16 GB) holds" in res.stderr, res.stderr
    assert JobManager(runs).list_runs() == []


def _poll(jm: JobManager, run_id: str, seen: list[dict], until: tuple[str, ...]) -> dict:
    def done():
        st = jm.status(run_id)
        seen.append(st)
        return st if st["state"] in until else None

    return wait_for(done, JOB_TIMEOUT, f"run {run_id} to reach {until}", interval=0.5)


def test_run_cancel_resume_on_ray(ray_head, tmp_path, tiny_data):
    runs = tmp_path / "project" / "runs"  # an app project's layout
    # A: through the CLI contract; B: through JobManager with a ClusterSpec, as the app does.
    t0 = time.monotonic()
    res = run_cli(
        "launch",
        *base_args(tiny_data, runs, max_steps=8),
        "--cluster",
        ray_head.address,
        "--json",
    )
    submit_s = time.monotonic() - t0
    assert res.returncode == 0, res.stderr[-2000:]
    a = json.loads(res.stdout)["run_id"]
    jm = JobManager(runs)
    b_cfg = config_dict(tiny_data, runs, max_steps=60, save_every=4, log_every=1)
    b = jm.launch(b_cfg, cluster=ClusterSpec(address=ray_head.address))
    assert jm.status(b)["state"] == "queued"  # one CPU: B waits on the cluster behind A
    assert jm.status(b)["device"] == "ray:" + ray_head.address

    seen: list[dict] = []
    st = _poll(jm, a, seen, DONE)
    print(f"ray: A done at {time.monotonic() - t0:.1f} s")
    assert st["state"] == "completed", st.get("reason")
    assert any(s["state"] == "running" for s in seen)
    _check_brought_back(runs, a, st, tiny_data)
    out = json.loads(run_cli("status", a, "--runs-dir", str(runs), "--json").stdout)
    assert out["state"] == "completed" and out["accuracy"] == st["accuracy"]

    # B: progress while it runs, then cancel on the cluster (a checkpoint comes back).
    seen = []
    wait_for(
        lambda: _poll(jm, b, seen, ("running",)).get("step", 0) >= 3,
        JOB_TIMEOUT,
        "B to train a few steps",
        interval=0.5,
    )
    live = seen[-1]
    assert 0 < live["progress"] < 1 and live["eta_s"] is not None and live["total_steps"] == 60
    assert any("loss" in r for r in jm.metrics(b))
    print(f"ray: B step {live['step']} at {time.monotonic() - t0:.1f} s")
    res = run_cli("cancel", b, "--runs-dir", str(runs), "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    st = st_cancelled = _poll(jm, b, [], DONE)
    assert st["state"] == "cancelled" and "checkpoint" in st["reason"], st["reason"]
    ckpt = RunFolder(runs / b).latest_checkpoint()
    assert ckpt is not None and (ckpt / "trainable.safetensors").exists()
    stopped_at = int(ckpt.name.split("-")[1])
    print(f"ray: B cancelled at step {stopped_at}, {time.monotonic() - t0:.1f} s")
    assert 3 <= stopped_at < 60

    # Resume: the same command as a local run; the job continues from the checkpoint.
    res = run_cli("resume", b, "--runs-dir", str(runs), "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    jm = JobManager(runs)  # a fresh manager: an app restart finds the remote run again

    def trained_on() -> bool:  # past the next periodic checkpoint (save_every=4)
        st = _poll(jm, b, [], ("running", *DONE))
        return st["job_id"] == f"trainer-{b}-2" and st.get("step", 0) >= stopped_at + 6

    wait_for(trained_on, JOB_TIMEOUT, "the resumed job to train on", interval=0.5)
    # The trainer dies mid-run (as if OOM-killed): the run is interrupted, its last
    # checkpoint comes back, and a second resume finishes it.
    os.kill(read_status(runs / b)["remote_pid"], signal.SIGKILL)  # this machine is the cluster
    st = _poll(jm, b, [], DONE)
    assert st["state"] == "interrupted" and "resume continues from step-" in st["reason"], st
    died_at = int(RunFolder(runs / b).latest_checkpoint().name.split("-")[1])
    assert died_at > stopped_at
    print(f"ray: B killed, checkpoint {died_at}, {time.monotonic() - t0:.1f} s")
    assert run_cli("resume", b, "--runs-dir", str(runs)).returncode == 0
    st = _poll(jm, b, [], DONE)
    assert st["state"] == "completed", st.get("reason")
    print(f"ray: B resumed and done at {time.monotonic() - t0:.1f} s")
    final = json.loads((runs / b / "metrics.json").read_text())
    assert final["steps"] == 60 and "resumed" in final["prediction_note"]
    assert st["job_id"] == final["cluster"]["job_id"] == f"trainer-{b}-3"
    assert final["cluster"]["device_hours"] > st_cancelled["device_hours"] > 0  # all jobs
    steps = [r["step"] for r in RunFolder(runs / b).metrics() if "loss" in r]
    assert steps == list(range(1, 61))  # one loss row per step across the three jobs
    listed = json.loads(run_cli("list", "--runs-dir", str(runs), "--json").stdout)
    assert {r["run_id"]: r["state"] for r in listed} == {a: "completed", b: "completed"}
    print(f"ray: submit {submit_s:.1f} s (CLI, incl. checks + upload)")


def _check_brought_back(runs, run_id: str, st: dict, tiny_data) -> None:
    """The run folder holds what a local run leaves, in the same format, and the comparison
    reads it."""
    run = runs / run_id
    final = json.loads((run / "metrics.json").read_text())
    assert final["steps"] == 8 and final["accuracy"] == st["accuracy"]
    assert (run / "adapter" / "adapter_model.safetensors").exists()
    meta = json.loads((run / "adapter" / "trainer_meta.json").read_text())  # written here
    assert meta["base_model"] == "shipped:all-MiniLM-L6-v2" and len(meta["labels"]) == 4
    assert st["billing"]["hours_source"] == "the job's own clock" and st["gpu_type"] == "cpu"
    assert st["device_hours"] > 0 and st["cost_usd"] == pytest.approx(
        st["device_hours"] * st["price_usd_per_hour"], rel=1e-3
    )
    assert final["cluster"]["cost_usd"] == st["cost_usd"]
    assert any("loss" in r for r in RunFolder(run).metrics())
    assert "INFO step" in (run / "stdout.log").read_text()
    data, rows = split_and_predictions(tiny_data, runs, run)
    assert [r["id"] for r in rows] == data.test_ids and final["split_id"] == data.split_id
    # The comparison, reading the project folder the app reads (comparison.load_project), on
    # the same split, against a majority-class baseline computed here.
    from comparison import build, load_project

    project = runs.parent
    majority = max(set(data.train_labels), key=data.train_labels.count)
    base_dir = project / "results" / f"baseline-{data.split_id}"
    base_dir.mkdir(parents=True)
    with open(base_dir / "predictions.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "gold", "knn", "probe"])
        w.writerows((i, g, majority, majority) for i, g in zip(data.test_ids, data.test_labels))
    m = classification_metrics(data.test_labels, [majority] * len(data.test_ids))
    baseline = {"split_id": data.split_id, "n_test": len(data.test_ids), "knn": m, "probe": m}
    (base_dir / "results.json").write_text(json.dumps(baseline))
    (project / "data.json").write_text(json.dumps({"split_id": data.split_id}))
    p = load_project(project, run_id)
    assert p.final == final and p.run_csv == run / "predictions.csv"
    comp = build(
        p.baseline, p.baseline_csv, p.final, p.run_csv, p.config, p.answers, p.assumptions
    ).to_dict()
    assert comp["n_paired"] == len(data.test_ids) and not comp["warnings"]
    assert comp["systems"][-1]["score"] == final["accuracy"]
