"""The embedder with the real shipped MiniLM: shape, normalisation, agreement with
sentence-transformers' own encode, de-duplication and the on-disk cache."""

from __future__ import annotations

import numpy as np
import pytest

TEXTS = [
    "I am still waiting on my card?",
    "What can I do if my card still hasn't arrived after 2 weeks?",
    "How do I top up with Apple Pay?",
    "My transfer is pending. Why?",
    "Is there a fee for exchanging currencies?",
    "I think someone stole my card and used it.",
]


@pytest.fixture(autouse=True)
def _no_cache(embedder):
    embedder.set_cache_dir(None)
    yield
    embedder.set_cache_dir(None)


def test_shape_dtype_and_norm(embedder):
    vecs = embedder.encode(TEXTS)
    assert vecs.shape == (len(TEXTS), 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert embedder.encode([]).shape == (0, 384)


def test_matches_sentence_transformers_encode(embedder):
    """The fast path (length-sorted token batches, bf16 where native) stays on the fp32 vectors."""
    assert embedder._fast is not None  # the shipped model takes the fast path
    reference = embedder.st.encode(TEXTS, batch_size=32, normalize_embeddings=True)
    cosine = np.sum(embedder.encode(TEXTS) * reference, axis=1)
    assert cosine.min() > 0.999
    precision = embedder.precision
    try:
        embedder.precision = "fp32"
        cosine = np.sum(embedder.encode(TEXTS) * reference, axis=1)
    finally:
        embedder.precision = precision
    assert cosine.min() > 0.99999


def test_order_and_duplicates(embedder):
    before = embedder.n_encoded
    texts = TEXTS + TEXTS[:2]
    vecs = embedder.encode(texts)
    assert embedder.n_encoded - before == len(TEXTS)  # duplicates embedded once
    np.testing.assert_array_equal(vecs[-2:], vecs[:2])
    single = embedder.encode([TEXTS[3]])
    assert float(single[0] @ vecs[3]) > 0.999  # batch composition barely matters


def test_cache_hit_skips_the_model(embedder, tmp_path):
    embedder.set_cache_dir(tmp_path)
    start = embedder.n_encoded
    first = embedder.encode(TEXTS)
    assert embedder.n_encoded - start == len(TEXTS)
    hits = embedder.n_cache_hits
    again = embedder.encode(list(reversed(TEXTS)) + ["a text not seen before"])
    assert embedder.n_encoded - start == len(TEXTS) + 1  # only the new text ran
    assert embedder.n_cache_hits - hits == len(TEXTS)
    np.testing.assert_array_equal(again[: len(TEXTS)], first[::-1])
    bypass = embedder.encode(TEXTS, use_cache=False)
    assert embedder.n_encoded - start == 2 * len(TEXTS) + 1
    assert np.sum(bypass * first, axis=1).min() > 0.9999


def test_cache_is_per_settings(embedder, tmp_path):
    """Vectors made in one precision are never served for another."""
    embedder.set_cache_dir(tmp_path)
    precision = embedder.precision
    other = "fp32" if precision == "bf16" else "bf16"
    start = embedder.n_encoded
    embedder.encode(TEXTS[:2])
    try:
        embedder.precision = other
        embedder.encode(TEXTS[:2])  # a miss: different space
        assert embedder.n_encoded - start == 4
    finally:
        embedder.precision = precision
    embedder.encode(TEXTS[:2])  # a hit again
    assert embedder.n_encoded - start == 4
    assert f'"precision": "{precision}"' in embedder.space and '"files": "' in embedder.space


def test_unknown_models_are_clear_errors():
    from core.models import ModelNotFoundError
    from rag_baseline.embed import Embedder

    with pytest.raises(ModelNotFoundError, match="shipped"):
        Embedder("shipped:nope")
    with pytest.raises(ModelNotFoundError, match="not found"):
        Embedder("no_such_folder_xyz")


def test_fused_bf16_encoder_matches_fp32_with_padding(embedder):
    """The fused encoder, with an attention mask over padded rows, against the fp32 model."""
    import torch

    from rag_baseline.embed import cpu_has_native_bf16
    from rag_baseline.fastbert import fuse_bert

    tokenizer, fp32_model, _, _ = embedder._fast
    fused = fuse_bert(fp32_model)
    assert fused is not None  # MiniLM has the BERT layout
    if cpu_has_native_bf16():
        assert embedder.backend == "bf16-fused"
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    mask = batch["attention_mask"]
    assert not bool(mask.all())  # rows of different lengths: the mask matters
    with torch.inference_mode():
        ref = fp32_model(input_ids=batch["input_ids"], attention_mask=mask).last_hidden_state
        got = fused(batch["input_ids"], attention_mask=mask).float()
    weights = mask.unsqueeze(-1).float()
    pooled = [(h * weights).sum(1) / weights.sum(1) for h in (ref, got)]
    a, b = (torch.nn.functional.normalize(p, dim=-1) for p in pooled)
    assert float((a * b).sum(-1).min()) > 0.999


def test_gemm_rows_are_padded_to_few_shapes_without_changing_a_row():
    """Zero rows padded on for oneDNN's kernel cache are sliced off: each row's output is the
    unpadded one, and ~90 row counts of exact-length batches fall into a handful of shapes."""
    import torch

    from rag_baseline.fastbert import ROW_STEP, FusedLinear, FusedResidualOutput, _row_bucket

    torch.manual_seed(0)
    dense, norm = torch.nn.Linear(32, 32), torch.nn.LayerNorm(32)
    linear, residual = (
        FusedLinear(torch.nn.Linear(32, 48), act="gelu"),
        FusedResidualOutput(dense, norm),
    )
    for rows in (1, 7, 300, ROW_STEP + 1):
        x = torch.randn(1, rows, 32)
        got = linear(x)
        assert got.shape == (1, rows, 48)
        for i in (0, rows - 1):  # the same row alone: a different (unpadded) shape
            alone = linear(x[:, i : i + 1])
            assert torch.allclose(got[0, i].float(), alone[0, 0].float(), atol=1e-2)
        assert residual(x, x).shape == (1, rows, 32)
    counts = range(16_129, 16_385)  # full batches: 16,384-token budget, lengths under 256
    assert {_row_bucket(n) for n in counts} == {16_384}
    assert all(n <= _row_bucket(n) < n + max(ROW_STEP, n) for n in range(1, 20_000, 37))


def test_fusion_declines_other_architectures():
    import torch

    from rag_baseline.fastbert import fuse_bert

    assert fuse_bert(torch.nn.Linear(4, 4)) is None


LONG = " ".join(TEXTS * 7)  # ~420 tokens: beyond the 256-token window


def test_window_report_counts_texts_beyond_the_window(embedder):
    report = embedder.window_report([*TEXTS, LONG], "chunk")
    assert report["window_tokens"] == embedder.max_seq_length == 256
    assert report["n_texts"] == len(TEXTS) + 1 and report["n_over_window"] == 1
    assert report["longest_tokens"] > 400 and report["long_texts"] == "chunk"
    lengths = embedder.token_lengths(TEXTS)
    enc = embedder.st.tokenizer(TEXTS)["input_ids"]  # with [CLS]/[SEP], untruncated
    assert lengths.tolist() == [len(ids) for ids in enc]


def test_head_truncation_matches_sentence_transformers(embedder):
    """ "head" keeps the first window of tokens, as sentence-transformers' own truncation does."""
    reference = embedder.st.encode([LONG], normalize_embeddings=True)
    head = embedder.encode([LONG], long_texts="head")
    assert float(np.sum(head * reference)) > 0.999


def test_chunking_is_the_weighted_mean_of_chunk_vectors(embedder):
    short = embedder.encode(TEXTS, long_texts="head")
    np.testing.assert_array_equal(embedder.encode(TEXTS, long_texts="chunk"), short)
    chunked = embedder.encode([LONG], long_texts="chunk")[0]
    tokenizer = embedder.st.tokenizer
    ids = tokenizer(LONG, add_special_tokens=False)["input_ids"]
    n = -(-len(ids) // 254)
    size = -(-len(ids) // n)
    parts = [ids[i : i + size] for i in range(0, len(ids), size)]
    assert len(parts) == 2  # two equal chunks, not 254 + a short tail
    vecs = embedder.encode([tokenizer.decode(p) for p in parts], long_texts="head")
    mean = sum(len(p) * v for p, v in zip(parts, vecs))
    mean /= np.linalg.norm(mean)
    assert float(chunked @ mean) > 0.995  # decode/re-tokenise may differ by a token
    assert float(chunked @ embedder.encode([LONG], long_texts="head")[0]) < 0.999


def test_long_text_modes_are_cached_apart(embedder, tmp_path):
    embedder.set_cache_dir(tmp_path)
    head = embedder.encode([LONG], long_texts="head")
    chunk = embedder.encode([LONG], long_texts="chunk")
    assert not np.allclose(head, chunk)
    np.testing.assert_array_equal(embedder.encode([LONG], long_texts="chunk"), chunk)
    with pytest.raises(ValueError, match="long_texts"):
        embedder.encode(["x"], long_texts="tail")
