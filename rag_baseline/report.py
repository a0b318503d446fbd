"""Readable text for the CLI: the result table of `evaluate` and the summary of `validate`."""

from __future__ import annotations

CLASSIFICATION_COLUMNS = (("accuracy", "accuracy"), ("macro_f1", "macro-F1"))
GENERATION_COLUMNS = (("exact_match", "exact match"), ("token_f1", "token F1"))


def _ci(pair: list[float] | None) -> str:
    return f"[{pair[0]:.3f}, {pair[1]:.3f}]" if pair else ""


def _method_rows(result: dict) -> list[str]:
    columns = GENERATION_COLUMNS if result["task"] == "generation" else CLASSIFICATION_COLUMNS
    cells = "".join(f"{label:<12}{'95% CI':<18}" for _, label in columns)
    header = f"{'method':<9}{'k':>4}  {cells}"
    rows = [header.rstrip(), "-" * len(header.rstrip())]
    for name in result["methods"]:
        block = result[name]
        k = str(block.get("k", "-"))
        cells = "".join(
            f"{block[key]:<12.4f}{_ci(block.get(key + '_ci95')):<18}" for key, _ in columns
        )
        rows.append(f"{name:<9}{k:>4}  {cells}".rstrip())
    return rows


def format_result(result: dict) -> str:
    """A short table: one row per method with its scores and 95% CIs, then cost and warnings."""
    index = result["index"]
    index_text = index["type"]
    if "recall_at_k" in index:
        index_text += f" (recall@{index['recall_k']} vs exact: {index['recall_at_k']:.3f})"
    lines = [
        f"RAG baseline: {result['task']}, {result['n_train']} train / {result['n_test']} test, "
        f"split {result['split_id']}",
        "",
        *_method_rows(result),
        "",
        f"embedding: {result['n_embedded']} texts in {result['embed_s']:.2f} s "
        f"({result['kernel']}), {result['cache_hits']} from cache; index {index_text}",
        f"speed: {result['items_per_s']:.1f} items/s, {result['latency_ms_per_item']:.1f} ms per "
        f"item; total {result['total_s']:.1f} s",
    ]
    if result["task"] == "classification":
        knn = result["knn"]
        if knn.get("k_source") == "cv":
            scores = ", ".join(f"k={k}: {a:.3f}" for k, a in knn["cv_accuracy"].items())
            lines.append(f"k chosen by {len(knn['cv_accuracy'])}-candidate CV ({scores})")
    lines += _warning_lines(result.get("warnings", []))
    return "\n".join(lines)


def _warning_lines(warnings: list[str]) -> list[str]:
    return ["", "warnings:", *(f"  - {w}" for w in warnings)] if warnings else []


def format_validation(summary: dict) -> str:
    """What `validate` found: task, columns, sizes, split, and every warning."""
    lines = [
        f"OK: {summary['task']} on column '{summary['text_col']}' -> '{summary['label_col']}', "
        f"{summary['n_train']} train / {summary['n_test']} test",
        f"split {summary['split_id']} saved at {summary['split_path']}",
    ]
    return "\n".join(lines + _warning_lines(summary.get("warnings", [])))
