"""Batch predictions with a finished run's exported adapter (`runs/<id>/adapter/`)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from core.data import DataError, detect_columns, load_table
from trainer.config import InputError
from trainer.distributed import amp_dtype, resolve_device, resolve_precision
from trainer.finalize import META_FILE
from trainer.model import Classifier, load_tokenizer, resolve_source
from trainer.tasks import classify, generate_answers


def load_trained(run_dir: Path, device: str):
    """(model, tokenizer, meta) rebuilt from adapter/ on top of the base model."""
    adapter = run_dir / "adapter"
    if not (adapter / META_FILE).exists():
        raise InputError(f"run: {run_dir.name} has no exported adapter (did it complete?)")
    meta = json.loads((adapter / META_FILE).read_text())
    src = resolve_source(meta["base_model"])
    tok = load_tokenizer(src)
    has_peft = (adapter / "adapter_config.json").exists()
    if meta["task"] == "classification":
        from transformers import AutoModel

        base = AutoModel.from_pretrained(
            str(adapter) if not has_peft else src.path, **_kw(src, has_peft)
        )
        if getattr(base, "pooler", None) is not None:
            base.pooler = None
        model = Classifier(
            _with_adapter(base, adapter, has_peft), len(meta["labels"]), base.config.hidden_size
        )
        model.head.load_state_dict(load_file(str(adapter / "head.safetensors")))
    else:
        from transformers import AutoModelForCausalLM

        base = AutoModelForCausalLM.from_pretrained(
            str(adapter) if not has_peft else src.path, **_kw(src, has_peft)
        )
        model = _with_adapter(base, adapter, has_peft)
    return model.to(device).eval(), tok, meta


def _kw(src, has_peft: bool) -> dict:
    kw = {"trust_remote_code": False}
    if has_peft:
        kw.update(src.kwargs())
    else:  # full fine-tune: the weights are in adapter/ as safetensors
        kw["use_safetensors"] = True
    return kw


def _with_adapter(base, adapter: Path, has_peft: bool):
    if not has_peft:
        return base
    from peft import PeftModel

    return PeftModel.from_pretrained(base, str(adapter))


def predict_texts(run_dir: Path, texts: list[str], device: str = "auto") -> list[str]:
    dev = resolve_device(device)
    model, tok, meta = load_trained(Path(run_dir), dev)
    amp = amp_dtype(resolve_precision("auto", dev))
    if meta["task"] == "classification":
        logits = classify(model, tok, texts, meta["max_length"], dev, amp)
        return [meta["labels"][i] for i in logits.argmax(1).tolist()]
    return generate_answers(model, tok, texts, meta["max_length"], meta["max_new_tokens"], dev, amp)


def predict_file(
    run_dir: Path, input_path: str, text_col: str | None, out: str | None, device: str = "auto"
) -> int:
    """Write id,text,pred rows (CSV) to `out` or stdout; returns the number of rows."""
    table = load_table(input_path)
    meta = json.loads((Path(run_dir) / "adapter" / META_FILE).read_text())
    col = text_col or (meta.get("text_col") if meta.get("text_col") in table.frame else None)
    if col is None:
        col = _text_column(table)
    if col not in table.frame.columns:
        raise DataError(f"{table.path.name}: no column '{col}'; use --text-col")
    texts = [str(t).strip() for t in table.frame[col]]
    torch.set_grad_enabled(False)
    preds = predict_texts(Path(run_dir), texts, device)
    fh = open(out, "w", newline="") if out else sys.stdout
    try:
        w = csv.writer(fh)
        w.writerow(["id", "text", "pred"])
        w.writerows((f"r{i}", t, p) for i, (t, p) in enumerate(zip(texts, preds)))
    finally:
        if out:
            fh.close()
    return len(preds)


def _text_column(table) -> str:
    text, _ = detect_columns(table)
    if text is None:
        raise DataError(f"{table.path.name}: cannot tell the text column; use --text-col")
    return text
