"""Benchmark: peak memory of the app's RAG baseline on a 1.5M-row upload, against the plain peer.

Run (from the repository root; needs ../shared/data/banking77 to make the file):
    .venv/bin/python bench/memory.py [--rows 1500000] [--peer-cap-gb 6] [--peer-limit-s 240]
        [--json bench_memory.json]

It writes a CSV of `--rows` rows to /tmp (banking77 texts, each made unique with a ticket number,
~100 bytes a row: 1.5M rows are ~150 MB, inside the 200 MB upload limit), then runs each side in
its own process and reads its peak RSS (VmHWM):
1. PEER: the unbounded baseline, as the app ran it before issue 11: `evaluate()` on every row
   (validation, embedding all texts, FAISS, CV, probe, TF-IDF). It is stopped once its RSS passes
   `--peer-cap-gb` (the machine is shared) or after `--peer-limit-s`; its figure is then a lower
   bound ("still climbing").
2. OURS: what the app runs now: validation as the Data page does it, then `core.budget`'s plan
   (full baseline only if it fits the memory limit, else a stratified sample via the quick path,
   `ui.baseline_bound.run_sampled`), to completion.
Both run with the embedding cache off. It prints both peaks, the ratio peer/ours (a lower bound
when the peer was stopped) and the wall times.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BANKING77 = REPO.parent / "shared" / "data" / "banking77"


def make_file(rows: int, path: Path) -> Path:
    import numpy as np
    import pandas as pd

    if path.exists():
        return path
    src = pd.read_csv(BANKING77 / "train.csv")
    pick = np.random.default_rng(0).integers(0, len(src), rows)
    texts = [f"{t} (ticket {i})" for i, t in enumerate(src["text"].to_numpy()[pick])]
    tmp = path.with_suffix(".part")
    pd.DataFrame({"text": texts, "category": src["category"].to_numpy()[pick]}).to_csv(
        tmp, index=False
    )
    tmp.replace(path)
    return path


def _config(path: Path, work: Path):
    from rag_baseline.config import EvalConfig

    return EvalConfig(
        train=str(path),
        text_col="text",
        label_col="category",
        split_dir=str(work / "splits"),
        out_dir=str(work / "out"),
        no_cache=True,
    )


def side(which: str, path: Path, work: Path) -> None:
    """One side, in this process (the parent measures it)."""
    sys.path.insert(0, str(REPO))
    from rag_baseline.evaluate import evaluate

    config = _config(path, work)
    t0 = time.perf_counter()
    if which == "peer":
        result = evaluate(config)
    else:
        from core.split import prepare_dataset
        from ui.baseline_bound import plan_for, run_sampled

        ds = prepare_dataset(config.data_spec())  # the Data page's Validate step
        words = sum(len(t.split()) for t in ds.train_texts) / max(len(ds.train_texts), 1)
        n_train, n_test = len(ds.train_texts), len(ds.test_texts)
        del ds
        plan = plan_for(n_train, n_test, words)
        if plan.sample:
            result = run_sampled(evaluate, config, plan, lambda f, m: None)
        else:
            result = evaluate(config)
        print(json.dumps({"plan": plan.message or "full baseline"}), flush=True)
    accuracy = (result.get("knn") or {}).get("accuracy")
    print(json.dumps({"accuracy": accuracy, "s": round(time.perf_counter() - t0, 1)}), flush=True)


def _rss_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(which: str, path: Path, cap_gb: float | None, limit_s: float) -> dict:
    """Run one side in a child process; poll its RSS; stop it at the cap or the time limit."""
    work = Path(f"/tmp/bench-memory-{which}")
    subprocess.run(["rm", "-rf", str(work)], check=True)
    cmd = [sys.executable, __file__, "--side", which, "--file", str(path), "--work", str(work)]
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false", PYTHONPATH=str(REPO))
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    peak_kb, stopped = 0, ""
    while proc.poll() is None:
        peak_kb = max(peak_kb, _rss_kb(proc.pid, "VmHWM"))
        if cap_gb and _rss_kb(proc.pid, "VmRSS") > cap_gb * 1e6:
            stopped = f"stopped at the {cap_gb:g} GB cap"
        elif time.monotonic() - t0 > limit_s:
            stopped = f"stopped after {limit_s:.0f} s"
        if stopped:
            peak_kb = max(peak_kb, _rss_kb(proc.pid, "VmHWM"))
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.2)
    out = proc.communicate()[0]
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    extra = {k: v for line in lines for k, v in line.items()}
    return {
        "side": which,
        "peak_rss_gb": round(peak_kb / 1e6, 2),
        "wall_s": round(time.monotonic() - t0, 1),
        "stopped": stopped,
        "returncode": proc.returncode,
        **extra,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_500_000)
    p.add_argument("--peer-cap-gb", type=float, default=6.0)
    p.add_argument("--peer-limit-s", type=float, default=240.0)
    p.add_argument("--ours-limit-s", type=float, default=900.0)
    p.add_argument("--json", default=None)
    p.add_argument("--side", choices=["peer", "ours"], help=argparse.SUPPRESS)
    p.add_argument("--file", help=argparse.SUPPRESS)
    p.add_argument("--work", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.side:
        side(args.side, Path(args.file), Path(args.work))
        return
    path = make_file(args.rows, Path(f"/tmp/bench-memory-{args.rows}.csv"))
    print(f"file: {path} ({path.stat().st_size / 1e6:.0f} MB, {args.rows:,} rows)")
    peer = measure("peer", path, args.peer_cap_gb, args.peer_limit_s)
    print("peer:", json.dumps(peer))
    ours = measure("ours", path, None, args.ours_limit_s)
    print("ours:", json.dumps(ours))
    bound = ">= " if peer["stopped"] else ""
    ratio = peer["peak_rss_gb"] / max(ours["peak_rss_gb"], 1e-9)
    print(
        f"peak RSS: peer {bound}{peer['peak_rss_gb']} GB ({peer['stopped'] or 'finished'}), "
        f"ours {ours['peak_rss_gb']} GB in {ours['wall_s']} s; peer/ours {bound}{ratio:.2f}x"
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"peer": peer, "ours": ours, "ratio": ratio}))


if __name__ == "__main__":
    main()
