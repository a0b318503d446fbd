"""Shared fixtures. Model fixtures are session-scoped: loading a model once per run keeps plain
`pytest` fast on 2 CPU cores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Nothing in the tests may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
# A 400-row licensed slice shipped with the tests (see tests/data/README.md): every test that
# runs by default uses it or the demo tickets, so a fresh clone needs nothing beside it.
BANKING77_SLICE = REPO / "tests" / "data" / "banking77"
DEMO_TICKETS = REPO / "core" / "demo" / "support_tickets.csv"
# The full set lives outside the repository; only the `slow` full-set test and bench/ read it.
BANKING77 = REPO.parent / "shared" / "data" / "banking77"


@pytest.fixture(scope="session")
def banking77_slice() -> Path:
    """tests/data/banking77: train.csv (10 intents x 30 rows), test.csv (x 10), text,category."""
    return BANKING77_SLICE


@pytest.fixture(scope="session")
def banking77_dir() -> Path:
    """The full banking77 (10,003 + 3,080 rows): for `slow` tests only, skipped without it."""
    if not (BANKING77 / "train.csv").exists():
        pytest.skip("../shared/data/banking77 is not present on this machine")
    return BANKING77
