"""One split id for the same data from every entry point: the RAG baseline's EvalConfig, the
trainer's TrainConfig and the DataSpec the app builds (ui/data_source.validate)."""

from __future__ import annotations

import pytest

from core.spec import DataSpec
from core.split import prepare_dataset
from rag_baseline.config import EvalConfig
from trainer.config import TrainConfig


@pytest.mark.parametrize("with_test_file", [True, False])
def test_the_same_data_gives_the_same_split_id_everywhere(small_data, tmp_path, with_test_file):
    train = str(small_data["train"])
    test = str(small_data["test"]) if with_test_file else None
    split_dir = str(tmp_path / "splits")
    baseline = EvalConfig(train=train, test=test, split_dir=split_dir).data_spec()
    trainer = TrainConfig(train=train, test=test, split_dir=split_dir).data_spec()
    app = DataSpec(  # as ui/data_source.validate builds it from the page's choices
        train=train, test=test, text_col=None, label_col=None, task=None, split_dir=split_dir
    )
    assert baseline == trainer == app
    ids = {prepare_dataset(spec).split_id for spec in (baseline, trainer, app)}
    assert len(ids) == 1
    assert len(list((tmp_path / "splits").glob("split-*.json"))) == 1  # one saved split


def test_settings_that_change_the_split_change_its_id(small_data, tmp_path):
    base = {"train": str(small_data["train"]), "split_dir": str(tmp_path / "splits")}
    first = prepare_dataset(EvalConfig(**base).data_spec()).split_id
    assert prepare_dataset(TrainConfig(**base, max_chars=100).data_spec()).split_id != first
    assert prepare_dataset(EvalConfig(**base, seed=1).data_spec()).split_id != first
