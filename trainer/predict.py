"""Predictions with a finished run's exported adapter (`runs/<id>/adapter/`).

From a terminal (see trainer/__main__.py):
    python -m trainer predict --run RUN --input new.csv [--text-col text] [--out preds.csv]

writes every row and column of the input with `pred` and `confidence` (classification: the
softmax probability of the predicted label; generation: `pred` only) added, as the app's batch
prediction and `python -m rag_baseline.deploy predict` do. From Python (the app's Model page):

    p = load_predictor(Path("runs/RUN"))
    p.predict(["my printer is on fire"])      # [Prediction(label=..., confidence=0.93, ...)]
    p.nearest(["my printer is on fire"], k=3)  # closest training examples, by the tuned encoder
"""

from __future__ import annotations

import json
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from core.data import load_table
from core.models import check_model_folder
from core.predictions import csv_text, prediction_text_column, with_predictions
from trainer.config import InputError
from trainer.distributed import amp_dtype, resolve_device, resolve_precision
from trainer.finalize import META_FILE
from trainer.model import Classifier, load_tokenizer, resolve_source
from trainer.tasks import classify, embed_or_score, encode_texts, generate_answers


@dataclass(frozen=True)
class Prediction:
    """One answer: the label (or generated output), its probability and the runner-up labels."""

    label: str
    confidence: float | None = None  # classification only
    top: list[tuple[str, float]] = field(default_factory=list)  # best labels with probability


def read_meta(run_dir: Path) -> dict[str, Any]:
    """trainer_meta.json of the run's adapter; InputError when the run has none."""
    path = Path(run_dir) / "adapter" / META_FILE
    if not path.exists():
        raise InputError(f"run: {Path(run_dir).name} has no exported adapter (did it complete?)")
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        meta = None
    if not isinstance(meta, dict) or not isinstance(meta.get("base_model"), str):
        raise InputError(f"run: {path} is not a valid trainer_meta.json; re-run or re-export it")
    return meta


def load_trained(run_dir: Path, device: str):
    """(model, tokenizer, meta) rebuilt from adapter/ on top of the base model."""
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")  # peft notice
    adapter = run_dir / "adapter"
    meta = read_meta(run_dir)
    # A run folder is untrusted (copied, or synced from a cluster): a pickle or code in adapter/
    # is refused in one line before peft or transformers could unpickle it.
    check_model_folder(adapter, f"run {Path(run_dir).name}: adapter")
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


@dataclass
class Predictor:
    """A trained run loaded once (the app keeps it in st.cache_resource)."""

    run_dir: Path
    model: Any
    tokenizer: Any
    meta: dict[str, Any]
    device: str
    amp: Any
    _train: tuple[list[str], list[str], torch.Tensor] | None = field(default=None, repr=False)

    @property
    def task(self) -> str:
        return self.meta["task"]

    @torch.inference_mode()
    def predict(self, texts: list[str], top_k: int = 3) -> list[Prediction]:
        texts = [str(t).strip() for t in texts]
        if not texts:
            return []
        if self.task != "classification":
            outs = generate_answers(
                self.model, self.tokenizer, texts, self.meta["max_length"],
                self.meta["max_new_tokens"], self.device, self.amp,
            )  # fmt: skip
            return [Prediction(label=o) for o in outs]
        logits = classify(
            self.model, self.tokenizer, texts, self.meta["max_length"], self.device, self.amp
        )
        probs = torch.softmax(logits.float(), dim=1)
        k = min(top_k, probs.shape[1])
        values, indices = probs.topk(k, dim=1)
        labels = self.meta["labels"]
        out = []
        for vals, idx in zip(values.tolist(), indices.tolist()):
            top = [(labels[i], round(v, 4)) for v, i in zip(vals, idx)]
            out.append(Prediction(label=top[0][0], confidence=top[0][1], top=top))
        return out

    @torch.inference_mode()
    def nearest(self, texts: list[str], k: int = 3) -> list[list[dict[str, Any]]]:
        """The k training examples closest to each text in the tuned encoder's space (cosine),
        as {"text", "label", "similarity"}; [] per text for generation runs."""
        if self.task != "classification":
            return [[] for _ in texts]
        train_texts, train_labels, train_vecs = self._training_vectors()
        vecs = self._features(texts)
        sims = vecs @ train_vecs.T
        top = sims.topk(min(k, sims.shape[1]), dim=1)
        return [
            [
                {"text": train_texts[i], "label": train_labels[i], "similarity": round(s, 3)}
                for s, i in zip(vals, idx)
            ]
            for vals, idx in zip(top.values.tolist(), top.indices.tolist())
        ]

    def _features(self, texts: list[str]) -> torch.Tensor:
        ids = encode_texts(self.tokenizer, texts, self.meta["max_length"])
        return embed_or_score(
            self.model.features, ids, self.tokenizer.pad_token_id, self.device, self.amp
        )

    def _training_vectors(self) -> tuple[list[str], list[str], torch.Tensor]:
        if self._train is None:
            texts, labels = training_examples(self.run_dir)
            self._train = (texts, labels, self._features(texts))
        return self._train


def training_examples(run_dir: Path) -> tuple[list[str], list[str]]:
    """The training side of the run's saved split (texts, labels)."""
    from core.split import prepare_dataset
    from trainer.config import TrainConfig

    cfg = TrainConfig.from_json((Path(run_dir) / "config.json").read_text())
    ds = prepare_dataset(cfg.data_spec())
    return list(ds.train_texts), list(ds.train_labels)


def load_predictor(run_dir: Path, device: str = "auto") -> Predictor:
    dev = resolve_device(device)
    model, tok, meta = load_trained(Path(run_dir), dev)
    return Predictor(
        Path(run_dir), model, tok, meta, dev, amp_dtype(resolve_precision("auto", dev))
    )


def predict_texts(run_dir: Path, texts: list[str], device: str = "auto") -> list[str]:
    return [p.label for p in load_predictor(Path(run_dir), device).predict(texts)]


def predict_file(
    run_dir: Path, input_path: str, text_col: str | None, out: str | None, device: str = "auto"
) -> int:
    """Write the input's rows with every one of its columns, `pred` (and `confidence`) added, as
    CSV to `out` or stdout (the same rules as the app and rag_baseline.deploy); returns the row
    count."""
    meta = read_meta(Path(run_dir))  # clear errors before the slow model load
    table = load_table(input_path)
    prediction_text_column(table, meta.get("text_col"), text_col)
    frame = with_predictions(load_predictor(Path(run_dir), device), table, text_col)
    text = csv_text(frame)
    if out:
        Path(out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return len(frame)
