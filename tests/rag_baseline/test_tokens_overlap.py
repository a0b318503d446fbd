"""Tokenising once (`rag_baseline.tokens`) and two jobs side by side (`rag_baseline.overlap`)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from rag_baseline.overlap import map_side_by_side, side_by_side, thread_share
from rag_baseline.tokens import pieces, special_ids, token_ids, window_report

TEXTS = [
    "I am still waiting on my card?",
    "Héllo — what's the FX rate for ¥ today?",
    "",
    "   spaces   around   ",
    "ok",
]


def test_the_rust_fast_path_gives_the_ids_of_the_tokenizer_call(embedder):
    tokenizer = embedder.st.tokenizer
    assert tokenizer.backend_tokenizer.truncation is None  # so the fast path is taken
    slow = tokenizer(TEXTS, add_special_tokens=False)["input_ids"]
    assert token_ids(tokenizer, TEXTS) == slow
    assert (
        token_ids(tokenizer, TEXTS, lower=True)
        == tokenizer([t.lower() for t in TEXTS], add_special_tokens=False)["input_ids"]
    )


def test_truncating_tokenizers_take_the_plain_call(embedder):
    tokenizer = embedder.st.tokenizer
    backend = tokenizer.backend_tokenizer
    backend.enable_truncation(max_length=4)
    try:
        ids = token_ids(tokenizer, [" ".join(["word"] * 20)])
    finally:
        backend.no_truncation()
    assert len(ids[0]) == 20  # the call passes truncation=False, whatever the backend says


def test_window_report_and_chunked_pieces(embedder):
    head, tail = special_ids(embedder.st.tokenizer)
    ids = [list(range(10)), list(range(25))]
    lengths = np.array([len(i) + len(head) + len(tail) for i in ids])
    report = window_report(lengths, 12, "chunk")
    assert report["n_over_window"] == 1 and report["longest_tokens"] == 27
    chunked, owner = pieces(ids, head, tail, 12, "chunk")
    assert owner.tolist() == [0, 1, 1, 1]  # 25 tokens in a 10-token window: 3 equal chunks
    assert [len(p) for p in chunked] == [12, 11, 11, 9]
    assert sum((p[len(head) : len(p) - len(tail)] for p in chunked[1:]), []) == ids[1]
    cut, owner = pieces(ids, head, tail, 12, "head")
    assert owner.tolist() == [0, 1] and cut[1] == head + ids[1][:10] + tail


def test_side_by_side_runs_both_at_once_and_restores_threads():
    import torch

    start = torch.get_num_threads()
    both = threading.Barrier(2, timeout=10)  # only passes when the two jobs overlap

    def job(name: str):
        both.wait()
        return name, torch.get_num_threads()

    (b_name, b_threads), (f_name, f_threads) = side_by_side(lambda: job("b"), lambda: job("f"))
    assert (b_name, f_name) == ("b", "f")
    assert b_threads == f_threads == max(1, start // 2)
    assert torch.get_num_threads() == start


def test_side_by_side_raises_the_background_error_after_both_stop():
    finished = []

    def slow_front():
        time.sleep(0.2)
        finished.append("front")
        return 1

    with pytest.raises(ZeroDivisionError):
        side_by_side(lambda: 1 / 0, slow_front)
    assert finished == ["front"]


def test_map_side_by_side_keeps_the_order():
    def square(x: int) -> int:
        time.sleep(0.01 * (5 - x))  # later items finish first
        return x * x

    assert map_side_by_side(square, [1, 2, 3, 4]) == [1, 4, 9, 16]
    with thread_share(1):
        assert map_side_by_side(square, [3]) == [9]
