"""Base models, LoRA/QLoRA/full set-up and the classifier (encoder + mean pooling + linear head).

Weights load from safetensors (or the shipped GGUF, dequantized on load) with
`trust_remote_code=False`; a model id that is neither a local folder nor reachable on the hub
raises `ModelNotFoundError` (from core.models) naming what was tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from core.models import (
    ModelNotFoundError,
    resolve_local_or_hub,
    shipped_minilm_path,
    shipped_smollm2_gguf,
)
from trainer.config import SHIPPED_ENCODER, SHIPPED_GENERATOR, InputError, TrainConfig


@dataclass
class ModelSource:
    path: str  # local folder or hub id
    gguf_file: str | None = None

    def kwargs(self) -> dict:
        if self.gguf_file:
            return {"gguf_file": self.gguf_file}
        return {"use_safetensors": True}


def resolve_source(name: str) -> ModelSource:
    if name == SHIPPED_ENCODER:
        return ModelSource(str(shipped_minilm_path()))
    if name == SHIPPED_GENERATOR:
        folder, fname = shipped_smollm2_gguf()
        return ModelSource(str(folder), fname)
    if name.endswith(".gguf") and Path(name).is_file():
        return ModelSource(str(Path(name).parent), Path(name).name)
    return ModelSource(resolve_local_or_hub(name))


def load_tokenizer(src: ModelSource):
    from transformers import AutoTokenizer

    kw = {"gguf_file": src.gguf_file} if src.gguf_file else {}
    tok = AutoTokenizer.from_pretrained(src.path, trust_remote_code=False, **kw)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(batch, seq, dim) x (batch, seq) -> (batch, dim): the average over real tokens."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


class Classifier(nn.Module):
    """Encoder -> mean pooling -> L2 normalisation -> linear head (logits over the classes).

    Normalising matches how all-MiniLM-L6-v2 embeddings are used (cosine space), and it is the
    feature the linear-probe warm start is fitted on, so the head starts where the probe ended.
    """

    def __init__(self, encoder: nn.Module, n_classes: int, hidden: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(hidden, n_classes)

    def features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        pooled = mean_pool(out.last_hidden_state, attention_mask)
        return nn.functional.normalize(pooled.float(), dim=-1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(input_ids, attention_mask))


def _quantization_config(cfg: TrainConfig, device: str):
    if cfg.method != "qlora":
        return None
    if device != "cuda":
        raise InputError("method: qlora needs a CUDA GPU; use --method lora on this machine")
    try:
        import bitsandbytes  # noqa: F401
        from transformers import BitsAndBytesConfig
    except ImportError:
        raise InputError(
            "method: qlora needs the bitsandbytes package (pip install bitsandbytes); "
            "or use --method lora"
        ) from None
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=torch.bfloat16,
        bnb_4bit_use_double_quant=True,
    )


def _targets(cfg: TrainConfig) -> str | list[str]:
    if cfg.target_modules.strip() == "all-linear":
        return "all-linear"
    return [t.strip() for t in cfg.target_modules.split(",") if t.strip()]


def apply_method(model: nn.Module, cfg: TrainConfig, task_type: str | None) -> nn.Module:
    """LoRA/QLoRA adapters via peft (base frozen), or everything trainable for `full`."""
    if cfg.method == "full":
        for p in model.parameters():
            p.requires_grad_(True)
        return model
    from peft import LoraConfig, get_peft_model

    if cfg.method == "qlora":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    lora = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=_targets(cfg),
        task_type=task_type,
    )
    try:
        return get_peft_model(model, lora)
    except ValueError as exc:
        raise InputError(f"target_modules: {exc}") from None


def load_encoder(src: ModelSource, cfg: TrainConfig, device: str) -> nn.Module:
    from transformers import AutoModel

    quant = _quantization_config(cfg, device)
    kw = dict(src.kwargs(), trust_remote_code=False)
    if quant is not None:
        kw.update(quantization_config=quant, device_map={"": torch.cuda.current_device()})
    try:
        enc = AutoModel.from_pretrained(src.path, **kw)
    except OSError as exc:
        raise ModelNotFoundError(f"base_model: cannot load '{src.path}': {exc}") from None
    if getattr(enc, "pooler", None) is not None:
        enc.pooler = None  # unused with mean pooling; LoRA on it would be wasted work
    return enc


def build_classifier(cfg: TrainConfig, src: ModelSource, n_classes: int, device: str):
    encoder = load_encoder(src, cfg, device)
    hidden = encoder.config.hidden_size
    encoder = apply_method(encoder, cfg, task_type=None)
    model = Classifier(encoder, n_classes, hidden)
    if cfg.method == "qlora":  # the 4-bit encoder is already placed on the GPU
        model.head.to(device)
        return model
    return model.to(device)


def build_causal_lm(cfg: TrainConfig, src: ModelSource, device: str, dtype: torch.dtype):
    from transformers import AutoModelForCausalLM

    quant = _quantization_config(cfg, device)
    kw = dict(src.kwargs(), trust_remote_code=False)
    # Weights stay fp32 on CPU (bf16 autocast does the matmuls); bf16 weights on CUDA.
    kw["dtype"] = dtype if device == "cuda" else torch.float32
    if quant is not None:
        kw.update(quantization_config=quant, device_map={"": torch.cuda.current_device()})
    try:
        model = AutoModelForCausalLM.from_pretrained(src.path, **kw)
    except OSError as exc:
        raise ModelNotFoundError(f"base_model: cannot load '{src.path}': {exc}") from None
    model = apply_method(model, cfg, task_type="CAUSAL_LM")
    return model if quant is not None else model.to(device)


def count_parameters(model: nn.Module) -> tuple[int, int, int]:
    """(total, trainable, embedding) parameter counts."""
    total = trainable = emb = 0
    for name, p in model.named_parameters():
        n = p.numel()
        total += n
        trainable += n if p.requires_grad else 0
        if isinstance(p, torch.nn.Parameter) and "embed" in name and "lora" not in name:
            emb += n
    return total, trainable, emb


def model_dims(config) -> tuple[int, int, int]:
    """(layers, hidden, heads) from a transformers config."""
    layers = getattr(config, "num_hidden_layers", None) or getattr(config, "n_layer", 1)
    hidden = getattr(config, "hidden_size", None) or getattr(config, "n_embd", 1)
    heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_head", 1)
    return int(layers), int(hidden), int(heads)
