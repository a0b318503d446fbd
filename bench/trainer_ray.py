"""The same trainer run on this machine (peer: `python -m trainer train`, foreground) and as a Ray
job (ours: `python -m trainer launch --cluster`, results brought back over the job log), in one
run: wall time, training time, tokens/s, MFU, peak memory against the estimate, predicted against
actual time, and the job's measured device-hours and cost. The GPU check of bench/ goes through
this path when a GPU is at hand.

    .venv/bin/python bench/trainer_ray.py                          # CPU: the Ray path's overhead
    .venv/bin/python bench/trainer_ray.py --generation --device cuda --gpus 1   # a GPU machine
    .venv/bin/python bench/trainer_ray.py --cluster http://HEAD:8265 --gpus 1 --gpu-type L4

Without --cluster a local Ray head is started on 127.0.0.1 (trainer.remote.head) and stopped at
the end. Extra trainer flags go after `--`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path.insert(0, str(REPO))

from bench.trainer import DEFAULT_DATA, make_generation_files, make_train_file  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DEFAULT_DATA), help="folder with train.csv, test.csv")
    p.add_argument("--per-class", type=int, default=10, help="training rows per class")
    p.add_argument("--generation", action="store_true", help="SmolLM2 generation path")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--cluster", default=None, help="a Ray dashboard address (default: local)")
    p.add_argument("--gpus", type=int, default=0)
    p.add_argument("--gpu-type", default="")
    p.add_argument("--threads", type=int, default=1, help="torch threads (both sides)")
    p.add_argument("--max-steps", type=int, default=60)
    p.add_argument("--skip-peer", action="store_true")
    p.add_argument("--peak-flops", type=float, default=None, help="device peak for MFU")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    p.add_argument("extra", nargs="*", help="extra trainer flags, after --")
    return p.parse_args(argv)


def _cli(*args: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "trainer", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=timeout,
    )


def run_flags(args: argparse.Namespace, work: Path) -> list[str]:
    data = Path(args.data)
    if args.generation:
        train, test = make_generation_files(data, args.per_class, work)
        task = ["--task", "generation", "--label-col", "answer", "--max-new-tokens", "8"]
    else:
        train, test = make_train_file(data, args.per_class, work), data / "test.csv"
        task = ["--label-col", "category"]
    flags = ["--train", str(train), "--test", str(test), "--text-col", "text", *task]
    flags += ["--split-dir", str(work / "splits"), "--device", args.device]
    flags += ["--threads", str(args.threads), "--max-steps", str(args.max_steps)]
    return [*flags, *args.extra]


def peer(flags: list[str], work: Path) -> dict:
    t0 = time.perf_counter()
    res = _cli("train", *flags, "--runs-dir", str(work / "peer"), "--json")
    if res.returncode != 0:
        raise SystemExit(f"peer failed: {res.stderr[-2000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    return _figures(Path(out["run_dir"]), time.perf_counter() - t0, None)


def ours(flags: list[str], work: Path, address: str, args: argparse.Namespace) -> dict:
    from trainer.jobs import JobManager
    from trainer.runfolder import TERMINAL

    runs = work / "ours"
    where = ["--cluster", address, "--gpus", str(args.gpus), "--gpu-type", args.gpu_type]
    t0 = time.perf_counter()
    res = _cli("launch", *flags, "--runs-dir", str(runs), *where, "--json")
    if res.returncode != 0:
        raise SystemExit(f"ours (Ray) failed to submit: {res.stderr[-2000:]}")
    submit_s = time.perf_counter() - t0
    run_id = json.loads(res.stdout)["run_id"]
    jm = JobManager(runs)
    while (st := jm.status(run_id))["state"] not in TERMINAL:
        time.sleep(1.0)
    if st["state"] != "completed":
        raise SystemExit(f"ours (Ray) ended {st['state']}: {st.get('reason')}")
    out = _figures(runs / run_id, time.perf_counter() - t0, args.peak_flops)
    out.update(
        submit_s=round(submit_s, 2),
        cluster=json.loads((runs / run_id / "metrics.json").read_text())["cluster"],
    )
    return out


def _figures(run_dir: Path, wall_s: float, peak: float | None) -> dict:
    final = json.loads((run_dir / "metrics.json").read_text())
    achieved = final["estimates"]["measured"]["flops"] / max(final["train_s"], 1e-9)
    if peak is None and final["device"] == "cuda":
        from trainer.estimate import GPU_PEAK_FLOPS

        peak = GPU_PEAK_FLOPS[final["precision"]]
    keys = ("device", "precision", "accuracy", "exact_match", "train_s", "predicted_train_s",
            "train_tokens_per_s", "memory_estimate_gb", "peak_memory_gb")  # fmt: skip
    out = {k: final.get(k) for k in keys}
    out.update(wall_s=round(wall_s, 2), mfu=round(achieved / peak, 4) if peak else None)
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (Path(args.data) / "train.csv").exists():
        print(f"bench: no train.csv in {args.data}", file=sys.stderr)
        return 2
    from trainer.remote.head import LocalHead

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        flags = run_flags(args, work)
        result = {"peer": None if args.skip_peer else peer(flags, work)}
        head = None
        if args.cluster is None:
            head = LocalHead(num_cpus=max(1, args.threads), num_gpus=args.gpus or None).start()
        try:
            result["ours"] = ours(flags, work, args.cluster or head.address, args)
        finally:
            if head is not None:
                head.stop()
    if result["peer"]:
        p, o = result["peer"], result["ours"]
        result["ratios"] = {
            "wall_ours_over_peer": round(o["wall_s"] / p["wall_s"], 2),
            "train_s_ours_over_peer": round(o["train_s"] / p["train_s"], 2),
        }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
