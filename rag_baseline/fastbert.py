"""bfloat16 BERT encoder with oneDNN-fused linear layers, for fast CPU embedding.

Why: profiling MiniLM in plain bf16 on this CPU showed ~45% of the time outside the matrix
products: the bias of every `addmm` is first copied into the output (a full extra pass), and the
exact-erf GELU runs as a separate slow bf16 kernel. oneDNN's `mkldnn::_linear_pointwise` (the op
torch.compile's CPU backend emits) fuses bias + GELU, and bias + residual add, into the GEMM.
Measured on banking77 texts: ~1.15x over plain bf16 weights and ~1.6x over bf16 autocast, with
cosine to the fp32 vectors > 0.9999.

Attention for short sequences is two batched matmuls and a float32 softmax, which on this CPU is
~4x faster than torch's flash-attention kernel at T~16. Only models with the BERT layer layout
(query/key/value, attention.output, intermediate with exact GELU, output, absolute positions) are
rebuilt; `fuse_bert` returns None for anything else or when the op is missing, and callers then
use autocast. The op is private to torch, so `Embedder` also checks the fused model's
vectors against fp32 ones once at load time.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

DTYPE = torch.bfloat16


def _linear_op():
    ops = getattr(torch.ops, "mkldnn", None)
    return getattr(ops, "_linear_pointwise", None) if ops is not None else None


ROW_STEP = 256  # token rows of a GEMM are padded up to a multiple of this (see _row_bucket)


def _row_bucket(rows: int) -> int:
    """The padded row count for a GEMM of `rows` token rows.

    oneDNN builds (JIT-compiles) a new kernel for every new shape: on banking77, exact-length
    batches gave 86 distinct row counts and ~1.5 s of kernel building per run on an AMX host
    (ONEDNN_VERBOSE=all, create:cache_miss; ~4 ms a kernel, four kernels a row count). Rows are
    independent in a linear layer, so zero rows padded on and sliced off change nothing. Powers
    of two below ROW_STEP and multiples of it above leave 27 row counts there for 5% more rows;
    a step of 512 (19 counts, 10% more rows) or 64 (47, 2%) cost more in the sum.
    """
    if rows <= ROW_STEP:
        return max(16, 1 << (rows - 1).bit_length())
    return -(-rows // ROW_STEP) * ROW_STEP


def _pad_rows(flat: torch.Tensor) -> torch.Tensor:
    """`flat` (rows, features) with zero rows appended up to `_row_bucket(rows)`."""
    extra = _row_bucket(flat.shape[0]) - flat.shape[0]
    return torch.nn.functional.pad(flat, (0, 0, 0, extra)) if extra else flat


class FusedLinear(nn.Module):
    """y = act(x @ W.T + b) in one oneDNN call; `act` is "none" or "gelu" (exact erf)."""

    def __init__(self, linear: nn.Linear, act: str = "none"):
        super().__init__()
        self.weight = nn.Parameter(linear.weight.detach().to(DTYPE), requires_grad=False)
        bias = linear.bias
        self.bias = None if bias is None else nn.Parameter(bias.detach().to(DTYPE), False)
        self.act = act
        self.out_features = linear.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1]).to(DTYPE)  # (tokens, in)
        rows = flat.shape[0]
        algorithm = "none" if self.act == "gelu" else ""
        y = torch.ops.mkldnn._linear_pointwise(
            _pad_rows(flat), self.weight, self.bias, self.act, [], algorithm
        )
        return y[:rows].reshape(*x.shape[:-1], self.out_features)


class FusedResidualOutput(nn.Module):
    """LayerNorm(x @ W.T + b + residual) with the bias and residual add fused into the GEMM.

    Replaces BertSelfOutput / BertOutput (dropout is a no-op at inference).
    """

    def __init__(self, dense: nn.Linear, layer_norm: nn.LayerNorm):
        super().__init__()
        self.weight = nn.Parameter(dense.weight.detach().to(DTYPE), requires_grad=False)
        self.bias = nn.Parameter(dense.bias.detach().to(DTYPE), requires_grad=False)
        self.LayerNorm = copy.deepcopy(layer_norm).to(DTYPE)
        self.out_features = dense.out_features

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        flat = hidden_states.reshape(-1, hidden_states.shape[-1]).to(DTYPE)
        residual = input_tensor.reshape(-1, self.out_features).to(DTYPE)
        rows = flat.shape[0]
        y = torch.ops.mkldnn._linear_pointwise.binary(
            _pad_rows(flat), _pad_rows(residual), self.weight, self.bias, "add"
        )
        return self.LayerNorm(y[:rows].reshape(*hidden_states.shape[:-1], self.out_features))


def _is_bert_layout(model: nn.Module) -> bool:
    layers = getattr(getattr(model, "encoder", None), "layer", None)
    if not layers or getattr(model.config, "hidden_act", None) != "gelu":
        return False
    for layer in layers:
        try:
            parts = [
                layer.attention.self.query,
                layer.attention.self.key,
                layer.attention.self.value,
                layer.attention.output.dense,
                layer.intermediate.dense,
                layer.output.dense,
            ]
            norms = [layer.attention.output.LayerNorm, layer.output.LayerNorm]
        except AttributeError:
            return False
        if not all(isinstance(p, nn.Linear) and p.bias is not None for p in parts):
            return False
        if not all(isinstance(n, nn.LayerNorm) for n in norms):
            return False
    return True


class FusedBertLayer(nn.Module):
    """One BERT layer: fused QKV GEMM, attention by batched matmul, fused output GEMMs.

    For the short sequences of typical labelled data (T < 128) two bmm calls and a softmax are
    ~4x faster than torch's CPU flash-attention kernel (measured at B=256, H=12, T=16, D=32).
    """

    def __init__(self, layer: nn.Module, n_heads: int):
        super().__init__()
        attn = layer.attention.self
        qkv = nn.Linear(attn.query.in_features, 3 * attn.query.out_features)
        qkv.weight.data = torch.cat([attn.query.weight, attn.key.weight, attn.value.weight])
        qkv.bias.data = torch.cat([attn.query.bias, attn.key.bias, attn.value.bias])
        self.qkv = FusedLinear(qkv)
        self.attn_out = FusedResidualOutput(
            layer.attention.output.dense, layer.attention.output.LayerNorm
        )
        self.intermediate = FusedLinear(layer.intermediate.dense, act="gelu")
        self.out = FusedResidualOutput(layer.output.dense, layer.output.LayerNorm)
        self.n_heads = n_heads
        self.head_dim = attn.query.out_features // n_heads

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor | None) -> torch.Tensor:
        """x (B, T, hidden) bf16; mask_bias (B, 1, 1, T) float32, 0 or -inf-like, or None."""
        batch, width, _ = x.shape
        qkv = self.qkv(x).view(batch, width, 3, self.n_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, H, T, D)
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.head_dim**-0.5  # (B, H, T, T)
        if mask_bias is not None:
            scores = scores.float() + mask_bias
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(DTYPE)
        context = torch.matmul(probs, v).transpose(1, 2).reshape(batch, width, -1)
        x = self.attn_out(context, x)
        return self.out(self.intermediate(x), x)


class FusedBertEncoder(nn.Module):
    """A BERT-layout encoder rebuilt from fused bf16 layers; forward returns (B, T, hidden)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.embeddings = copy.deepcopy(model.embeddings).to(DTYPE).eval()
        heads = model.config.num_attention_heads
        self.layers = nn.ModuleList(FusedBertLayer(layer, heads) for layer in model.encoder.layer)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        x = self.embeddings(input_ids=input_ids)
        mask_bias = None
        if attention_mask is not None and not bool(attention_mask.all()):
            mask_bias = (attention_mask[:, None, None, :].float() - 1.0) * 1e30
        for layer in self.layers:
            x = layer(x, mask_bias)
        return x


def fuse_bert(model: nn.Module) -> nn.Module | None:
    """A fused bf16 copy of a BERT-layout encoder, or None where that does not apply."""
    if _linear_op() is None or not _is_bert_layout(model):
        return None
    if getattr(model.config, "position_embedding_type", "absolute") != "absolute":
        return None
    return FusedBertEncoder(model).eval()
