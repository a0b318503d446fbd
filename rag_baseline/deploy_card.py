"""README.md of an exported small classifier (rag_baseline.deploy): what it is, what it was
trained on, its held-out scores as measured on the saved model, how to load it, and the
embedder's licence. Pure text; the numbers come from the model's classifier.json."""

from __future__ import annotations

from typing import Any

HOW = {
    "knn": "the k nearest training examples (cosine of the embeddings) vote, each weighted by "
    "a softmax of its similarity",
    "probe": "multinomial logistic regression on the frozen, L2-normalised embeddings",
    "classic": "TF-IDF n-grams with a linear SVM; no neural network at all",
    "combined": "a weighted mix of the linear probe's probabilities and the TF-IDF SVM's "
    "softmaxed scores",
}


def _score(held: dict[str, Any], key: str) -> str | None:
    if held.get(key) is None:
        return None
    ci = held.get(f"{key}_ci95")
    return f"{held[key]:.3f}" + (f" (95% interval {ci[0]:.3f} – {ci[1]:.3f})" if ci else "")


def _speed(meta: dict[str, Any]) -> str:
    ips = meta.get("items_per_s")
    if not ips:
        return ""
    return f" (the baseline measured {1000 / ips:,.1f} ms per text in a batch, end to end)"


def _settings(meta: dict[str, Any]) -> str:
    s = meta.get("settings") or {}
    parts = []
    if "k" in s:
        parts.append(f"k = {s['k']}")
    if "probe_C" in s:
        parts.append(f"probe C = {s['probe_C']:g}")
    if "classic" in s:
        c = s["classic"]
        parts.append(f"TF-IDF {c['features']} n-grams, SVM C = {c['C']:g} ({c['multi_class']})")
    if "weight_probe" in s:
        parts.append(f"probe weight {s['weight_probe']:g}")
    if "temperature" in s:
        parts.append(f"SVM score temperature {s['temperature']:g}")
    return "; ".join(parts) or "—"


def _files(meta: dict[str, Any], knn: bool) -> list[str]:
    method = meta.get("method")
    out = ["- `classifier.json`: method, labels (index → label), settings, data and scores"]
    if method in ("probe", "classic", "combined"):
        out.append(
            "- `weights.safetensors`: "
            + {
                "probe": "`probe_coef` (labels × dim), `probe_intercept`",
                "classic": "`svm_coef` (classes × terms), `svm_intercept`, `svm_columns`, "
                "`idf_<block>`",
                "combined": "the probe's and the SVM's arrays (as for each alone)",
            }[method]
        )
    if method in ("classic", "combined"):
        out.append("- `vocabulary.json`: the TF-IDF terms per block, in column order")
    if knn:
        out.append(
            "- `examples.safetensors`: `train_vectors` (the training embeddings) and "
            "`train_codes`: kNN's model is its examples. The training texts themselves are not "
            "included, but embeddings can reveal something of them: share accordingly."
        )
    return out


def _usage(meta: dict[str, Any]) -> list[str]:
    lines = [
        "With this project (`pip install -e .` in its folder):",
        "",
        "```python",
        "from rag_baseline.deploy import load",
        "model = load('this-folder')",
        "model.predict(['my printer is on fire'])   # [Answer(label, confidence, top)]",
        "```",
        "",
        "or a whole file, every column kept, `pred` and `confidence` added:",
        "",
        "```",
        "python -m rag_baseline.deploy predict --model this-folder --input new.csv --out preds.csv",
        "```",
    ]
    if meta.get("method") == "probe":
        lines += [
            "",
            "Without this project: embed with sentence-transformers "
            f"(`{meta.get('embedder')}`, `normalize_embeddings=True`), then "
            "`logits = X @ probe_coef.T + probe_intercept` (safetensors.numpy.load_file) and "
            "take the label at `argmax` from `classifier.json`.",
        ]
    return lines


def model_card(meta: dict[str, Any], knn: bool = False) -> str:
    """The card's Markdown; `knn`: the export carries the training vectors."""
    held = meta.get("held_out") or {}
    test = f"`{meta['test_file']}`" if meta.get("test_file") else "the saved held-out split"
    embedded = meta.get("method") != "classic"
    lines = [
        f"# Small classifier: {meta.get('name', meta.get('method'))}",
        "",
        f"The cheap baseline that cross-validation chose on your training data, as a model to "
        f"deploy: {HOW.get(meta.get('method'), '?')}. It runs on a CPU{_speed(meta)}. "
        f"Exported by the fine-tune advisor ({meta.get('created', '?')}).",
        "",
        "| | |",
        "|---|---|",
        f"| Method | {meta.get('name')} (`{meta.get('method')}`) |",
        f"| Settings | {_settings(meta)} |",
        f"| Chosen by | {meta.get('chosen_by') or '?'} |",
        f"| Training data | `{meta.get('train_file')}` (text column `{meta.get('text_col')}`, "
        f"label column `{meta.get('label_col')}`) |",
        f"| Held-out data | {test} |",
        f"| Split id | `{meta.get('split_id')}` |",
        f"| Examples | {meta.get('n_train')} training, {meta.get('n_test')} held out |",
    ]
    for key, name in (("accuracy", "Accuracy"), ("macro_f1", "Macro-F1")):
        if _score(held, key):
            lines.append(
                f"| {name} (held out, measured on this saved model) | {_score(held, key)} |"
            )
    if embedded:
        lines += [
            f"| Embedder | `{meta.get('embedder')}` (licence: {meta.get('embedder_licence')}) |",
        ]
    lines += [f"| Labels | {len(meta.get('labels') or [])} (see `classifier.json`) |"]
    if meta.get("quick"):
        lines += ["", "> Fitted on a stratified sample of the training rows (memory bound)."]
    if embedded:
        lines += [
            "",
            f"Texts are embedded with `{meta.get('embedder')}` (not included: it is installed "
            "with this project, or from the Hugging Face hub); its licence, "
            f"{meta.get('embedder_licence')}, applies to that model.",
        ]
    lines += ["", "## Files", "", *_files(meta, knn), "", "## Load it", "", *_usage(meta)]
    return "\n".join(lines) + "\n"
