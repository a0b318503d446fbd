"""Task adapters: how examples become batches, the loss, and prediction, per task.

Classification: text -> token ids; loss = cross-entropy of the head's logits.
Generation: the model's chat template turns (input, output) into a conversation; the loss covers
the assistant's output tokens only (prompt tokens are labelled -100); prediction is greedy
decoding of the assistant turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from trainer.batching import pad_batch, sorted_chunks

IGNORE = -100


def autocast_ctx(device: str, amp_dtype: torch.dtype | None):
    return torch.autocast(
        device_type="cuda" if device == "cuda" else "cpu",
        dtype=amp_dtype or torch.float32,
        enabled=amp_dtype is not None,
    )


@dataclass
class ClassificationTask:
    tokenizer: object
    texts: list[str]
    labels: list[int]
    max_length: int
    label_smoothing: float = 0.0
    lengths: list[int] = field(default_factory=list)
    ids: list[list[int]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.ids = encode_texts(self.tokenizer, self.texts, self.max_length)
        self.lengths = [len(x) for x in self.ids]

    def batch(self, indices: list[int], device: str) -> dict[str, torch.Tensor]:
        ids, mask = pad_batch([self.ids[i] for i in indices], self.tokenizer.pad_token_id)
        y = torch.tensor([self.labels[i] for i in indices], dtype=torch.long)
        return {"input_ids": ids.to(device), "attention_mask": mask.to(device), "y": y.to(device)}

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = model(batch["input_ids"], batch["attention_mask"])
        return nn.functional.cross_entropy(
            logits.float(), batch["y"], label_smoothing=self.label_smoothing
        )


def encode_texts(tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
    return tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]


@torch.no_grad()  # not inference_mode: the features feed the (autograd) probe fit
def embed_or_score(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    ids: list[list[int]],
    pad_id: int,
    device: str,
    amp_dtype: torch.dtype | None,
    batch_size: int = 128,
    should_stop: Callable[[], bool] = lambda: False,
) -> torch.Tensor:
    """Apply `fn(input_ids, mask) -> (batch, d)` to all sequences, length-sorted; (n, d) float32
    on the CPU in the original order."""
    out: torch.Tensor | None = None
    for chunk in sorted_chunks([len(x) for x in ids], batch_size):
        if should_stop():
            raise InterruptedError("stop requested")
        x, m = pad_batch([ids[i] for i in chunk], pad_id)
        with autocast_ctx(device, amp_dtype):
            y = fn(x.to(device), m.to(device)).float().cpu()
        if out is None:
            out = torch.empty((len(ids), y.shape[1]), dtype=torch.float32)
        out[chunk] = y
    assert out is not None, "no sequences"
    return out


def classify(
    model: nn.Module, tokenizer, texts: Sequence[str], max_length: int, device: str, amp_dtype
) -> torch.Tensor:
    """Logits (n, classes) for `texts`."""
    model.eval()
    ids = encode_texts(tokenizer, texts, max_length)
    return embed_or_score(model, ids, tokenizer.pad_token_id, device, amp_dtype)


# --- generation ------------------------------------------------------------------------------


def _template_ids(tokenizer, messages: list[dict], add_generation_prompt: bool) -> list[int]:
    out = tokenizer.apply_chat_template(
        messages, tokenize=True, add_generation_prompt=add_generation_prompt
    )
    if isinstance(out, dict) or hasattr(out, "keys"):
        out = out["input_ids"]
    return list(out)


def prompt_ids(tokenizer, text: str) -> list[int]:
    """The conversation up to where the assistant starts answering."""
    if getattr(tokenizer, "chat_template", None):
        return _template_ids(tokenizer, [{"role": "user", "content": text}], True)
    return tokenizer(text + "\n")["input_ids"]


def chat_example(tokenizer, text: str, answer: str, max_length: int) -> tuple[list[int], list[int]]:
    """(input ids, labels) with labels = -100 on the prompt: only the answer is learned."""
    prompt = prompt_ids(tokenizer, text)
    if getattr(tokenizer, "chat_template", None):
        messages = [{"role": "user", "content": text}, {"role": "assistant", "content": answer}]
        full = _template_ids(tokenizer, messages, False)
        if full[: len(prompt)] != prompt:  # template renders differently: append the answer
            full = prompt + tokenizer(answer, add_special_tokens=False)["input_ids"]
    else:
        full = prompt + tokenizer(answer, add_special_tokens=False)["input_ids"]
    answer_part = full[len(prompt) :]
    eos = tokenizer.eos_token_id
    if eos is not None:  # learn to stop: end right after the first end-of-turn token
        answer_part = (
            answer_part[: answer_part.index(eos) + 1] if eos in answer_part else [*answer_part, eos]
        )
    keep_prompt = max(max_length - len(answer_part), 1)
    prompt = prompt[-keep_prompt:]  # cut the start of a long prompt, keep the answer
    ids = (prompt + answer_part)[:max_length]
    labels = ([IGNORE] * len(prompt) + answer_part)[:max_length]
    return ids, labels


@dataclass
class GenerationTask:
    tokenizer: object
    texts: list[str]
    answers: list[str]
    max_length: int
    lengths: list[int] = field(default_factory=list)
    examples: list[tuple[list[int], list[int]]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.examples = [
            chat_example(self.tokenizer, t, a, self.max_length)
            for t, a in zip(self.texts, self.answers)
        ]
        self.lengths = [len(ids) for ids, _ in self.examples]

    def batch(self, indices: list[int], device: str) -> dict[str, torch.Tensor]:
        pad = self.tokenizer.pad_token_id
        ids, mask = pad_batch([self.examples[i][0] for i in indices], pad)
        labels, _ = pad_batch([self.examples[i][1] for i in indices], pad, fill=IGNORE)
        labels[mask == 0] = IGNORE
        return {"input_ids": ids.to(device), "attention_mask": mask.to(device), "labels": labels}

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        logits = out.logits[:, :-1].float()
        target = batch["labels"][:, 1:].to(logits.device)
        return nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=IGNORE
        )


@torch.inference_mode()
def generate_answers(
    model: nn.Module,
    tokenizer,
    texts: Sequence[str],
    max_length: int,
    max_new_tokens: int,
    device: str,
    amp_dtype,
    batch_size: int = 16,
) -> list[str]:
    """Greedy answers, batched with left padding, in the order of `texts`."""
    model.eval()
    prompts = [prompt_ids(tokenizer, t)[-max_length:] for t in texts]
    answers = [""] * len(prompts)
    for chunk in sorted_chunks([len(p) for p in prompts], batch_size):
        ids, mask = pad_batch([prompts[i] for i in chunk], tokenizer.pad_token_id, side="left")
        with autocast_ctx(device, amp_dtype):
            out = model.generate(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
        for row, i in enumerate(chunk):
            answers[i] = tokenizer.decode(out[row, ids.shape[1] :], skip_special_tokens=True)
    return [a.strip() for a in answers]
