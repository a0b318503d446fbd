"""`evaluate(config)`: the RAG baseline scored on the held-out split; the API the CLI and app call.

Classification (`rag_baseline.classification`): kNN retrieval and a linear probe on the same
frozen embeddings, the classic TF-IDF + linear SVM, and their combination where cross-validation
on the training split says it helps; `best` names the baseline with the highest CV accuracy.
Generation: retrieval-augmented few-shot prompting of a small causal LM, and the nearest
neighbour's output copied. Scores come from `core.metrics`, shared with the trainer, on the split
saved by `core.split`, so results compare row by row. `quick=True` runs the same on a stratified
sample (seconds at any size) with a learning curve.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from core.budget import check_dataset_labels
from core.cpu import idle_cores_now
from core.metrics import generation_metrics
from core.predictions import spreadsheet_safe
from core.split import Dataset, prepare_dataset
from rag_baseline.classification import classic_job, run_classification
from rag_baseline.config import DEFAULT_GENERATION_K, EvalConfig
from rag_baseline.embed import Embedder
from rag_baseline.generate import Generator, max_new_tokens_for, nearest_answers, rag_prompts
from rag_baseline.index import VectorIndex, build_index, index_report
from rag_baseline.overlap import thread_share
from rag_baseline.plan import Overlap, choose_overlap, cpu_info
from rag_baseline.quick import stratified_sample
from rag_baseline.select import choose_best
from rag_baseline.speed import Predictors, method_speeds
from rag_baseline.threads import measured_speedup, measured_threads, torch_threads

__all__ = ["EvalConfig", "evaluate", "load_dataset", "load_embedder"]

Progress = Callable[[float, str], None]
THROUGHPUT_SAMPLE = 128  # test items re-run uncached to measure items/s
QUICK_THROUGHPUT_SAMPLE = 32  # the same in a quick estimate (seconds count there)
LATENCY_SAMPLE = 5  # test items run one at a time to measure latency (median reported)


def _stage(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    """A progress callback for a sub-stage that maps its 0..1 onto lo..hi of the whole run."""
    if progress is None:
        return None

    def report(fraction: float, message: str) -> None:
        progress(lo + (hi - lo) * min(max(fraction, 0.0), 1.0), message)

    return report


def load_dataset(config: EvalConfig) -> Dataset:
    """Validate and split as `config` says (no model is loaded). Raises DataError."""
    ds = prepare_dataset(config.data_spec())
    if config.max_test is not None and len(ds.test_ids) > config.max_test:
        rng = np.random.default_rng(config.seed)
        keep = np.sort(rng.choice(len(ds.test_ids), size=config.max_test, replace=False))
        for name in ("test_texts", "test_labels", "test_ids"):
            setattr(ds, name, [getattr(ds, name)[i] for i in keep])
        ds.warnings.append(
            f"scored a seeded sample of {config.max_test} test items (max_test); the split file "
            "still lists all of them."
        )
    return ds


def quick_sample(ds: Dataset, config: EvalConfig) -> tuple[Dataset, dict]:
    """The dataset cut to a stratified sample of quick_train / quick_test rows (in place)."""
    full = {"of_train": len(ds.train_texts), "of_test": len(ds.test_texts)}
    stratify = ds.task == "classification"
    for side, n in (("train", config.quick_train), ("test", config.quick_test)):
        labels = getattr(ds, f"{side}_labels")
        if stratify:
            keep = stratified_sample(labels, n, config.seed, min_each=2 if side == "train" else 1)
        else:
            rng = np.random.default_rng(config.seed)
            keep = np.sort(rng.choice(len(labels), size=min(n, len(labels)), replace=False))
        for name in ("texts", "labels", "ids"):
            values = getattr(ds, f"{side}_{name}")
            setattr(ds, f"{side}_{name}", [values[i] for i in keep])
    sample = {"n_train": len(ds.train_texts), "n_test": len(ds.test_texts), **full}
    if sample["n_train"] < full["of_train"] or sample["n_test"] < full["of_test"]:
        ds.warnings.append(
            f"quick estimate on a stratified sample of {sample['n_train']} of "
            f"{full['of_train']} training and {sample['n_test']} of {full['of_test']} held-out "
            "rows; run without --quick for the full figures."
        )
    return ds, sample


def evaluate(
    config: EvalConfig,
    progress: Progress | None = None,
    *,
    embedder: Embedder | None = None,
    generator: Generator | None = None,
) -> dict:
    """Run the baseline; return the result dict (keys listed in docs/benchmarks.md).

    `progress(fraction, message)` is called as the run advances. `embedder`/`generator` may be
    passed pre-loaded (the app keeps them between runs); they must be the models the config names.
    Raises DataError for bad data, ModelNotFoundError for a missing model.
    """
    started = time.perf_counter()
    say = progress or (lambda fraction, message: None)
    say(0.0, "validating data")
    ds = load_dataset(config)
    sample = None
    if config.quick:
        ds, sample = quick_sample(ds, config)
    check_dataset_labels(ds)  # one line, before any embedding, for a label count that cannot fit
    say(0.04, f"loading embedder {config.embedder}")
    embedder = _ready_embedder(config, embedder)
    generation = ds.task == "generation"
    texts = ds.train_texts + ds.test_texts
    ids = embedder.token_ids(texts)  # once, for the window report and the embedding
    window = embedder.window_report(texts, config.long_texts, ids)
    _warn_long(ds, window)
    say(0.06, f"embedding {len(texts)} texts ({embedder.backend})")
    t0, counts_before = time.perf_counter(), (embedder.n_encoded, embedder.n_cache_hits)
    overlap, speedup, classic_run = "serial", None, None
    if not generation:  # measured now: the classic model may start beside the embedding
        overlap, speedup, classic_run = _classic_beside(ds, config, sample, embedder)
    try:
        vectors = embedder.encode(
            texts,
            _stage(progress, 0.06, 0.3 if generation else 0.75),
            long_texts=config.long_texts,
            ids=ids,
        )
    finally:
        embedder.other_job = None
    del ids  # a list of ints per text: not kept through the fits
    embed = {
        "embed_s": round(time.perf_counter() - t0, 3),
        "n_embedded": embedder.n_encoded - counts_before[0],
        "cache_hits": embedder.n_cache_hits - counts_before[1],
        "precision": embedder.precision,
        "kernel": embedder.backend,
        "threads": embedder.threads_used,
        "window": window,
        "plan": {
            **embedder.plan.to_dict(),
            "cpu": cpu_info().describe(),
            "embed_threads": embedder.threads_used,
        },
    }
    train_vecs, test_vecs = vectors[: len(ds.train_texts)], vectors[len(ds.train_texts) :]
    index = build_index(train_vecs, config.approx_threshold)
    if generation:
        methods, preds, timing = _generation(config, ds, index, test_vecs, generator, progress)
        chosen = {"best": choose_best(methods, 0)}
    else:
        # Threads for the fits, measured now (one when another process holds the other core).
        with measured_threads():
            embed["plan"].update(fit_threads=torch_threads(), overlap=overlap)
            embed["plan"]["all_core_speedup"] = None if speedup is None else round(speedup, 2)
            methods, preds, chosen, predictors = run_classification(
                ds,
                train_vecs,
                test_vecs,
                index,
                k=config.k,
                probe_c=config.probe_c,
                seed=config.seed,
                say=say,
                full_size=sample["of_train"] if sample else None,
                overlap=overlap,
                started=classic_run,
            )
            n_speed = QUICK_THROUGHPUT_SAMPLE if config.quick else THROUGHPUT_SAMPLE
            timing = _serving_speed(embedder, predictors, ds, methods, n_speed)
    say(0.98, "writing results")
    k = methods["rag" if generation else "knn"]["k"]
    index_info = index_report(index, train_vecs, test_vecs, k)
    result = _result(config, ds, methods, {**embed, **timing, "index": index_info})
    result.update(chosen, quick=bool(config.quick), sample=sample)
    result["total_s"] = round(time.perf_counter() - started, 3)
    if config.out_dir:
        write_outputs(config.out_dir, result, ds.test_ids, ds.test_labels, preds)
    say(1.0, "done")
    return result


def _classic_beside(
    ds: Dataset, config: EvalConfig, sample: dict | None, embedder: Embedder
) -> tuple[Overlap, float | None, Future | None]:
    """(overlap, measured speedup of all cores over one, the classic model's run when it starts
    now beside the embedding); `rag_baseline.plan.choose_overlap` decides from the cores, how
    many are idle over 0.2 s, and a ~50 ms measurement of them."""
    import torch

    idle = idle_cores_now()
    speedup = measured_speedup(torch)
    overlap = choose_overlap(cpu_info().cores, speedup, len(ds.train_texts), idle)
    if overlap != "embedding":
        return overlap, speedup, None
    job = classic_job(ds, config.seed, sample["of_train"] if sample else None)

    def one_thread():
        with thread_share(1):
            return job()

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classic")
    started = pool.submit(one_thread)
    pool.shutdown(wait=False)  # its thread ends with the job
    embedder.other_job = lambda: not started.done()
    return overlap, speedup, started


def _warn_long(ds: Dataset, window: dict) -> None:
    over = window["n_over_window"]
    if over:
        how = (
            "embedded as the mean of equal chunks"
            if window["long_texts"] == "chunk"
            else f"embedded from their first {window['window_tokens']} tokens only"
        )
        ds.warnings.append(
            f"{over} of {window['n_texts']} texts are longer than the embedder's "
            f"{window['window_tokens']}-token window (longest {window['longest_tokens']}); "
            f"{how} (long_texts). The classic TF-IDF model reads them whole."
        )


def load_embedder(config: EvalConfig) -> Embedder:
    """The embedder `config` names, loaded once for several `evaluate` calls (quick, then full)."""
    return _ready_embedder(config, None)


def _ready_embedder(config: EvalConfig, embedder: Embedder | None) -> Embedder:
    if embedder is None:
        embedder = Embedder(config.embedder, precision=config.precision, device=config.device)
    elif embedder.model_id != config.embedder:
        raise ValueError(f"embedder is {embedder.model_id!r} but config says {config.embedder!r}")
    embedder.set_cache_dir(None if config.no_cache else config.cache_dir)
    return embedder


def _result(config: EvalConfig, ds: Dataset, methods: dict, measured: dict) -> dict:
    generation = ds.task == "generation"
    return {
        "task": ds.task,
        "n_train": len(ds.train_texts),
        "n_test": len(ds.test_texts),
        "labels": [] if generation else ds.labels,
        "text_col": ds.text_col,
        "label_col": ds.label_col,
        "methods": list(methods),
        **methods,
        "split_id": ds.split_id,
        "split_path": ds.split_path,
        "warnings": list(ds.warnings),
        "leakage": list(ds.leakage),
        "embedder": config.embedder,
        "generator": config.generator if generation else None,
        **measured,
        "config": config.to_dict(),
    }


def _generation(
    config: EvalConfig,
    ds: Dataset,
    index: VectorIndex,
    test_vecs: np.ndarray,
    generator: Generator | None,
    progress: Progress | None,
) -> tuple[dict, dict, dict]:
    """({"rag": {...}, "nearest": {...}}, predictions per method, timing)."""
    say = progress or (lambda fraction, message: None)
    k = min(config.k or DEFAULT_GENERATION_K, len(ds.train_texts))
    _, ids = index.search(test_vecs, k)
    nearest = nearest_answers(ids, ds.train_labels)
    say(0.32, f"loading generator {config.generator}")
    if generator is None:
        generator = Generator(config.generator, device=config.device)
    elif generator.model_id != config.generator:
        raise ValueError(
            f"generator is {generator.model_id!r} but config says {config.generator!r}"
        )
    max_new = config.max_new_tokens or max_new_tokens_for(ds.train_labels, generator.tokenizer)
    single_line = not any("\n" in y for y in ds.train_labels)
    prompts = rag_prompts(generator, ds.test_texts, ids, ds.train_texts, ds.train_labels, k)
    t0 = time.perf_counter()
    rag = generator.generate(
        prompts, max_new, single_line=single_line, progress=_stage(progress, 0.4, 0.95)
    )
    gen_s = time.perf_counter() - t0
    methods = {
        "rag": {
            "k": k,
            "max_new_tokens": max_new,
            **generation_metrics(ds.test_labels, rag),
        },
        "nearest": {"k": 1, **generation_metrics(ds.test_labels, nearest)},
    }
    n = len(ds.test_texts)
    timing = {
        "generate_s": round(gen_s, 3),
        "items_per_s": round(n / gen_s, 2),
        "latency_ms_per_item": round(1000 * gen_s / n, 2),
    }
    return methods, {"rag": rag, "nearest": nearest}, timing


def _serving_speed(
    embedder: Embedder, predictors: Predictors, ds: Dataset, methods: dict, n_batch: int
) -> dict:
    """Each method's own answer speed, uncached (`rag_baseline.speed`), into its block; the
    top-level figures stay kNN's (the retrieval baseline the RAG option stands on)."""
    speeds = method_speeds(embedder, predictors, ds.test_texts, n_batch, LATENCY_SAMPLE)
    for method, figures in speeds.items():
        if method in methods:
            methods[method].update(figures)
    return dict(speeds["knn"])


def write_outputs(
    out_dir: str | Path, result: dict, ids: list[str], gold: list[str], preds: dict
) -> None:
    """results.json and predictions.csv (id, gold|reference, one column per method); a quick
    estimate writes quick-results.json and quick-predictions.csv, leaving the full run's alone."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prefix = "quick-" if result.get("quick") else ""
    text = json.dumps(result, indent=1, ensure_ascii=False)
    tmp = out / f".{prefix}results.json.tmp"
    tmp.write_text(text)
    tmp.replace(out / f"{prefix}results.json")
    gold_name = "reference" if result["task"] == "generation" else "gold"
    columns = list(preds)
    with (out / f"{prefix}predictions.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", gold_name, *columns])
        for row, item in enumerate(ids):
            cells = [item, gold[row], *(preds[c][row] for c in columns)]
            writer.writerow([spreadsheet_safe(c) for c in cells])  # no formulas in Excel
