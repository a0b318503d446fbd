"""Base models, LoRA/QLoRA/full set-up and the classifier (encoder + mean pooling + linear head).

Weights load from safetensors (or the shipped GGUF, dequantized on load) with
`trust_remote_code=False`; a model id that is neither a local folder nor reachable on the hub
raises `ModelNotFoundError` (from core.models) naming what was tried.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from core.cpu import cpu_info
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


def attention_kwargs(device: str) -> dict:
    """Eager attention on CPU: torch's CPU flash-attention backward took 43% of a MiniLM LoRA
    step at ~16 tokens (50 ms per layer call, measured on a Xeon with AMX); the plain
    matmul + softmax path cut the step's CPU time 1.6x in bf16. GPUs keep SDPA."""
    return {"attn_implementation": "eager"} if device == "cpu" else {}


def frozen_to_bf16(model: nn.Module) -> int:
    """For CPU bf16 autocast: store the frozen weights in bf16 and stop peft casting each
    LoRA input back to fp32. Autocast re-casts frozen fp32 weights on every forward (its cache
    keeps only tensors that require grad) and peft's fp32 input cast doubles each LoRA input's
    traffic; the matmuls see the same bf16 values either way, so the training numbers are
    unchanged (same losses, measured) while a step costs ~1.2x less. Trainable parameters
    (LoRA, head) stay fp32 for AdamW. Returns the parameters converted."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    n = 0
    for p in model.parameters():
        if not p.requires_grad and p.dtype == torch.float32:
            p.data = p.data.to(torch.bfloat16)
            n += p.numel()
    for m in model.modules():
        if isinstance(m, BaseTunerLayer):
            m.cast_input_dtype_enabled = False
    return n


def _frozen_bf16(cfg: TrainConfig, device: str, bf16: bool) -> bool:
    """LoRA on a CPU in bf16, unless a merged model is exported in this process (merging into
    bf16-rounded weights would lose the small LoRA deltas; `trainer export --merged` reloads
    the fp32 base and is not affected)."""
    return device == "cpu" and bf16 and cfg.method == "lora" and not cfg.merge


def load_encoder(src: ModelSource, cfg: TrainConfig, device: str) -> nn.Module:
    from transformers import AutoModel

    quant = _quantization_config(cfg, device)
    kw = dict(src.kwargs(), trust_remote_code=False, **attention_kwargs(device))
    if quant is not None:
        kw.update(quantization_config=quant, device_map={"": torch.cuda.current_device()})
    try:
        enc = AutoModel.from_pretrained(src.path, **kw)
    except OSError as exc:
        raise ModelNotFoundError(f"base_model: cannot load '{src.path}': {exc}") from None
    if getattr(enc, "pooler", None) is not None:
        enc.pooler = None  # unused with mean pooling; LoRA on it would be wasted work
    return enc


def build_classifier(
    cfg: TrainConfig, src: ModelSource, n_classes: int, device: str, precision: str = "fp32"
):
    encoder = load_encoder(src, cfg, device)
    hidden = encoder.config.hidden_size
    encoder = apply_method(encoder, cfg, task_type=None)
    model = Classifier(encoder, n_classes, hidden)
    if cfg.method == "qlora":  # the 4-bit encoder is already placed on the GPU
        model.head.to(device)
        return model
    if _frozen_bf16(cfg, device, precision == "bf16"):
        frozen_to_bf16(model)
    return model.to(device)


def build_causal_lm(cfg: TrainConfig, src: ModelSource, device: str, dtype: torch.dtype):
    from transformers import AutoModelForCausalLM

    quant = _quantization_config(cfg, device)
    kw = dict(src.kwargs(), trust_remote_code=False)
    # Loaded fp32 on CPU (frozen weights go to bf16 after the adapters are added, trainable
    # ones stay fp32); bf16 weights on CUDA.
    kw["dtype"] = dtype if device == "cuda" else torch.float32
    kw.update(attention_kwargs(device))
    if quant is not None:
        kw.update(quantization_config=quant, device_map={"": torch.cuda.current_device()})
    try:
        model = AutoModelForCausalLM.from_pretrained(src.path, **kw)
    except OSError as exc:
        raise ModelNotFoundError(f"base_model: cannot load '{src.path}': {exc}") from None
    model = apply_method(model, cfg, task_type="CAUSAL_LM")
    if _frozen_bf16(cfg, device, dtype == torch.bfloat16):
        frozen_to_bf16(model)
    return model if quant is not None else model.to(device)


def cpu_flags() -> frozenset[str]:
    return cpu_info().flags


def gemm_burst(hidden: int = 384, tokens: int = 512, seconds: float = 0.05) -> dict[str, float]:
    """FLOP/s of (tokens x hidden) @ (hidden x 4 hidden) matmuls, fp32 and bf16, on one
    thread, timed in this thread's CPU time (what the kernels can do, not how busy the
    machine is: under load two threads stall on each other and hide the difference)."""
    import time

    threads, out = torch.get_num_threads(), {}
    torch.set_num_threads(1)
    try:
        for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            x = torch.randn(tokens, hidden, dtype=dtype)
            w = torch.randn(4 * hidden, hidden, dtype=dtype)
            nn.functional.linear(x, w)  # first call: kernel selection / JIT
            n, t0 = 0, time.thread_time()
            while time.thread_time() - t0 < seconds or n < 3:
                nn.functional.linear(x, w)
                n += 1
            out[name] = n * 2 * tokens * hidden * 4 * hidden / (time.thread_time() - t0)
    finally:
        torch.set_num_threads(threads)
    return out


@functools.lru_cache(maxsize=1)
def auto_cpu_precision() -> tuple[str, str, dict[str, float]]:
    """(precision, why, burst FLOP/s) for precision=auto on this CPU; measured once per
    process (a burst only where the flags promise native bf16)."""
    from trainer.estimate import BF16_FLAGS, choose_cpu_precision

    flags = cpu_flags()
    burst = gemm_burst() if any(f in flags for f in BF16_FLAGS) else {}
    precision, why = choose_cpu_precision(flags, burst)
    return precision, why, burst


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
