"""The single homes of issue 17's rules (items 4-6): what a model folder may hold
(`core.models`), the label-count bound (`core.budget.check_labels`) and how the task is inferred
(`core.data.infer_task`). The CLIs are tested end to end in tests/trainer and tests/rag_baseline."""

from __future__ import annotations

import json

import pytest

from core.budget import LIBLINEAR_MAX_CELLS, check_labels, tfidf_features
from core.data import identifier_like, infer_task, inference_note
from core.models import UnsafeModelError, check_model_folder, shipped_minilm_path


def test_the_shipped_model_folder_passes():
    check_model_folder(shipped_minilm_path())


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("pytorch_model.bin", b"\x80\x04pickle", "pickle"),
        ("sub/optimizer.pt", b"\x80\x04pickle", "pickle"),
        ("modeling_evil.py", b"import os", "code"),
        ("config.json", json.dumps({"auto_map": {"AutoModel": "m.M"}}).encode(), "auto_map"),
        ("config.json", b"{not json", "auto_map"),
    ],
)
def test_a_pickle_code_or_custom_config_is_refused_in_one_line(tmp_path, name, content, says):
    path = tmp_path / "model" / name
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(UnsafeModelError) as err:
        check_model_folder(tmp_path / "model", "embedder")
    message = str(err.value)
    assert "\n" not in message and says in message and path.name in message
    assert message.startswith("embedder: ")


def test_links_are_judged_by_name_and_never_walked(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.py").write_text("import os")
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").symlink_to(tmp_path / "blob")  # a hub snapshot is all links
    (model / "linked_dir").symlink_to(outside, target_is_directory=True)
    check_model_folder(model)  # the linked folder's code is not part of the model folder
    (model / "pytorch_model.bin").symlink_to(tmp_path / "blob2")
    with pytest.raises(UnsafeModelError, match="pytorch_model.bin"):
        check_model_folder(model)


def test_identifier_labels_are_classes_however_few_rows_each():
    intents = [f"card_arrival_{i}" for i in range(77)]
    assert identifier_like(intents) and infer_task(intents) == "classification"
    answers = [f"the card arrives in {i} days" for i in range(77)]
    assert not identifier_like(answers) and infer_task(answers) == "generation"
    note = inference_note("classification", intents, "intent")
    assert "identifier-like" in note and "--task generation" in note and "\n" not in note


def test_label_bounds():
    check_labels(77, 10_003, 3_080, 12.0, limit_gb=8.0)  # banking77 fits with room
    with pytest.raises(ValueError, match="held-out rows"):
        check_labels(500, 10_000, 400, 12.0, limit_gb=8.0)
    n = 150_000
    assert 50_000 * tfidf_features(n, 8.0) > LIBLINEAR_MAX_CELLS
    with pytest.raises(ValueError, match="liblinear"):
        check_labels(50_000, n, 50_000, 8.0, limit_gb=1000.0)
    with pytest.raises(ValueError, match="GB limit"):
        check_labels(50_000, n, 50_000, 8.0, tfidf=False, limit_gb=8.0)
