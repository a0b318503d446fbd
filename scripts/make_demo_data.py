"""Generate the built-in demo data set: support tickets of a B2B software company, routed to queues.

Run from the repository root (deterministic: the same seed always writes the same file):

    .venv/bin/python scripts/make_demo_data.py      # -> core/demo/support_tickets.csv
    .venv/bin/python scripts/make_demo_data.py --seed 7 --rows 2000 --out /tmp/tickets.csv

The task is deliberately not trivially separable, like real ticket routing: queues overlap
(a refund after a cancellation, a login problem in the mobile app, a slow export), some tickets
mention two issues, and about 8% of labels are what a busy agent picked rather than the best queue.
A kNN on MiniLM embeddings lands around 0.8 accuracy, not 1.0, so a comparison means something.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_phrases import AMBIGUOUS, CLOSERS, CONFUSABLE, CONTEXTS, ISSUES, OPENERS, SLOTS, WEIGHTS

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "core" / "demo" / "support_tickets.csv"
CHANNELS = ("email", "chat", "web_form")
NOISE_RATE = 0.08  # share of labels an agent filed under a neighbouring queue
AMBIGUOUS_RATE = 0.14  # share of tickets drawn from phrases that fit two queues


def _fill(template: str, rng: random.Random) -> str:
    """Replace each {slot} with a random filler; shapes the wording without changing the queue."""
    out = template
    for name, options in SLOTS.items():
        while "{" + name + "}" in out:
            out = out.replace("{" + name + "}", rng.choice(options), 1)
    return out


def _chat_style(text: str, rng: random.Random) -> str:
    """Chat messages: lower case, fewer full stops, the odd typo."""
    if rng.random() < 0.6:
        text = re.sub(r"\.(\s|$)", r"\1", text.lower())  # sentence stops only, not "$129.00"
    if rng.random() < 0.3 and len(text) > 20:
        i = rng.randrange(1, len(text) - 2)
        text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]  # swapped letters
    return text


def _compose(issue: str, channel: str, rng: random.Random) -> str:
    """One ticket: optional opener and context, the issue, optional closer."""
    parts = []
    if channel != "chat" and rng.random() < 0.55:
        parts.append(rng.choice(OPENERS))
    if rng.random() < 0.35:
        parts.append(_fill(rng.choice(CONTEXTS), rng))
    parts.append(_fill(issue, rng))
    if channel != "chat" and rng.random() < 0.5:
        parts.append(rng.choice(CLOSERS))
    text = " ".join(p for p in parts if p)
    return _chat_style(text, rng) if channel == "chat" else text


def _label(true_queue: str, rng: random.Random) -> str:
    if rng.random() < NOISE_RATE and CONFUSABLE.get(true_queue):
        return rng.choice(CONFUSABLE[true_queue])
    return true_queue


def _one_ticket(queues: list[str], weights: list[float], rng: random.Random) -> tuple[str, str]:
    """(text, queue) for one ticket."""
    if rng.random() < AMBIGUOUS_RATE:
        phrase, choices = rng.choice(AMBIGUOUS)
        queue = rng.choices([q for q, _ in choices], [w for _, w in choices])[0]
        issue = phrase
    else:
        queue = rng.choices(queues, weights)[0]
        issue = rng.choice(ISSUES[queue])
    channel = rng.choice(CHANNELS)
    return _compose(issue, channel, rng), channel, _label(queue, rng)


def make_rows(n_rows: int, seed: int) -> list[dict[str, str]]:
    """`n_rows` distinct tickets (no exact duplicate texts, so no train/test leakage)."""
    rng = random.Random(seed)
    queues = sorted(ISSUES)
    weights = [WEIGHTS[q] for q in queues]
    rows, seen = [], set()
    attempts = 0
    while len(rows) < n_rows:
        attempts += 1
        if attempts > n_rows * 50:
            raise RuntimeError("phrase bank too small for that many distinct tickets")
        text, channel, queue = _one_ticket(queues, weights, rng)
        if text.casefold() in seen:
            continue
        seen.add(text.casefold())
        rows.append(
            {
                "ticket_id": f"T{10000 + len(rows)}",
                "channel": channel,
                "text": text,
                "category": queue,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.rows < 100:
        print("--rows must be at least 100", file=sys.stderr)
        return 2
    rows = make_rows(args.rows, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["ticket_id", "channel", "text", "category"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} tickets to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
