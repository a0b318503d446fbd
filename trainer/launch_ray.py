"""The Ray Jobs launcher: the trainer CLI as a job on a Ray cluster, reached at its dashboard.

    spec = ClusterSpec("http://127.0.0.1:8265", gpus=1, gpu_type="L4")
    ray = RayLauncher(spec)
    ray.check(cfg)                                  # reachable? a node with that GPU? fits?
    handle = ray.start(run, ["train", "--config", "runs/RUN/config.json"])
    ray.refresh(run, handle)                        # run folder <- the job's log; final state
    ray.stop(handle)                                # the job gets SIGTERM; the trainer saves

What travels with the job (its runtime_env working_dir, uploaded by Ray): the code of trainer/,
core/ and rag_baseline/, the data files, the saved split file, and the run folder (config.json
with paths made relative; on resume also metrics.jsonl and the latest checkpoint). The cluster
needs the project's dependencies installed (or `pip` in the spec). The job's entrypoint is
`python -m trainer.launch_job -- python -m trainer train ...` (`torchrun --nproc_per_node N -m
trainer ...` with several GPUs): the trainer CLI, whose run folder comes back over the job log.
Nothing here imports torch; ray.job_submission is imported on first use.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from trainer.config import TrainConfig
from trainer.launch import ClusterError, ClusterSpec
from trainer.launch_stage import stage_working_dir
from trainer.launch_sync import apply_log
from trainer.runfolder import TERMINAL, RunFolder

STOP_WAIT_S = 60  # SIGTERM -> SIGKILL on the cluster: time to save a checkpoint and send it
RAY_TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
# The advisor's GPU names -> Ray's accelerator_type resource names.
RAY_ACCELERATOR = {
    "H100-80GB": ("H100",),
    "A100-80GB": ("A100-80G", "A100"),
    "A100-40GB": ("A100-40G", "A100"),
}


_CLIENTS: dict[str, Any] = {}


class RayLauncher:
    def __init__(self, spec: ClusterSpec, timeout_s: float = 10.0) -> None:
        self.spec = spec
        self.timeout_s = timeout_s
        self._client: Any = None

    # --- before submitting ----------------------------------------------------------------

    def check(self, cfg: TrainConfig) -> dict[str, Any]:
        """Raise ClusterError unless the cluster answers, has a node that can take the job,
        and the run's estimated memory fits the GPU. Returns {nodes, memory_gb, gpu_memory_gb}."""
        self._get("/api/version")
        memory = self._memory_check(cfg)
        nodes = self.nodes()
        if not any(_node_fits(n, self.spec) for n in nodes):
            raise ClusterError(f"cluster: {self._no_fit(nodes)}")
        return {"nodes": len(nodes), **memory}

    def nodes(self, wait_s: float = 5.0) -> list[dict[str, Any]]:
        """Alive nodes with their resources (a fresh head lists itself after about a second)."""
        deadline = time.monotonic() + wait_s
        while True:
            data = self._get("/api/v0/nodes?detail=1&limit=1000")
            rows = (((data or {}).get("data") or {}).get("result") or {}).get("result") or []
            alive = [r for r in rows if r.get("state") == "ALIVE"]
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

    def start(self, run: RunFolder, trainer_args: list[str]) -> dict[str, Any]:
        """Stage the working dir, submit, return the handle {launcher, cluster, job_id, ...}."""
        cfg = TrainConfig.from_json(run.config_path.read_text())
        resume = trainer_args[:1] == ["resume"]
        attempt = int((run.status() or {}).get("cluster_attempt") or 0) + 1
        job_id = f"trainer-{run.run_id}-{attempt}"
        stage = Path(tempfile.mkdtemp(prefix="trainer-stage-"))
        try:
            rel_run = stage_working_dir(stage, run, cfg, resume)
            entry = self.entrypoint(rel_run, trainer_args)
            self._submit(job_id, entry, stage)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        run.update_status(cluster=self.spec.dashboard, job_id=job_id, cluster_attempt=attempt)
        return {
            "launcher": "ray",
            "cluster": self.spec.to_dict(),
            "job_id": job_id,
            "entrypoint": entry,
            "submitted_at": time.time(),
        }

    def entrypoint(self, rel_run: str, trainer_args: list[str]) -> str:
        """The wrapper around the trainer CLI; `trainer_args` name the command (train or
        resume) with local paths, replaced here by the staged ones."""
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
        wrapper = [s.python, "-m", "trainer.launch_job", "--run-dir", rel_run, "--"]
        return " ".join(_quote(a) for a in [*wrapper, *trainer])

    def _submit(self, job_id: str, entrypoint: str, stage: Path) -> None:
        s = self.spec
        env_vars = {
            "RAY_JOB_STOP_WAIT_TIME_S": str(STOP_WAIT_S),
            "PYTHONUNBUFFERED": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }
        runtime_env: dict[str, Any] = {"working_dir": str(stage), "env_vars": env_vars}
        if s.pip.strip():
            runtime_env["pip"] = [p.strip() for p in s.pip.split(",") if p.strip()]
        resources = {}
        if s.gpus and s.gpu_type:
            accel = _accelerator_names(s.gpu_type)[0]
            resources = {f"accelerator_type:{accel}": 0.001}
        try:
            self.client().submit_job(
                entrypoint=entrypoint,
                submission_id=job_id,
                runtime_env=runtime_env,
                entrypoint_num_cpus=s.cpus,
                entrypoint_num_gpus=s.gpus or None,
                entrypoint_resources=resources or None,
                metadata={"app": "finetune-advisor", "run_id": job_id},
            )
        except Exception as exc:  # RuntimeError from the job server, connection errors, ...
            raise ClusterError(
                f"cluster: the Ray cluster at {s.dashboard} refused the job: {_one_line(exc)}"
            ) from None

    def alive(self, handle: dict[str, Any]) -> bool:
        return self.job_status(handle) not in RAY_TERMINAL

    def job_status(self, handle: dict[str, Any]) -> str:
        return str(self._job_info(handle["job_id"]).status)

    def stop(self, handle: dict[str, Any], force: bool = False) -> None:
        try:
            self.client().stop_job(handle["job_id"])
        except Exception as exc:
            raise ClusterError(
                f"cluster: could not stop job {handle['job_id']} at {self.spec.dashboard}: "
                f"{_one_line(exc)}"
            ) from None

    def refresh(self, run: RunFolder, handle: dict[str, Any]) -> str:
        """Bring the job's run folder up to date from its log; settle the local status when
        the job has ended. Returns the Ray job status."""
        job_id = handle["job_id"]
        self._get("/api/version")  # with a timeout: Ray's SDK has none (a dead host would hang)
        info = self._job_info(job_id)
        status = str(info.status)
        apply_log(run.path, job_id, self.client().get_job_logs(job_id))
        st = run.status() or {}
        if status == "RUNNING" and st.get("state") == "queued":
            run.write_status("running", "", phase="starting")
        if status in RAY_TERMINAL:  # its processes are gone: the log above is complete
            self._settle(run, handle, info, status)
        return status

    def _settle(self, run: RunFolder, handle: dict[str, Any], info: Any, status: str) -> None:
        st = run.status() or {}
        if st.get("state") not in TERMINAL or st.get("state") == "interrupted":
            ckpt = run.latest_checkpoint()
            if status == "STOPPED" and ckpt is None:
                run.write_status("cancelled", "the Ray job was stopped before a checkpoint")
            elif status == "STOPPED":
                run.write_status("cancelled", f"the Ray job was stopped; {ckpt.name} kept")
            else:
                run.write_status(
                    "interrupted",
                    f"the Ray job {handle['job_id']} ended ({status}: "
                    f"{_one_line(info.message or '')}) before the run finished; resume "
                    f"continues from {ckpt.name if ckpt else 'the start'}",
                )
        record_cost(run, self.spec, info)
        run.update_status(cluster_settled=handle["job_id"])

    # --- plumbing -------------------------------------------------------------------------

    def client(self) -> Any:
        """One JobSubmissionClient per dashboard for this process (it checks the version once)."""
        if self._client is None:
            self._client = _CLIENTS.get(self.spec.dashboard)
        if self._client is None:
            from ray.job_submission import JobSubmissionClient

            try:
                self._client = JobSubmissionClient(self.spec.dashboard)
            except Exception as exc:
                raise ClusterError(self._unreachable(exc)) from None
            _CLIENTS[self.spec.dashboard] = self._client
        return self._client

    def _job_info(self, job_id: str) -> Any:
        try:
            return self.client().get_job_info(job_id)
        except ClusterError:
            raise
        except Exception as exc:
            raise ClusterError(
                f"cluster: no answer about job {job_id} from {self.spec.dashboard}: "
                f"{_one_line(exc)}"
            ) from None

    def _get(self, path: str) -> Any:
        try:
            with urllib.request.urlopen(self.spec.dashboard + path, timeout=self.timeout_s) as r:
                return json.loads(r.read())
        except (OSError, ValueError) as exc:
            raise ClusterError(self._unreachable(exc)) from None

    def _unreachable(self, exc: BaseException) -> str:
        return (
            f"cluster: no Ray dashboard answers at {self.spec.dashboard} ({_one_line(exc)}); "
            "check the address and port (the dashboard's default is 8265) or start a head with "
            "`ray start --head --dashboard-host 0.0.0.0`"
        )


def record_cost(run: RunFolder, spec: ClusterSpec, info: Any) -> None:
    """Measured device-hours of the job (GPU-hours with GPUs) and their cost, into status.json
    and metrics.json (as `cluster`), once per job."""
    st = run.status() or {}
    if st.get("cost_job_id") == info.submission_id:
        return
    start, end = info.start_time or 0, info.end_time or 0
    hours = max(end - start, 0) / 3.6e6 * max(spec.gpus, 1)
    price = spec.price_per_hour
    if price is None:
        price = price_per_hour(spec.gpu_type if spec.gpus else "cpu")
    prior = float(st.get("device_hours") or 0.0) if st.get("cost_job_id") else 0.0
    hours_all = round(prior + hours, 6)
    record = {
        "cluster": spec.dashboard,
        "job_id": info.submission_id,
        "gpus": spec.gpus,
        "gpu_type": spec.gpu_type or ("any" if spec.gpus else "cpu"),
        "device_hours": hours_all,
        "gpu_hours": hours_all if spec.gpus else 0.0,
        "price_usd_per_hour": price,
        # 6 significant digits, not 6 decimals: a short CPU job costs well under $0.001
        "cost_usd": None if price is None else float(f"{hours_all * price:.6g}"),
    }
    run.update_status(cost_job_id=info.submission_id, **record)
    final = run.final_metrics()
    if final is not None:
        from trainer.runfolder import write_json_atomic

        write_json_atomic(run.final_metrics_path, {**final, "cluster": record})


def price_per_hour(gpu: str) -> float | None:
    """The advisor's expected USD per hour for `gpu` (None when it is not in the table)."""
    from advisor import load_assumptions

    try:
        return load_assumptions().gpu(gpu or "cpu").usd_per_hour.expected
    except ValueError:
        return None


def gpu_memory_gb(gpu: str) -> float | None:
    from advisor import load_assumptions

    try:
        return load_assumptions().gpu(gpu).memory_gb
    except ValueError:
        return None


def _accelerator_names(gpu_type: str) -> tuple[str, ...]:
    return RAY_ACCELERATOR.get(gpu_type, (gpu_type,))


def _node_fits(node: dict[str, Any], spec: ClusterSpec) -> bool:
    res = node.get("resources_total") or {}
    if float(res.get("CPU", 0)) < spec.cpus:
        return False
    if spec.gpus == 0:
        return True
    if float(res.get("GPU", 0)) < spec.gpus:
        return False
    if not spec.gpu_type:
        return True
    return any(f"accelerator_type:{a}" in res for a in _accelerator_names(spec.gpu_type))


def _describe(node: dict[str, Any]) -> str:
    res = node.get("resources_total") or {}
    kinds = [k.split(":", 1)[1] for k in res if k.startswith("accelerator_type:")]
    gpus = f"{res.get('GPU', 0):g} GPU" + (f" {'/'.join(kinds)}" if kinds else "")
    return f"{node.get('node_ip', '?')}: {res.get('CPU', 0):g} CPU, {gpus}"


def _one_line(exc: BaseException | str) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("…" if len(text) > 300 else "")


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)
