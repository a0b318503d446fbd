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
BANKING77 = REPO.parent / "shared" / "data" / "banking77"


@pytest.fixture(scope="session")
def banking77_dir() -> Path:
    if not (BANKING77 / "train.csv").exists():
        pytest.skip("../shared/data/banking77 is not present on this machine")
    return BANKING77
