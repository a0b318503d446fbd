"""The Ray Jobs launcher: the trainer CLI as a job on a Ray cluster, reached at its dashboard.

    spec = ClusterSpec("http://127.0.0.1:8265", gpus=1, gpu_type="L4")
    ray = RayLauncher(spec)
    ray.check(cfg)                                  # reachable? a node with that GPU? fits?
    handle = ray.start(run, ["train"], plan)        # plan: stage.plan_uploads(cfg)
    ray.refresh(run, handle)                        # run folder <- the job's log; final state
    ray.stop(handle)                                # the job gets SIGTERM; the trainer saves

The job's working dir (trainer.remote.stage) holds the code, the data, the split and the run's
config; its entrypoint is `python -m trainer.remote.job -- python -m trainer train ...`
(`torchrun --nproc_per_node N -m trainer ...` with several GPUs), whose first line says whether
the cluster's Python can train at all. Every call to the dashboard has a timeout and a capped
reply (trainer.remote.dashboard); nothing here imports torch or Ray.
"""

from __future__ import annotations

import io
import shlex
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from trainer.config import TrainConfig
from trainer.remote.billing import gpu_memory_gb, record_cost
from trainer.remote.dashboard import Dashboard, _one_line
from trainer.remote.protocol import apply_log
from trainer.remote.spec import ClusterError, ClusterSpec
from trainer.remote.stage import stage_working_dir
from trainer.runfolder import RunFolder

STOP_WAIT_S = 60  # SIGTERM -> SIGKILL on the cluster: time to save a checkpoint and send it
RAY_STATES = ("PENDING", "RUNNING", "STOPPED", "SUCCEEDED", "FAILED")
RAY_TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
# The advisor's GPU names -> Ray's accelerator_type resource names.
RAY_ACCELERATOR = {
    "H100-80GB": ("H100",),
    "A100-80GB": ("A100-80G", "A100"),
    "A100-40GB": ("A100-40G", "A100"),
}


class RayLauncher:
    def __init__(self, spec: ClusterSpec, timeout_s: float = 10.0) -> None:
        self.spec = spec
        self.api = Dashboard(spec.dashboard, timeout_s)

    # --- before submitting ----------------------------------------------------------------

    def check(self, cfg: TrainConfig) -> dict[str, Any]:
        """Raise ClusterError unless the cluster answers, has a node that can take the job,
        and the run's estimated memory fits the GPU. Returns {nodes, memory_gb, gpu_memory_gb}."""
        self.api.get_json("/api/version")
        memory = self._memory_check(cfg)
        nodes = self.nodes()
        if not any(_node_fits(n, self.spec) for n in nodes):
            raise ClusterError(f"cluster: {self._no_fit(nodes)}")
        return {"nodes": len(nodes), **memory}

    def nodes(self, wait_s: float = 5.0) -> list[dict[str, Any]]:
        """Alive nodes with their resources (a fresh head lists itself after about a second)."""
        deadline = time.monotonic() + wait_s
        while True:
            data = self.api.get_json("/api/v0/nodes?detail=1&limit=1000")
            rows = _dig(data, "data", "result", "result")
            alive = [r for r in rows if isinstance(r, dict) and r.get("state") == "ALIVE"]
            if alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.5)

    def _no_fit(self, nodes: list[dict[str, Any]]) -> str:
        s = self.spec
        if not nodes:
            return f"the Ray cluster at {s.dashboard} lists no alive node"
        have = "; ".join(_describe(n) for n in nodes[:5])
        want = f"{s.gpus} GPU(s)" + (f" of type {s.gpu_type}" if s.gpu_type else "")
        if s.gpus == 0:
            want = f"{s.cpus:g} CPU(s)"
        return (
            f"no node of the Ray cluster at {s.dashboard} has {want} (it has: {have}); choose "
            "fewer or another GPU type, or add such a node"
        )

    def _memory_check(self, cfg: TrainConfig) -> dict[str, Any]:
        """The trainer's memory estimate per GPU against the GPU's memory (advisor table)."""
        if self.spec.gpus == 0 or not self.spec.gpu_type:
            return {}
        from trainer.estimate import estimate_memory_bytes, known_model_size

        task = cfg.task if cfg.task != "auto" else "classification"
        size = known_model_size(cfg.resolved_base_model(task))
        gpu_gb = gpu_memory_gb(self.spec.gpu_type)
        if size is None or gpu_gb is None:
            return {}
        trainable = size.total if cfg.method == "full" else size.layers * cfg.lora_r * size.hidden
        trainable = trainable if cfg.method == "full" else trainable * 18  # all linear layers
        mem = estimate_memory_bytes(
            size, trainable, cfg.batch_size, cfg.max_length, "bf16", cfg.method, "cuda"
        )
        need = mem["total"] / 1e9
        if need > 0.9 * gpu_gb:
            raise ClusterError(
                f"cluster: the run needs about {need:.1f} GB per GPU, more than a "
                f"{self.spec.gpu_type} ({gpu_gb:.0f} GB) holds; lower --batch-size or "
                "--max-length, use --method qlora, or choose a larger GPU"
            )
        return {"memory_gb": round(need, 2), "gpu_memory_gb": gpu_gb}

    # --- the job --------------------------------------------------------------------------

    def start(self, run: RunFolder, trainer_args: list[str], plan: dict) -> dict[str, Any]:
        """Stage the recorded uploads, submit, return the handle {launcher, cluster, job_id,
        uploads, ...}."""
        cfg = TrainConfig.from_json(run.config_path.read_text())
        resume = trainer_args[:1] == ["resume"]
        attempt = int((run.status() or {}).get("cluster_attempt") or 0) + 1
        job_id = f"trainer-{run.run_id}-{attempt}"
        stage = Path(tempfile.mkdtemp(prefix="trainer-stage-"))
        try:
            rel_run = stage_working_dir(stage, run, cfg, plan["uploads"], resume)
            entry = self.entrypoint(rel_run, trainer_args)
            self._submit(job_id, entry, _zip(stage))
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        run.update_status(cluster=self.spec.dashboard, job_id=job_id, cluster_attempt=attempt)
        return {
            "launcher": "ray",
            "cluster": self.spec.to_dict(),
            "job_id": job_id,
            "entrypoint": entry,
            "submitted_at": time.time(),
            "uploads": plan["uploads"],
        }

    def entrypoint(self, rel_run: str, trainer_args: list[str]) -> str:
        """The wrapper around the trainer CLI; `trainer_args` name the command (train or
        resume), with the staged paths."""
        s = self.spec
        run_id = rel_run.split("/", 1)[1]
        if trainer_args[:1] == ["resume"]:
            args = ["resume", run_id, "--runs-dir", "runs"]
        else:
            args = ["train", "--config", f"{rel_run}/config.json"]
        if s.gpus > 1:
            trainer = ["torchrun", f"--nproc_per_node={s.gpus}", "-m", "trainer", *args]
        else:
            trainer = [s.python, "-m", "trainer", *args]
        wrapper = [s.python, "-m", "trainer.remote.job", "--run-dir", rel_run, "--"]
        return " ".join(shlex.quote(a) for a in [*wrapper, *trainer])

    def _submit(self, job_id: str, entrypoint: str, package: bytes) -> None:
        s = self.spec
        env_vars = {
            "RAY_JOB_STOP_WAIT_TIME_S": str(STOP_WAIT_S),
            "PYTHONUNBUFFERED": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }
        try:
            uri = self.api.put_package(package)
        except ClusterError as exc:
            raise ClusterError(f"{exc} (while uploading the job's files)") from None
        runtime_env: dict[str, Any] = {"working_dir": uri, "env_vars": env_vars}
        if s.pip.strip():
            runtime_env["pip"] = [p.strip() for p in s.pip.split(",") if p.strip()]
        body: dict[str, Any] = {
            "entrypoint": entrypoint,
            "submission_id": job_id,
            "runtime_env": runtime_env,
            "metadata": {"app": "finetune-advisor", "run_id": job_id},
            "entrypoint_num_cpus": s.cpus,
        }
        if s.gpus:
            body["entrypoint_num_gpus"] = s.gpus
        if s.gpus and s.gpu_type:
            accel = _accelerator_names(s.gpu_type)[0]
            body["entrypoint_resources"] = {f"accelerator_type:{accel}": 0.001}
        try:
            self.api.post_json("/api/jobs/", body)
        except ClusterError as exc:
            raise ClusterError(
                f"cluster: the Ray cluster at {s.dashboard} refused the job: "
                f"{str(exc).removeprefix('cluster: ')}"
            ) from None

    def job_info(self, job_id: str) -> dict[str, Any]:
        """Ray's record of the job, checked: {status, message, start_time, end_time, ...}."""
        info = self.api.get_json(f"/api/jobs/{job_id}")
        if not isinstance(info, dict) or info.get("status") not in RAY_STATES:
            raise ClusterError(f"cluster: {self.spec.dashboard} sent no usable state of {job_id}")
        info["message"] = _one_line(str(info.get("message") or ""))
        return info

    def alive(self, handle: dict[str, Any]) -> bool:
        return self.job_info(handle["job_id"])["status"] not in RAY_TERMINAL

    def stop(self, handle: dict[str, Any], force: bool = False) -> None:
        try:
            self.api.post_json(f"/api/jobs/{handle['job_id']}/stop", {})
        except ClusterError as exc:
            raise ClusterError(
                f"cluster: could not stop job {handle['job_id']} at {self.spec.dashboard}: "
                f"{str(exc).removeprefix('cluster: ')}"
            ) from None

    def refresh(self, run: RunFolder, handle: dict[str, Any]) -> str:
        """Bring the job's run folder up to date from its log; settle the local status when
        the job has ended. Returns the Ray job status."""
        job_id = handle["job_id"]
        info = self.job_info(job_id)
        status = info["status"]
        sync = apply_log(run.path, job_id, self.api.job_logs(job_id))
        st = run.status() or {}
        seen = {"cluster_seen_at": time.time()}
        if sync.get("refused") and sync["refused"] != st.get("sync_refused"):
            seen.update(sync_refused=sync["refused"], sync_refused_first=sync["refused_first"])
        run.update_status(**seen)
        if status == "RUNNING" and st.get("state") == "queued":
            run.write_status("running", "", phase="starting")
        if status in RAY_TERMINAL:  # its processes are gone: the log above is complete
            self._settle(run, handle, info, sync)
        return status

    def _settle(self, run: RunFolder, handle: dict, info: dict, sync: dict) -> None:
        from trainer.remote.outcome import settle_state, write_meta

        settle_state(run, handle, info, sync)
        record_cost(run, self.spec, sync, info)
        if (run.status() or {}).get("state") == "completed":
            write_meta(run)
        run.update_status(cluster_settled=handle["job_id"])


def _zip(stage: Path) -> bytes:
    """The working dir as Ray's SDK packs it: the files at the top of a zip."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(stage.rglob("*")):
            if path.is_file() and not path.is_symlink():
                zf.write(path, str(path.relative_to(stage)))
    return buf.getvalue()


def _dig(data: Any, *keys: str) -> list:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, list) else []


def _accelerator_names(gpu_type: str) -> tuple[str, ...]:
    return RAY_ACCELERATOR.get(gpu_type, (gpu_type,))


def _node_fits(node: dict[str, Any], spec: ClusterSpec) -> bool:
    res = node.get("resources_total")
    res = res if isinstance(res, dict) else {}
    if _float(res.get("CPU")) < spec.cpus:
        return False
    if spec.gpus == 0:
        return True
    if _float(res.get("GPU")) < spec.gpus:
        return False
    if not spec.gpu_type:
        return True
    return any(f"accelerator_type:{a}" in res for a in _accelerator_names(spec.gpu_type))


def _float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return 0.0


def _describe(node: dict[str, Any]) -> str:
    res = node.get("resources_total")
    res = res if isinstance(res, dict) else {}
    kinds = [str(k).split(":", 1)[1][:40] for k in res if str(k).startswith("accelerator_type:")]
    gpus = f"{_float(res.get('GPU')):g} GPU" + (f" {'/'.join(kinds)}" if kinds else "")
    return f"{str(node.get('node_ip', '?'))[:40]}: {_float(res.get('CPU')):g} CPU, {gpus}"
