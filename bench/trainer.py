"""Trainer benchmark: our fine-tune against the plain script a competent engineer would write.

Peer (fixed by issue 4): HF `Trainer` + peft LoRA r=8, alpha 16, dropout 0.1 on query,value,
the classifier head trainable (modules_to_save), AutoModelForSequenceClassification on the
shipped all-MiniLM-L6-v2, dynamic padding at max_length 64, batch 32, lr 1e-3, fp32,
3 epochs (20 with --per-class). Ours: `python -m trainer train` with its defaults.
Both score the same held-out test.csv with core.metrics.

    .venv/bin/python bench/trainer.py                  # 10 examples per class (default)
    .venv/bin/python bench/trainer.py --per-class 10   # the same, explicitly
    .venv/bin/python bench/trainer.py --full           # all 10,003 training rows (~10+ min)
    .venv/bin/python bench/trainer.py --skip-peer      # ours only
    .venv/bin/python bench/trainer.py --peer-epochs 3  # shorter peer (its samples/s is what counts)
    .venv/bin/python bench/trainer.py --generation --device cuda   # GPU check (SmolLM2, bf16)
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
# `python bench/trainer.py` puts bench/ first on sys.path, where bench/trainer.py and
# bench/rag_baseline.py would shadow the packages of the same names: use the repo root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path.insert(0, str(REPO))
DEFAULT_DATA = REPO.parent / "shared" / "data" / "banking77"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DEFAULT_DATA), help="folder with train.csv, test.csv")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--per-class", type=int, default=10, help="training rows per class")
    size.add_argument("--full", action="store_true", help="use the whole training file")
    p.add_argument(
        "--generation",
        action="store_true",
        help="ours only, generation path (SmolLM2 + LoRA): tokens/s, MFU, memory",
    )
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--peak-flops", type=float, default=None, help="device peak for MFU (FLOP/s)")
    p.add_argument("--skip-peer", action="store_true")
    p.add_argument("--skip-ours", action="store_true")
    p.add_argument("--peer-epochs", type=float, default=None, help="default 3 full / 20 subset")
    p.add_argument("--peer-lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=0, help="torch threads; 0 = all cores")
    p.add_argument("--work", default=None, help="folder for data subsets and runs (default tmp)")
    p.add_argument("--json", default=None, help="also write all figures to this JSON file")
    p.add_argument("ours_args", nargs="*", help="extra flags for ours, after --")
    return p.parse_args(argv)


def make_train_file(data: Path, per_class: int | None, work: Path) -> Path:
    import pandas as pd

    if per_class is None:
        return data / "train.csv"
    frame = pd.read_csv(data / "train.csv", dtype=str, keep_default_na=False)
    sub = frame.groupby("category", sort=False).head(per_class)
    path = work / f"train_{per_class}_per_class.csv"
    sub.to_csv(path, index=False)
    return path


def _peer_rows(tok, frame, code: dict[str, int]) -> list[dict]:
    """Tokenized once, unpadded: the collator pads each batch (dynamic padding, max 64)."""
    enc = tok(list(frame["text"]), truncation=True, max_length=64)
    return [
        {"input_ids": ids, "attention_mask": mask, "labels": code[c]}
        for ids, mask, c in zip(enc["input_ids"], enc["attention_mask"], frame["category"])
    ]


def _peer_model(path: str, n_labels: int):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=n_labels)
    lora = LoraConfig(
        r=8,
        lora_alpha=16,
        lora_dropout=0.1,
        target_modules=["query", "value"],
        modules_to_save=["classifier"],
        task_type="SEQ_CLS",
    )
    return get_peft_model(model, lora)


def _peer_args(out: str, epochs: float, lr: float):
    import torch
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=out,
        per_device_train_batch_size=32,
        per_device_eval_batch_size=64,
        learning_rate=lr,
        num_train_epochs=epochs,
        save_strategy="no",
        eval_strategy="no",
        logging_steps=50,
        report_to=[],
        seed=0,
        use_cpu=not torch.cuda.is_available(),
    )


def run_peer(train_csv: Path, test_csv: Path, epochs: float, lr: float, threads: int) -> dict:
    import numpy as np
    import pandas as pd
    import torch
    from transformers import AutoTokenizer, DataCollatorWithPadding, Trainer

    from core.metrics import classification_metrics
    from core.models import shipped_minilm_path

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    train = pd.read_csv(train_csv, dtype=str, keep_default_na=False)
    test = pd.read_csv(test_csv, dtype=str, keep_default_na=False)
    labels = sorted(train["category"].unique())
    code = {name: i for i, name in enumerate(labels)}
    path = str(shipped_minilm_path())
    tok = AutoTokenizer.from_pretrained(path)
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(
            model=_peer_model(path, len(labels)),
            args=_peer_args(out, epochs, lr),
            train_dataset=_peer_rows(tok, train, code),
            data_collator=DataCollatorWithPadding(tok),
        )
        t0, c0 = time.perf_counter(), time.process_time()
        result = trainer.train()
        train_s, train_cpu_s = time.perf_counter() - t0, time.process_time() - c0
        logits = trainer.predict(_peer_rows(tok, test, code)).predictions
    pred = [labels[i] for i in np.asarray(logits).argmax(1)]
    m = classification_metrics(list(test["category"]), pred, labels=labels)
    return {
        "accuracy": m["accuracy"],
        "accuracy_ci95": m["accuracy_ci95"],
        "macro_f1": m["macro_f1"],
        "train_s": round(train_s, 1),
        "train_cpu_s": round(train_cpu_s, 1),
        "train_samples_per_s": round(result.metrics["train_samples_per_second"], 2),
        "epochs": epochs,
        "n_train": len(train),
    }


def run_ours(train_csv: Path, test_csv: Path, work: Path, threads: int, extra: list[str]) -> dict:
    label = [] if "--label-col" in extra else ["--label-col", "category"]
    files = ["--train", str(train_csv), "--test", str(test_csv), "--text-col", "text", *label]
    where = ["--runs-dir", str(work / "runs"), "--split-dir", str(work / "splits")]
    cmd = [sys.executable, "-m", "trainer", "train", *files, *where, "--json", *extra]
    if threads:
        cmd += ["--threads", str(threads)]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        sys.stderr.write(res.stderr[-3000:])
        raise SystemExit(f"ours failed (exit {res.returncode})")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = round(wall, 1)
    run_dir = Path(out["run_dir"])
    status = json.loads((run_dir / "status.json").read_text())
    final = json.loads((run_dir / "metrics.json").read_text())
    out["predicted_train_s_range"] = status.get("predicted_train_s_range")
    out["threads"] = final.get("threads")
    out["thread_changes"] = sum(
        "thread(s):" in line for line in (run_dir / "stdout.log").read_text().splitlines()
    )
    return out


def _cpu_rate(r: dict) -> float:
    """Samples per CPU-second: robust to other processes on a shared machine (1 thread)."""
    samples = r["train_samples_per_s"] * r["train_s"]
    return samples / max(r.get("train_cpu_s") or float("nan"), 1e-9)


def host() -> dict:
    """CPU model, its matrix units and core count, as docs/benchmarks.md rows name them."""
    from core.cpu import cpu_info, matrix_flags

    cpu = cpu_info()
    return {"cpu": cpu.model, "matrix_units": matrix_flags(cpu.flags), "cores": cpu.cores}


def load_now() -> float:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else float("nan")


def report(setting: str, peer: dict | None, ours: dict | None) -> dict:
    rows = [("peer (HF Trainer, LoRA q,v)", peer), ("ours (python -m trainer)", ours)]
    where = host()
    print(f"\n== {setting} ==")
    print(
        f"host: {where['cpu']}, {where['cores']} cores, matrix units "
        f"{', '.join(where['matrix_units']) or 'none'}; 1-min load before/after: "
        + "; ".join(
            f"{name.split()[0]} {r['load'][0]}/{r['load'][1]}"
            for name, r in rows
            if r and "load" in r
        )
    )
    head = f"{'':30} {'samples/s':>10} {'per CPU-s':>10} {'train s':>9} {'accuracy':>9} {'F1':>7}"
    print(head)
    for name, r in rows:
        if r:
            print(
                f"{name:30} {r['train_samples_per_s']:>10.1f} {_cpu_rate(r):>10.1f} "
                f"{r['train_s']:>9.1f} {r['accuracy']:>9.4f} {r['macro_f1']:>7.4f}"
            )
    summary: dict = {"setting": setting, "host": where, "peer": peer, "ours": ours}
    if ours:
        err = ours["predicted_train_s"] / ours["train_s"] - 1
        prior_err = ours["predicted_train_s_prior"] / ours["train_s"] - 1
        lo, hi = ours.get("predicted_train_s_range") or (float("nan"), float("nan"))
        print(
            f"ours: predicted train time {ours['predicted_train_s']:.1f} s "
            f"(range {lo:.1f}-{hi:.1f} s) vs measured {ours['train_s']:.1f} s ({err:+.0%}); "
            f"before calibration {ours['predicted_train_s_prior']:.1f} s ({prior_err:+.0%}); "
            f"threads {ours.get('threads')}, changed {ours.get('thread_changes', 0)} time(s) "
            f"during the run; precision {ours.get('precision')}"
        )
        summary.update(prediction_error=round(err, 3), prior_prediction_error=round(prior_err, 3))
    if peer and ours:
        speed = ours["train_samples_per_s"] / peer["train_samples_per_s"]
        cpu_speed = _cpu_rate(ours) / _cpu_rate(peer)
        print(
            f"ratios (ours/peer): samples/s x{speed:.2f}, per CPU-second x{cpu_speed:.2f}, "
            f"train time x{peer['train_s'] / ours['train_s']:.2f} shorter, "
            f"accuracy {ours['accuracy'] - peer['accuracy']:+.4f}"
        )
        summary.update(speedup_samples_per_s=round(speed, 2), speedup_cpu=round(cpu_speed, 2))
    return summary


def make_generation_files(data: Path, per_class: int, work: Path) -> tuple[Path, Path]:
    """'Name the category' as a generation task: text -> category words (e.g. 'card arrival')."""
    import pandas as pd

    paths = []
    for name, n in (("train", per_class), ("test", 2)):
        frame = pd.read_csv(data / f"{name}.csv", dtype=str, keep_default_na=False)
        frame = frame.groupby("category", sort=False).head(n)
        out = pd.DataFrame(
            {"text": frame["text"], "answer": frame["category"].str.replace("_", " ")}
        )
        paths.append(work / f"gen_{name}.csv")
        out.to_csv(paths[-1], index=False)
    return paths[0], paths[1]


def run_generation(args: argparse.Namespace, data: Path, work: Path) -> dict:
    train_csv, test_csv = make_generation_files(data, args.per_class, work)
    extra = [
        "--task",
        "generation",
        "--device",
        args.device,
        "--label-col",
        "answer",
        "--max-new-tokens",
        "8",
        *args.ours_args,
    ]
    out = run_ours(train_csv, test_csv, work, args.threads, extra)
    final = json.loads((Path(out["run_dir"]) / "metrics.json").read_text())
    flops = final["estimates"]["measured"]["flops"]
    achieved = flops / max(final["train_s"], 1e-9)
    peak = args.peak_flops
    if peak is None and final["device"] == "cuda":
        from trainer.estimate import GPU_PEAK_FLOPS

        peak = GPU_PEAK_FLOPS[final["precision"]]
    result = {
        "device": final["device"],
        "precision": final["precision"],
        "exact_match": final["exact_match"],
        "token_f1": final["token_f1"],
        "train_s": final["train_s"],
        "predicted_train_s": final["predicted_train_s"],
        "predicted_train_s_prior": final["predicted_train_s_prior"],
        "train_tokens_per_s": final["train_tokens_per_s"],
        "achieved_flops_per_s": round(achieved),
        "mfu": round(achieved / peak, 4) if peak else None,
        "peak_memory_gb": final["peak_memory_gb"],
        "memory_estimate_gb": final["memory_estimate_gb"],
    }
    print(json.dumps(result, indent=2))
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = Path(args.data)
    if not (data / "train.csv").exists():
        print(f"bench: no train.csv in {data}", file=sys.stderr)
        return 2
    if args.generation:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(args.work or tmp)
            work.mkdir(parents=True, exist_ok=True)
            result = run_generation(args, data, work)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2))
        return 0
    per_class = None if args.full else args.per_class
    setting = "full" if per_class is None else f"{per_class} per class"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        train_csv = make_train_file(data, per_class, work)
        ours = peer = None
        if not args.skip_ours:
            before = load_now()
            ours = run_ours(train_csv, data / "test.csv", work, args.threads, args.ours_args)
            ours["load"] = [before, load_now()]
        epochs = args.peer_epochs or (3.0 if per_class is None else 20.0)
        if not args.skip_peer:
            before = load_now()
            peer = run_peer(train_csv, data / "test.csv", epochs, args.peer_lr, args.threads)
            peer["load"] = [before, load_now()]
    summary = report(setting, peer, ours)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
