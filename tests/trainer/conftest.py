"""Fixtures for the trainer tests: a tiny real slice of banking77 (shipped in tests/data)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

N_CLASSES = 4


@pytest.fixture(scope="session")
def tiny_data(banking77_slice: Path, tmp_path_factory) -> dict[str, Path]:
    """4 classes of banking77: 30 training and 10 test rows each (real text, real labels)."""
    out = tmp_path_factory.mktemp("tiny")
    train = pd.read_csv(banking77_slice / "train.csv")
    test = pd.read_csv(banking77_slice / "test.csv")
    classes = sorted(train["category"].unique())[:N_CLASSES]
    train[train["category"].isin(classes)].groupby("category").head(30).to_csv(
        out / "train.csv", index=False
    )
    test[test["category"].isin(classes)].groupby("category").head(10).to_csv(
        out / "test.csv", index=False
    )
    pd.DataFrame({"text": ["my card has not arrived yet", "how old must I be?"]}).to_csv(
        out / "new.csv", index=False
    )
    return {"train": out / "train.csv", "test": out / "test.csv", "new": out / "new.csv"}
