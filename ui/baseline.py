"""The RAG baseline from the app: rag_baseline.evaluate in a background thread, with progress,
writing results.json + predictions.csv into the project; and how its results are shown."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from ui import charts
from ui.background import Job, JobRunner
from ui.workspace import DataChoice, Project

MAX_CONFUSION_LABELS = 20


@st.cache_resource
def runner() -> JobRunner:
    """One runner per server process: jobs outlive a browser refresh (not a restart)."""
    return JobRunner()


def job_key(project: Project, choice: DataChoice) -> str:
    return f"baseline:{project.root}:{choice.split_id}"


@st.cache_resource(show_spinner=False)
def embedder(model: str, precision: str, device: str) -> Any:
    """The sentence-transformers embedder, loaded once per server process and shared."""
    from rag_baseline.embed import Embedder

    return Embedder(model, precision=precision, device=device)


@st.cache_resource(show_spinner=False)
def generator(model: str, device: str) -> Any:
    """The small causal LM of the generation baseline, loaded once per server process."""
    from rag_baseline.generate import Generator

    return Generator(model, device=device)


def start(project: Project, choice: DataChoice, cache_dir: Path) -> Job:
    """Start (or find the running) baseline for the validated split of `choice`."""
    from rag_baseline.config import EvalConfig
    from rag_baseline.evaluate import evaluate

    config = EvalConfig(
        train=choice.train,
        test=choice.test or None,
        text_col=choice.text_col,
        label_col=choice.label_col,
        task=choice.split_task or None,
        split_dir=str(project.splits_dir),
        out_dir=str(project.baseline_dir(choice.split_id)),
        cache_dir=str(cache_dir),
    )

    def work(progress: Callable[[float, str], None]) -> dict:
        progress(0.01, "loading the embedding model")
        model = embedder(config.embedder, config.precision, config.device)
        gen = (
            generator(config.generator, config.device)
            if choice.split_task == "generation"
            else None
        )
        return evaluate(config, progress, embedder=model, generator=gen)

    return runner().start(job_key(project, choice), work)


def _fmt(value: float, ci: list[float] | None) -> str:
    return f"{value:.3f}" + (f"  [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def systems(results: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(display name, metrics) of the baseline systems present in `results`."""
    names = {
        "knn": "RAG baseline (kNN retrieval)",
        "probe": "Linear probe (frozen embeddings)",
        "rag": "RAG baseline (retrieved few-shot examples)",
        "nearest": "Nearest neighbour's answer",
    }
    return [(names[k], results[k]) for k in names if isinstance(results.get(k), dict)]


def show_results(results: Mapping[str, Any]) -> None:
    """Scores with 95% intervals, speed, per-class table and (small label sets) the confusion."""
    rows = []
    for name, m in systems(results):
        if "accuracy" in m:
            rows.append(
                {
                    "system": name,
                    "accuracy [95% CI]": _fmt(m["accuracy"], m.get("accuracy_ci95")),
                    "macro-F1 [95% CI]": _fmt(m["macro_f1"], m.get("macro_f1_ci95")),
                    "k": str(m.get("k", "")),
                }
            )
        else:  # generation
            rows.append(
                {
                    "system": name,
                    "exact match [95% CI]": _fmt(m["exact_match"], m.get("exact_match_ci95")),
                    "token F1 [95% CI]": _fmt(m["token_f1"], m.get("token_f1_ci95")),
                }
            )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(
        f"{results.get('n_train', '?')} training and {results.get('n_test', '?')} held-out "
        f"examples · split {results.get('split_id', '?')} · embedding "
        f"{results.get('embed_s', 0):.1f} s · total {results.get('total_s', 0):.1f} s · "
        f"{results.get('items_per_s', 0):,.0f} items/s"
    )
    for warning in results.get("warnings", []):
        st.warning(warning)
    metric = "exact_match" if results.get("task") == "generation" else "accuracy"
    with_ci = [{"system": n, **m} for n, m in systems(results) if f"{metric}_ci95" in m]
    if with_ci:
        st.altair_chart(charts.accuracy_with_ci(with_ci, metric), width="stretch")
    _per_class(results)


def _per_class(results: Mapping[str, Any]) -> None:
    knn = results.get("knn") or {}
    if "per_class" not in knn:
        return
    probe = (results.get("probe") or {}).get("per_class", {})
    frame = pd.DataFrame(
        [
            {
                "class": c,
                "support": v["support"],
                "kNN precision": v["precision"],
                "kNN recall": v["recall"],
                "kNN F1": v["f1"],
                "probe F1": probe.get(c, {}).get("f1"),
            }
            for c, v in knn["per_class"].items()
        ]
    )
    with st.expander("Per-class scores", expanded=False):
        st.dataframe(frame, hide_index=True, width="stretch")
    confusion = knn.get("confusion")
    if confusion and len(confusion["labels"]) <= MAX_CONFUSION_LABELS:
        st.altair_chart(charts.confusion_heatmap(confusion), width="stretch")
    elif confusion:
        st.caption(f"{len(confusion['labels'])} classes: confusion matrix omitted (too large).")
