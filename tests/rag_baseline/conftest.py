"""Fixtures for the RAG baseline tests: one embedder per session, small real data on disk."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

# 8 intents x (24 train + 6 test) rows, used only where ../shared/data/banking77 is absent.
_FALLBACK = {
    "card_arrival": [
        "Where is my new card?",
        "My card has not arrived yet",
        "When will my card come",
    ],
    "exchange_rate": [
        "What exchange rate do you use?",
        "Is the currency rate fair",
        "FX rate today",
    ],
    "lost_or_stolen_card": ["I lost my card", "Someone stole my card", "My card is missing"],
    "pin_blocked": ["My PIN is blocked", "I entered the wrong PIN too often", "Unblock my PIN"],
    "top_up_failed": ["My top up failed", "The top-up did not go through", "Top up was declined"],
    "transfer_timing": [
        "How long does a transfer take?",
        "When will my transfer arrive",
        "Slow transfer",
    ],
    "balance_not_updated": [
        "My balance did not update",
        "Balance still old after deposit",
        "Balance wrong",
    ],
    "card_payment_fee_charged": [
        "Why was I charged a fee for paying by card",
        "Card payment fee",
        "Fee on purchase",
    ],
}
_PREFIXES = [
    "",
    "Hi, ",
    "Hello! ",
    "Please help: ",
    "Quick question, ",
    "Urgent: ",
    "Hey, ",
    "Help - ",
    "Good morning. ",
    "Sorry to bother you, ",
]


def _fallback_rows() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    train, test = [], []
    for label, phrases in _FALLBACK.items():
        rows = [(p + s, label) for p in _PREFIXES for s in phrases]  # 30 per class
        train += rows[:24]
        test += rows[24:]
    return train, test


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "category"])
        writer.writerows(rows)
    return path


def _banking_subset(src: Path, n_classes: int, per_class: int) -> list[tuple[str, str]]:
    with src.open(encoding="utf-8") as fh:
        rows = [(r["text"], r["category"]) for r in csv.DictReader(fh)]
    classes = sorted({c for _, c in rows})[:n_classes]
    out = []
    for c in classes:
        out += [r for r in rows if r[1] == c][:per_class]
    return out


@pytest.fixture(scope="session")
def small_data(request, tmp_path_factory) -> dict[str, Path]:
    """{"train", "test"} CSVs (text, category): 10 banking77 intents, 30 train / 10 test each.

    Falls back to a tiny hand-written set of 8 intents when banking77 is absent.
    """
    folder = tmp_path_factory.mktemp("small_data")
    try:
        b77 = request.getfixturevalue("banking77_dir")
    except pytest.skip.Exception:
        train, test = _fallback_rows()
    else:
        train = _banking_subset(b77 / "train.csv", 10, 30)
        test = _banking_subset(b77 / "test.csv", 10, 10)
    return {"train": _write(folder / "train.csv", train), "test": _write(folder / "test.csv", test)}


@pytest.fixture(scope="session")
def embedder():
    """The shipped MiniLM, loaded once; tests set its cache folder as they need."""
    from rag_baseline.embed import Embedder

    return Embedder()
