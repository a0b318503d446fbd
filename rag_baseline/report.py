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
    sample = result.get("sample")
    sizes = f"{result['n_train']} train / {result['n_test']} test"
    if result.get("quick") and sample:
        sizes = (
            f"QUICK estimate on a stratified sample of {sample['n_train']} of "
            f"{sample['of_train']} train / {sample['n_test']} of {sample['of_test']} test"
        )
    lines = [
        f"RAG baseline: {result['task']}, {sizes}, split {result['split_id']}",
        "",
        *_method_rows(result),
        "",
        f"embedding: {result['n_embedded']} texts in {result['embed_s']:.2f} s "
        f"({result['kernel']}), {result['cache_hits']} from cache; index {index_text}",
        f"speed: {result['items_per_s']:.1f} items/s, {result['latency_ms_per_item']:.1f} ms per "
        f"item; total {result['total_s']:.1f} s",
    ]
    if result["task"] == "classification":
        lines += _selection_lines(result)
    lines += _warning_lines(result.get("warnings", []))
    return "\n".join(lines)


def _selection_lines(result: dict) -> list[str]:
    """How k, the classic settings and the best baseline were chosen; the learning curve."""
    knn, classic, lines = result["knn"], result["classic"], []
    if knn.get("k_source") == "cv":
        scores = ", ".join(f"k={k}: {a:.3f}" for k, a in knn["cv_accuracy"].items())
        lines.append(f"k chosen by {len(knn['cv_accuracy'])}-candidate CV ({scores})")
    if classic.get("cv_accuracy"):
        scores = ", ".join(f"{k}: {a:.3f}" for k, a in classic["cv_accuracy"].items())
        lines.append(f"classic TF-IDF + linear SVM: {classic['setting']} chosen by CV ({scores})")
    combined = result.get("cv", {}).get("combined_cv")
    if combined and combined.get("cv_score") is not None:
        kept = "kept" if combined["kept"] else "not kept (no CV gain over its parts)"
        lines.append(f"probe + classic combined: CV {combined['cv_score']:.3f}, {kept}")
    elif combined:
        lines.append("probe + classic combined: not tried (a part is already at the CV ceiling)")
    best = result.get("best")
    if best:
        cv = f", CV {best['cv_accuracy']:.3f}" if best.get("cv_accuracy") is not None else ""
        lines.append(
            f"best cheap baseline: {best['method']} ({best['name']}), test accuracy "
            f"{best['accuracy']:.4f}{cv}; by {best['by']}"
        )
    curve = result.get("learning_curve")
    if curve and curve.get("points"):
        points = ", ".join(f"{p['n_train']}: {p['accuracy']:.3f}" for p in curve["points"])
        lines.append(f"learning curve ({curve['method']}): {points}; {curve['verdict']}")
        projected = curve.get("projected_at_full")
        if projected:
            lines.append(
                f"  projected at all {projected['n_train']} training rows: "
                f"~{projected['accuracy']:.3f}"
            )
    return lines


def format_first_numbers(quick: dict) -> str:
    """One line for the quick estimate that precedes a full run (stderr beside `--json`)."""
    sample, best = quick["sample"], quick["best"]
    metric = "exact match" if quick["task"] == "generation" else "accuracy"
    line = (
        f"first numbers (quick estimate on {sample['n_train']} of {sample['of_train']} training "
        f"rows, {quick['total_s']:.1f} s): best cheap baseline {best['method']} {metric} "
        f"{best['accuracy']:.3f}"
    )
    curve = quick.get("learning_curve") or {}
    if curve.get("verdict"):
        line += f"; {curve['verdict']}"
    projected = curve.get("projected_at_full")
    if projected:
        line += f"; projected at all {projected['n_train']} rows ~{projected['accuracy']:.3f}"
    return line + ". The full run follows."


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
