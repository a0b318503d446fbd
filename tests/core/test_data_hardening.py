"""Inputs that used to crash or mislead (issue 11 item 6): each gives one clear line or a
warning that names the column, never a traceback or a silent change."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from core.data import DataError, clean_columns, load_table
from core.spec import DataSpec
from core.split import prepare_dataset


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_repeated_column_after_trimming_is_one_line(tmp_path):
    f = _write(tmp_path / "a.csv", "text, text,category\nx,y,z\n")
    with pytest.raises(DataError, match=r"names column 'text' twice \(columns 1 and 2"):
        load_table(f)


def test_deeply_nested_jsonl_line_is_refused(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    f = _write(tmp_path / "b.jsonl", '{"text": "ok", "label": "a"}\n{"text": ' + deep + "}\n")
    with pytest.raises(DataError, match="line 2 nests objects or lists too deeply"):
        load_table(f)


@pytest.mark.parametrize(("sep", "word"), [(";", "semicolon"), ("\t", "tab")])
def test_other_separator_in_a_csv_is_detected(tmp_path, sep, word):
    rows = "".join(f"hello, world {i}{sep}{'a' if i % 2 else 'b'}\n" for i in range(20))
    f = _write(tmp_path / "c.csv", f"text{sep}label\n{rows}")
    table = load_table(f)
    assert list(table.frame.columns) == ["text", "label"]
    assert table.frame["text"][0] == "hello, world 0"
    assert any(f"separated by {word}s" in w for w in table.warnings)
    data = prepare_dataset(DataSpec(str(f), split_dir=str(tmp_path / "s")))
    assert any(f"separated by {word}s" in w for w in data.warnings)


def test_broken_semicolon_file_names_the_separator_not_just_quoting(tmp_path):
    f = _write(tmp_path / "k.csv", 'text;label\n"a;b";x\n"unterminated;y\n')
    with pytest.raises(DataError, match="cannot parse the file as semicolon-separated"):
        load_table(f)


def test_labels_differing_by_spaces_merge_with_a_warning(tmp_path):
    labels = [" 1", "1", "2"] * 10
    body = "".join(f"t{i},{y}\n" for i, y in enumerate(labels))
    table = load_table(_write(tmp_path / "e.csv", "text,label\n" + body))
    _, cleaned, warnings = clean_columns(table, "text", "label")
    assert set(cleaned) == {"1", "2"}
    assert len(warnings) == 1 and "' 1' and '1' -> '1'" in warnings[0]


def test_nested_jsonl_values_warn_by_column_and_refuse_for_the_label(tmp_path):
    rows = [{"text": f"t {i}", "label": "ab"[i % 2], "meta": {"x": i}} for i in range(20)]
    f = _write(tmp_path / "f.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    _, _, warnings = clean_columns(load_table(f), "text", "label")
    assert any("'meta' hold nested values" in w for w in warnings)
    rows = [{"text": f"t {i}", "label": {"x": i}} for i in range(20)]
    g = _write(tmp_path / "g.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match="column 'label' holds nested values"):
        clean_columns(load_table(g), "text", "label")


def test_nested_parquet_values_are_not_stringified_silently(tmp_path):
    frame = pd.DataFrame(
        {"text": [f"t{i}" for i in range(10)], "label": ["a", "b"] * 5, "tags": [[1, 2]] * 10}
    )
    frame.to_parquet(tmp_path / "j.parquet")
    table = load_table(tmp_path / "j.parquet")
    assert list(table.nested) == ["tags"]
    with pytest.raises(DataError, match="column 'tags' holds nested values"):
        clean_columns(table, "tags", "label")


def test_ten_thousand_classes_two_examples_each_is_refused(tmp_path):
    body = "".join(f"text {i},c{i // 2}\n" for i in range(20_000))
    f = _write(tmp_path / "h.csv", "text,label\n" + body)
    for task in (None, "classification"):
        spec = DataSpec(str(f), split_dir=str(tmp_path / "s"), task=task)
        with pytest.raises(DataError, match="too many classes for the data.*10,000 classes"):
            prepare_dataset(spec)


def test_one_example_per_class_is_not_silently_generation(tmp_path):
    body = "".join(f"text {i},class {i}\n" for i in range(40))
    f = _write(tmp_path / "i.csv", "text,label\n" + body)
    data = prepare_dataset(DataSpec(str(f), split_dir=str(tmp_path / "s")))
    assert data.task == "generation"
    assert any("read as a generation task" in w and "2 examples" in w for w in data.warnings)
    spec = DataSpec(str(f), split_dir=str(tmp_path / "s"), task="classification")
    with pytest.raises(DataError, match="fewer than 2 examples"):
        prepare_dataset(spec)


def test_large_csv_is_read_from_the_file(tmp_path):
    """Above the head size the CSV is parsed from disk; the result is the same."""
    body = "".join(f"some text number {i},{'ab'[i % 2]}\n" for i in range(20_000))
    f = _write(tmp_path / "big.csv", "text,label\n" + body)
    table = load_table(f)
    assert len(table.frame) == 20_000 and table.frame["text"][19_999] == "some text number 19999"
