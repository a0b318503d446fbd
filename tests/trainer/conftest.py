"""Fixtures for the trainer tests: a tiny real slice of banking77 (shipped in tests/data)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

N_CLASSES = 4
DEMO = Path(__file__).resolve().parents[2] / "core" / "demo" / "support_tickets.csv"


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


@pytest.fixture(scope="session")
def demo_session(tmp_path_factory):
    """A real session (shipped MiniLM, LoRA, bf16, one thread) on the demo tickets, 8 steps."""
    import torch

    from trainer.config import TrainConfig
    from trainer.distributed import Dist
    from trainer.session import build_session, load_data

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("demo")
    cfg = TrainConfig(
        train=str(DEMO),
        text_col="text",
        label_col="category",
        runs_dir=str(out / "runs"),
        split_dir=str(out / "splits"),
        max_steps=8,
        threads=1,
    )
    data = load_data(cfg)
    return cfg, data, build_session(cfg, data, "cpu", "bf16", Dist())
