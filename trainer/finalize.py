"""After training: held-out predictions and metrics (core.metrics, so numbers compare
with the RAG baseline), predictions.csv keyed by the split's test ids, and the exported adapter
(peft safetensors + head + labels + meta), optionally merged into the base model.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from core.metrics import classification_metrics, generation_metrics
from core.predictions import spreadsheet_safe
from trainer.runfolder import META_FILE, RunFolder
from trainer.session import Session
from trainer.tasks import IGNORE, autocast_ctx, classify, generate_answers


def _subset(n_total: int, n: int) -> list[int]:
    """Evenly spaced indices: the same periodic-eval sample every time."""
    if n >= n_total:
        return list(range(n_total))
    return [int(i * n_total / n) for i in range(n)]


def quick_eval(s: Session, n: int) -> dict[str, Any]:
    """Periodic held-out check on `n` test examples (accuracy; generation: teacher-forced loss)."""
    rows = _subset(len(s.data.test_texts), n)
    texts = [s.data.test_texts[i] for i in rows]
    gold = [s.data.test_labels[i] for i in rows]
    if s.task_name == "classification":
        logits = classify(s.model, s.tokenizer, texts, s.cfg.max_length, s.device, s.amp)
        pred = [s.labels[i] for i in logits.argmax(1).tolist()]
        acc = sum(p == g for p, g in zip(pred, gold)) / len(gold)
        out = {"eval_accuracy": round(acc, 4), "eval_n": len(gold)}
        index = {label: i for i, label in enumerate(s.labels)}
        known = [(r, index[g]) for r, g in enumerate(gold) if g in index]  # unseen labels: skip
        if known:  # the held-out loss, comparable with the training loss
            rows_, targets = zip(*known)
            loss = torch.nn.functional.cross_entropy(
                logits[list(rows_)].float(), torch.tensor(targets)
            )
            out["eval_loss"] = round(float(loss), 5)
        return out
    return {"eval_loss": round(_generation_loss(s, texts, gold), 5), "eval_n": len(gold)}


@torch.inference_mode()
def _generation_loss(s: Session, texts: list[str], answers: list[str]) -> float:
    from trainer.tasks import GenerationTask

    task = GenerationTask(s.tokenizer, texts, answers, s.cfg.max_length)
    s.model.eval()
    total, count = 0.0, 0
    for start in range(0, len(texts), 16):
        idx = list(range(start, min(start + 16, len(texts))))
        batch = task.batch(idx, s.device)
        with autocast_ctx(s.device, s.amp):
            loss = task.loss(s.model, batch)
        n = int((batch["labels"][:, 1:] != IGNORE).sum())
        total, count = total + float(loss) * n, count + n
    return total / max(count, 1)


def predict_test(s: Session) -> list[str]:
    texts = s.data.test_texts
    if s.task_name == "classification":
        logits = classify(s.model, s.tokenizer, texts, s.cfg.max_length, s.device, s.amp)
        return [s.labels[i] for i in logits.argmax(1).tolist()]
    return generate_answers(
        s.model, s.tokenizer, texts, s.cfg.max_length, s.cfg.max_new_tokens, s.device, s.amp
    )


def score(s: Session, preds: list[str]) -> dict[str, Any]:
    if s.task_name == "classification":
        return classification_metrics(s.data.test_labels, preds, labels=s.labels)
    return generation_metrics(s.data.test_labels, preds)


def write_predictions(path: Path, ids: list[str], gold: list[str], pred: list[str]) -> None:
    """id,gold,pred; cells that a spreadsheet would run as a formula are escaped."""
    tmp = path.with_suffix(".tmp")
    try:
        with open(tmp, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["id", "gold", "pred"])
            w.writerows([spreadsheet_safe(c) for c in row] for row in zip(ids, gold, pred))
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def meta(s: Session) -> dict[str, Any]:
    return {
        "task": s.task_name,
        "base_model": s.base_model,
        "method": s.cfg.method,
        "max_length": s.cfg.max_length,
        "max_new_tokens": s.cfg.max_new_tokens,
        "labels": s.labels,
        "pooling": "mean+l2" if s.task_name == "classification" else None,
        "text_col": s.data.text_col,
        "label_col": s.data.label_col,
        "split_id": s.data.split_id,
    }


def export_adapter(s: Session, run: RunFolder) -> Path:
    """adapter/: peft adapter (or the full weights), head.safetensors, trainer_meta.json."""
    out = run.adapter_dir
    inner = s.model.encoder if s.task_name == "classification" else s.model
    inner.save_pretrained(str(out), safe_serialization=True)
    if s.task_name == "classification":
        head = {k: v.detach().cpu().contiguous() for k, v in s.model.head.state_dict().items()}
        save_file(head, str(out / "head.safetensors"))
    (out / META_FILE).write_text(json.dumps(meta(s), indent=2))
    return out


def export_merged(s: Session, run: RunFolder) -> Path | None:
    """merged/: the base model with the adapter folded in (LoRA only; plain weights load
    without peft)."""
    if s.cfg.method == "full" or s.cfg.method == "qlora":
        return None
    out = run.merged_dir
    if s.task_name == "classification":
        merged = s.model.encoder.merge_and_unload()
        merged.save_pretrained(str(out), safe_serialization=True)
        head = {k: v.detach().cpu().contiguous() for k, v in s.model.head.state_dict().items()}
        save_file(head, str(out / "head.safetensors"))
    else:
        s.model.merge_and_unload().save_pretrained(str(out), safe_serialization=True)
    s.tokenizer.save_pretrained(str(out))
    (out / META_FILE).write_text(json.dumps({**meta(s), "merged": True}, indent=2))
    return out
