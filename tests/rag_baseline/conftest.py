"""Fixtures for the RAG baseline tests: one embedder per session, small real data on disk."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_data(banking77_slice: Path) -> dict[str, Path]:
    """{"train", "test"} CSVs (text, category): 10 banking77 intents, 30 train / 10 test each.

    The slice ships in tests/data/banking77 (CC BY 4.0, see its README), so these tests run the
    same on a fresh clone as on a machine with the full set.
    """
    return {"train": banking77_slice / "train.csv", "test": banking77_slice / "test.csv"}


@pytest.fixture(scope="session")
def embedder():
    """The shipped MiniLM, loaded once; tests set its cache folder as they need."""
    from rag_baseline.embed import Embedder

    return Embedder()
