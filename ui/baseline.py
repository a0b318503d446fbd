"""The RAG baseline from the app: rag_baseline.evaluate in a background thread, with progress,
writing results.json + predictions.csv into the project; and how its results are shown."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from ui import charts
from ui.background import Job, JobRunner
from ui.baseline_bound import plan_for, run_sampled
from ui.safe import plain
from ui.workspace import DataChoice, Project

QUICK_SHARE = 0.15  # of the progress bar given to the quick estimate before the full run
SAVE_FROM = 0.97  # the rest of the bar: refitting and saving the chosen classifier (seconds)


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
        quick_path(project, choice.split_id).unlink(missing_ok=True)
        bound = plan_for(choice.n_train, choice.n_test, choice.mean_words)  # before any embedding
        report, save_step = _scaled(progress, 0.0, SAVE_FROM, ""), progress
        if bound.sample:  # too big for this machine's memory: a stratified sample, said so
            result = run_sampled(evaluate, config, bound, report, embedder=model, generator=gen)
        else:
            if choice.split_task == "classification" and choice.n_train > 2 * config.quick_train:
                # A first answer in seconds (its vectors are cached for the full run), then all.
                quick = dataclasses.replace(config, quick=True)
                evaluate(
                    quick, _scaled(report, 0.0, QUICK_SHARE, "quick estimate: "), embedder=model
                )
                report = _scaled(report, QUICK_SHARE, 1.0, "")
            result = evaluate(config, report, embedder=model, generator=gen)
        if result.get("task") == "classification":  # the chosen classifier, for the Model page
            from rag_baseline.deploy_fit import save_from_result

            save_step(SAVE_FROM, "saving the chosen classifier for the Model page")
            save_from_result(result, classifier_dir(project, choice.split_id), model)
        return result

    return runner().start(job_key(project, choice), work)


def classifier_dir(project: Project, split_id: str) -> Path:
    """Where the baseline's chosen classifier is saved (rag_baseline.deploy's folder)."""
    return project.baseline_dir(split_id) / "classifier"


def _scaled(
    progress: Callable[[float, str], None], lo: float, hi: float, prefix: str
) -> Callable[[float, str], None]:
    return lambda f, m: progress(lo + (hi - lo) * f, prefix + m)


def quick_path(project: Project, split_id: str) -> Path:
    return project.baseline_dir(split_id) / "quick-results.json"


def load_quick(project: Project, split_id: str) -> dict[str, Any] | None:
    """The quick estimate written while the full baseline runs, if any."""
    try:
        data = json.loads(quick_path(project, split_id).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _fmt(value: float, ci: list[float] | None) -> str:
    return f"{value:.3f}" + (f"  [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def systems(results: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(display name, metrics) of the baseline systems present in `results`."""
    names = {
        "knn": "RAG baseline (kNN retrieval)",
        "probe": "Linear probe (frozen embeddings)",
        "classic": "Classic TF-IDF + linear SVM",
        "combined": "Probe + TF-IDF combined",
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
                    "CV accuracy (train)": ""
                    if m.get("cv_score") is None
                    else f"{m['cv_score']:.3f}",
                    "settings": _settings(m),
                    **_speed(m),
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
    if results.get("quick") and results.get("sample"):
        sample = results["sample"]
        st.info(
            f"Quick estimate on a stratified sample of {sample['n_train']:,} of "
            f"{sample['of_train']:,} training and {sample['n_test']:,} of {sample['of_test']:,} "
            "held-out examples; the full run follows."
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    _best_and_curve(results)
    st.caption(
        f"{results.get('n_train', '?')} training and {results.get('n_test', '?')} held-out "
        f"examples · split {results.get('split_id', '?')} · embedding "
        f"{results.get('embed_s', 0):.1f} s · total {results.get('total_s', 0):.1f} s"
    )
    st.caption(serving_speed_text(results))
    for warning in results.get("warnings", []):
        st.warning(plain(warning))
    metric = "exact_match" if results.get("task") == "generation" else "accuracy"
    with_ci = [{"system": n, **m} for n, m in systems(results) if f"{metric}_ci95" in m]
    if with_ci:
        st.altair_chart(charts.accuracy_with_ci(with_ci, metric), width="stretch")
    _per_class(results)


def _speed(m: Mapping[str, Any]) -> dict[str, str]:
    """The method's own measured answer time, where the results carry one (never the kNN
    figure repeated for every method)."""
    if m.get("items_per_s"):
        return {"ms / item": f"{1000 / m['items_per_s']:,.2f}"}
    if m.get("latency_ms_per_item"):
        return {"ms / item": f"{m['latency_ms_per_item']:,.2f}"}
    return {}


def _settings(m: Mapping[str, Any]) -> str:
    if "k" in m:
        return f"k={m['k']}"
    if "setting" in m:
        return str(m["setting"])
    if "weight_probe" in m:
        return f"probe weight {m['weight_probe']:g}"
    return f"C={m['C']:g}" if "C" in m else ""


def _best_and_curve(results: Mapping[str, Any]) -> None:
    """The best cheap baseline (by CV on the training split) and what more data would buy."""
    best = results.get("best")
    if best:
        cv = f", CV accuracy {best['cv_accuracy']:.3f}" if best.get("cv_accuracy") else ""
        st.success(
            plain(
                f"Best cheap baseline: {best['name']}: test accuracy {best['accuracy']:.3f}"
                f"{cv} (chosen by {best['by']}, not by the test score)."
            )
        )
    curve = results.get("learning_curve") or {}
    if curve.get("points"):
        points = " · ".join(f"{p['n_train']:,}: {p['accuracy']:.3f}" for p in curve["points"])
        text = f"Learning curve of {curve['method']} ({points}): {curve['verdict']}."
        projected = curve.get("projected_at_full")
        if projected:
            text += (
                f" Projected at all {projected['n_train']:,} training examples: "
                f"~{projected['accuracy']:.3f}."
            )
        st.caption(plain(text))
    window = results.get("window") or {}
    if window.get("n_over_window"):
        st.caption(
            f"{window['n_over_window']:,} of {window['n_texts']:,} texts exceed the embedder's "
            f"{window['window_tokens']}-token window ({window['long_texts']} mode)."
        )


def serving_speed_text(timing: Mapping[str, Any]) -> str:
    """What an items/s figure means: answering new texts end to end (embed + search + vote,
    nothing cached), on this machine; the fine-tune's figure is measured the same way."""
    if not timing.get("items_per_s"):
        return ""
    text = (
        f"Answers {timing['items_per_s']:,.0f} new texts per second on this machine "
        f"({1000 / timing['items_per_s']:,.1f} ms each) in a batch of held-out texts, end to "
        "end from raw text, nothing cached"
    )
    if timing.get("latency_ms_per_item"):
        text += f"; one text at a time: {timing['latency_ms_per_item']:,.1f} ms"
    return text + "."


def _per_class(results: Mapping[str, Any]) -> None:
    knn = results.get("knn") or {}
    if "per_class" not in knn:
        return
    probe = (results.get("probe") or {}).get("per_class", {})
    classic = (results.get("classic") or {}).get("per_class", {})
    frame = pd.DataFrame(
        [
            {
                "class": c,
                "support": v["support"],
                "kNN precision": v["precision"],
                "kNN recall": v["recall"],
                "kNN F1": v["f1"],
                "probe F1": probe.get(c, {}).get("f1"),
                "classic F1": classic.get(c, {}).get("f1"),
            }
            for c, v in knn["per_class"].items()
        ]
    )
    with st.expander("Per-class scores", expanded=False):
        st.dataframe(frame, hide_index=True, width="stretch")
    best = (results.get("best") or {}).get("method")
    shown = results.get(best) if isinstance(results.get(best), dict) else knn
    confusion, of = shown.get("confusion"), (results.get("best") or {}).get("name", "kNN")
    if shown is knn:
        of = "kNN retrieval on embeddings"
    if confusion and len(confusion["labels"]) <= charts.MAX_CONFUSION_LABELS:
        # Its own size (from the label count), not stretched: stretching squashed the rows.
        st.altair_chart(charts.confusion_heatmap(confusion, of), width="content")
    elif confusion:
        st.caption(
            f"{len(confusion['labels'])} classes: confusion matrix omitted (over "
            f"{charts.MAX_CONFUSION_LABELS} labels); the per-class scores are above."
        )
