"""Generation baselines: retrieval-augmented few-shot prompting of a small causal LM, and the plain
nearest-neighbour answer (copy the output of the most similar training input).

The shipped SmolLM2-135M-Instruct comes as a Q4_1 GGUF; transformers dequantises it to float32 on
load (`gguf_file=`). Any causal LM id, folder or `.gguf` file works via `--generator`. Prompts use
the model's chat template with the retrieved examples as earlier user/assistant turns; decoding is
greedy, in length-sorted batches with left padding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core.models import (
    DEFAULT_GENERATOR,
    ModelNotFoundError,
    resolve_local_or_hub,
    shipped_smollm2_gguf,
)

Progress = Callable[[float, str], None]

SYSTEM_PROMPT = (
    "You complete tasks by following the examples exactly. Reply with the output only, in the "
    "same format and style as the example outputs, with no explanation."
)
PROMPT_TOKEN_BUDGET = 1536  # drop the farthest examples until the prompt fits
MAX_NEW_TOKENS_CAP = 128
BATCH_SIZE = 8


def max_new_tokens_for(outputs: Sequence[str], tokenizer, cap: int = MAX_NEW_TOKENS_CAP) -> int:
    """1.5 x the 95th-percentile token length of the training outputs, plus 4, capped."""
    sample = list(outputs)[:2000]
    lengths = [len(ids) for ids in tokenizer(sample, add_special_tokens=False)["input_ids"]]
    p95 = float(np.percentile(lengths, 95)) if lengths else 16.0
    return int(min(cap, max(4, round(1.5 * p95) + 4)))


def _locate(name: str) -> tuple[str, str | None]:
    """(folder or hub id, gguf file name or None)."""
    if name == DEFAULT_GENERATOR:
        folder, file = shipped_smollm2_gguf()
        return str(folder), file
    if name.startswith("shipped:"):
        raise ModelNotFoundError(
            f"unknown shipped generator '{name}'; the shipped one is '{DEFAULT_GENERATOR}'."
        )
    path = Path(name).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return str(path.parent), path.name
    return resolve_local_or_hub(name), None


class Generator:
    """A causal LM with its tokenizer, ready for batched greedy few-shot generation."""

    def __init__(self, model: str = DEFAULT_GENERATOR, device: str = "cpu"):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_id = model
        target, gguf = _locate(model)
        # Safetensors only (or the GGUF): a hub repo's pickle `.bin` is never unpickled, and a
        # local folder holding one was already refused by core.models.
        kwargs = {"gguf_file": gguf} if gguf else {"use_safetensors": True}
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                target, trust_remote_code=False, **({"gguf_file": gguf} if gguf else {})
            )
            self.model = AutoModelForCausalLM.from_pretrained(
                target, dtype=torch.float32, trust_remote_code=False, **kwargs
            ).to(device)
        except OSError as exc:
            raise ModelNotFoundError(f"cannot load generator '{model}': {exc}") from None
        self.model.eval()
        self.device = device
        self.tokenizer.padding_side = "left"  # generation continues from the right edge
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._torch = torch

    def prompt(self, query: str, examples: Sequence[tuple[str, str]]) -> str:
        """Chat-formatted prompt with `examples` (nearest first) as earlier turns."""
        examples = list(examples)
        while True:
            text = self._render(query, examples)
            if not examples or len(self.tokenizer(text)["input_ids"]) <= PROMPT_TOKEN_BUDGET:
                return text
            examples.pop()  # drop the farthest example

    def _render(self, query: str, examples: Sequence[tuple[str, str]]) -> str:
        if not getattr(self.tokenizer, "chat_template", None):
            shots = "".join(f"Input: {x}\nOutput: {y}\n\n" for x, y in reversed(examples))
            return f"{SYSTEM_PROMPT}\n\n{shots}Input: {query}\nOutput:"
        messages = [{"role": "system", "content": SYSTEM_PROMPT}]
        for x, y in reversed(examples):  # nearest example right before the query
            messages += [{"role": "user", "content": x}, {"role": "assistant", "content": y}]
        messages.append({"role": "user", "content": query})
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )

    def generate(
        self,
        prompts: Sequence[str],
        max_new_tokens: int,
        batch_size: int = BATCH_SIZE,
        single_line: bool = False,
        progress: Progress | None = None,
    ) -> list[str]:
        """Greedy completions, in the order of `prompts`."""
        torch = self._torch
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        out = [""] * len(prompts)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = self.tokenizer(
                [prompts[i] for i in idx],
                return_tensors="pt",
                padding=True,
                add_special_tokens=False,
            ).to(self.device)
            with torch.inference_mode():
                tokens = self.model.generate(
                    input_ids=batch["input_ids"],  # not token_type_ids: BERT-style tokenizers
                    attention_mask=batch["attention_mask"],  # add them, causal LMs reject them
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new = tokens[:, batch["input_ids"].shape[1] :]
            for i, text in zip(idx, self.tokenizer.batch_decode(new, skip_special_tokens=True)):
                text = text.strip()
                out[i] = text.split("\n", 1)[0].strip() if single_line else text
            if progress:
                done = min(start + batch_size, len(order))
                progress(done / len(order), f"generated {done}/{len(order)} answers")
        return out


def nearest_answers(neighbour_ids: np.ndarray, train_outputs: Sequence[str]) -> list[str]:
    """Output of the single nearest training example per query; ids shape (q, >=1)."""
    return [train_outputs[int(row[0])] for row in neighbour_ids]


def rag_prompts(
    generator: Generator,
    queries: Sequence[str],
    neighbour_ids: np.ndarray,
    train_inputs: Sequence[str],
    train_outputs: Sequence[str],
    k: int,
) -> list[str]:
    """One few-shot prompt per query from its k nearest training examples (ids (q, >=k))."""
    prompts = []
    for query, row in zip(queries, neighbour_ids):
        shots = [(train_inputs[int(j)], train_outputs[int(j)]) for j in row[:k] if j >= 0]
        prompts.append(generator.prompt(query, shots))
    return prompts
