"""Task adapters with the real shipped tokenizers: the loss covers the answer tokens only, and
batches are dynamically padded."""

from __future__ import annotations

import pytest

from trainer.config import SHIPPED_ENCODER, SHIPPED_GENERATOR
from trainer.model import load_tokenizer, resolve_source
from trainer.tasks import IGNORE, ClassificationTask, GenerationTask, chat_example, prompt_ids


@pytest.fixture(scope="session")
def smol_tokenizer():
    return load_tokenizer(resolve_source(SHIPPED_GENERATOR))


@pytest.fixture(scope="session")
def minilm_tokenizer():
    return load_tokenizer(resolve_source(SHIPPED_ENCODER))


def test_chat_example_learns_only_the_answer_and_one_end_token(smol_tokenizer):
    tok = smol_tokenizer
    ids, labels = chat_example(tok, "Where is my card?", "card arrival", 128)
    assert len(ids) == len(labels)
    learned = [i for i, y in zip(ids, labels) if y != IGNORE]
    assert tok.decode(learned) == "card arrival" + tok.eos_token
    assert learned.count(tok.eos_token_id) == 1
    prompt = prompt_ids(tok, "Where is my card?")
    assert ids[: len(prompt)] == prompt and all(y == IGNORE for y in labels[: len(prompt)])
    assert "Where is my card?" in tok.decode(ids) and "assistant" in tok.decode(prompt)


def test_long_prompt_is_cut_from_the_start_keeping_the_answer(smol_tokenizer):
    tok = smol_tokenizer
    ids, labels = chat_example(tok, "blah " * 200, "card arrival", 32)
    assert len(ids) == 32
    learned = [i for i, y in zip(ids, labels) if y != IGNORE]
    assert tok.decode(learned) == "card arrival" + tok.eos_token


def test_generation_batch_masks_padding(smol_tokenizer):
    task = GenerationTask(smol_tokenizer, ["hi", "a much longer question here"], ["a", "b"], 64)
    batch = task.batch([0, 1], "cpu")
    ids, mask, labels = batch["input_ids"], batch["attention_mask"], batch["labels"]
    assert ids.shape == labels.shape == mask.shape and ids.shape[1] == max(task.lengths)
    assert bool((labels[mask == 0] == IGNORE).all())
    assert int((labels != IGNORE).sum()) == 4  # "a"/"b" + end token, each


def test_classification_batch_is_dynamically_padded(minilm_tokenizer):
    task = ClassificationTask(minilm_tokenizer, ["short", "a somewhat longer text"], [0, 1], 64)
    batch = task.batch([0, 1], "cpu")
    assert batch["input_ids"].shape == (2, max(task.lengths)) and batch["y"].tolist() == [0, 1]
    assert batch["attention_mask"].sum(1).tolist() == task.lengths
