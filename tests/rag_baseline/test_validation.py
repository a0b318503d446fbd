"""Every data problem of the issue, through `prepare_dataset` and through the CLI (no model loads:
validation happens before any model is touched)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.data import DataError
from core.spec import DataSpec
from core.split import prepare_dataset as _prepare
from rag_baseline.cli import main


def prepare_dataset(train, test=None, **kw):
    """The keyword form the cases use, through the one `DataSpec` entry point."""
    kw["split_dir"] = str(kw["split_dir"])
    return _prepare(DataSpec(str(train), None if test is None else str(test), **kw))


REPO = Path(__file__).resolve().parents[2]


def _csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _classes(n_per: int, labels=("a", "b", "c")) -> list[str]:
    return [f"text number {i} about {c},{c}" for c in labels for i in range(n_per)]


# name -> (build files in tmp_path: returns (train, test|None, extra kwargs), message parts)
def _empty(tmp):
    (tmp / "train.csv").write_bytes(b"")
    return tmp / "train.csv", None, {}


def _header_only(tmp):
    return _csv(tmp / "train.csv", ["text,label"]), None, {}


def _missing_column(tmp):
    return _csv(tmp / "train.csv", ["text,label", *_classes(3)]), None, {"text_col": "body"}


def _misnamed_columns(tmp):
    return _csv(tmp / "train.csv", ["foo,bar,baz", "x,y,z", "u,v,w"]), None, {}


def _not_utf8(tmp):
    path = tmp / "train.csv"
    path.write_bytes("text,label\ncaf\u00e9 au lait,a\n".encode("latin-1"))
    return path, None, {}


def _bad_csv_row(tmp):
    rows = ["text,label", *_classes(3)]
    rows.insert(4, "an unquoted, comma,a")
    return _csv(tmp / "train.csv", rows), None, {}


def _bad_jsonl_line(tmp):
    path = tmp / "train.jsonl"
    good = [json.dumps({"text": f"t{i}", "label": "ab"[i % 2]}) for i in range(6)]
    path.write_text("\n".join(good[:2] + ['{"text": "broken", "label": '] + good[2:]) + "\n")
    return path, None, {}


def _single_class(tmp):
    return _csv(tmp / "train.csv", ["text,label", *_classes(5, labels=("only",))]), None, {}


def _rare_class(tmp):
    return _csv(tmp / "train.csv", ["text,label", *_classes(4), "lonely text,z"]), None, {}


def _unseen_test_label(tmp):
    train = _csv(tmp / "train.csv", ["text,label", *_classes(4)])
    test = _csv(tmp / "test.csv", ["text,label", "fresh text,a", "novel text,zzz"])
    return train, test, {}


def _empty_text(tmp):
    rows = ["text,label", *_classes(3)]
    rows[2] = ",a"
    return _csv(tmp / "train.csv", rows), None, {}


def _too_big(tmp):
    return _csv(tmp / "train.csv", ["text,label", *_classes(40)]), None, {"max_mb": 0.001}


def _unsupported(tmp):
    return _csv(tmp / "train.txt", ["text,label", *_classes(3)]), None, {}


CASES = {
    "empty file": (_empty, ["train.csv", "empty"]),
    "header only": (_header_only, ["train.csv", "no rows"]),
    "missing column": (_missing_column, ["train.csv", "'body'", "'text'", "--text-col"]),
    "misnamed columns": (_misnamed_columns, ["train.csv", "'foo'", "--text-col"]),
    "non-UTF-8": (_not_utf8, ["train.csv", "UTF-8"]),
    "unparsable CSV row": (_bad_csv_row, ["train.csv", "line 5", "quoted"]),
    "unparsable JSONL line": (_bad_jsonl_line, ["train.jsonl", "line 3", "not valid JSON"]),
    "single class": (_single_class, ["train.csv", "'label'", "single class"]),
    "class with < 2 examples": (_rare_class, ["train.csv", "'label'", "'z'", "fewer than 2"]),
    "test label not in training": (_unseen_test_label, ["test.csv", "'label'", "'zzz'"]),
    "empty text": (_empty_text, ["train.csv", "'text'", "row 2 (line 3)"]),
    "file over the size limit": (_too_big, ["train.csv", "limit"]),
    "unsupported file type": (_unsupported, ["train.txt", ".csv"]),
}


def _cli_args(train: Path, test: Path | None, kwargs: dict, split_dir: Path) -> list[str]:
    args = ["--train", str(train), "--split-dir", str(split_dir)]
    if test is not None:
        args += ["--test", str(test)]
    if "text_col" in kwargs:
        args += ["--text-col", kwargs["text_col"]]
    if "max_mb" in kwargs:
        args += ["--max-file-mb", str(kwargs["max_mb"])]
    return args


@pytest.mark.parametrize("case", list(CASES))
def test_prepare_dataset_names_the_problem(case, tmp_path):
    build, parts = CASES[case]
    train, test, kwargs = build(tmp_path)
    with pytest.raises(DataError) as info:
        prepare_dataset(train, test, split_dir=tmp_path / "splits", **kwargs)
    message = str(info.value)
    for part in parts:
        assert part in message, f"{case}: {part!r} not in {message!r}"


@pytest.mark.parametrize("command", ["evaluate", "validate"])
@pytest.mark.parametrize("case", list(CASES))
def test_cli_exits_2_with_one_line(case, command, tmp_path, capsys):
    build, parts = CASES[case]
    train, test, kwargs = build(tmp_path)
    code = main([command, *_cli_args(train, test, kwargs, tmp_path / "splits"), "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    for part in parts:
        assert part in err


@pytest.mark.parametrize("case", ["unparsable CSV row", "class with < 2 examples"])
def test_cli_process_exit_status(case, tmp_path):
    """A real process: status 2, one stderr line, no traceback, nothing on stdout."""
    build, parts = CASES[case]
    train, test, kwargs = build(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "rag_baseline", "evaluate", "--json"]
        + _cli_args(train, test, kwargs, tmp_path / "splits"),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert all(part in proc.stderr for part in parts)


def test_bad_arguments_exit_2(tmp_path, capsys):
    assert main(["evaluate"]) == 2
    assert "--train" in capsys.readouterr().err
    train = _csv(tmp_path / "train.csv", ["text,label", *_classes(3)])
    assert main(["evaluate", "--train", str(train), "--k", "0"]) == 2
    err = capsys.readouterr().err
    assert "k must be an integer >= 1" in err and "Traceback" not in err
    assert main(["evaluate", "--train", str(train), "--task", "regression"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_overlong_texts_truncated_with_warning(tmp_path, capsys):
    rows = ["text,label", *_classes(4)]
    rows[3] = "x" * 50 + ",a"
    train = _csv(tmp_path / "train.csv", rows)
    ds = prepare_dataset(train, split_dir=tmp_path / "splits", max_chars=20)
    assert all(len(t) <= 20 for t in ds.train_texts + ds.test_texts)
    assert any("truncated" in w and "row 3 (line 4)" in w for w in ds.warnings)
    code = main(["validate", "--train", str(train), "--max-chars", "20"])
    out = capsys.readouterr().out
    assert code == 0 and "truncated" in out


def test_leakage_listed_and_dropped(tmp_path, capsys):
    train = _csv(tmp_path / "train.csv", ["text,label", *_classes(4)])
    test = _csv(
        tmp_path / "test.csv",
        ["text,label", "text number 1 about a,a", "something new,b", "TEXT NUMBER 2 ABOUT C,c"],
    )
    kept = prepare_dataset(train, test, split_dir=tmp_path / "splits")
    assert kept.leakage == ["t0", "t2"]
    assert kept.test_ids == ["t0", "t1", "t2"]
    assert any("leakage: 2" in w and "t0, t2" in w for w in kept.warnings)
    dropped = prepare_dataset(train, test, split_dir=tmp_path / "splits", drop_leakage=True)
    assert dropped.test_ids == ["t1"] and dropped.leakage == ["t0", "t2"]
    code = main(["validate", "--train", str(train), "--test", str(test), "--drop-leakage",
                 "--split-dir", str(tmp_path / "splits"), "--json"])  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["n_test"] == 1 and summary["leakage"] == ["t0", "t2"]


def test_split_reused_byte_for_byte(tmp_path):
    train = _csv(tmp_path / "train.csv", ["text,label", *_classes(10)])
    first = prepare_dataset(train, split_dir=tmp_path / "splits")
    saved = Path(first.split_path).read_bytes()
    second = prepare_dataset(train, split_dir=tmp_path / "splits")
    assert second.split_path == first.split_path
    assert Path(second.split_path).read_bytes() == saved
    assert (second.train_ids, second.test_ids) == (first.train_ids, first.test_ids)
    assert len(set(first.test_labels)) == 3  # stratified: every class held out


def test_changed_data_never_reuses_a_stale_split(tmp_path):
    train = _csv(tmp_path / "train.csv", ["text,label", *_classes(10)])
    first = prepare_dataset(train, split_dir=tmp_path / "splits")
    _csv(train, ["text,label", *_classes(10), "one more row about a,a"])
    changed = prepare_dataset(train, split_dir=tmp_path / "splits")
    assert changed.split_id != first.split_id
    # A split file that no longer matches its key (edited, or made by another split algorithm)
    # is an error, not silently replaced.
    record = json.loads(Path(changed.split_path).read_text())
    record["test_ids"] = record["test_ids"][1:]
    Path(changed.split_path).write_text(json.dumps(record))
    with pytest.raises(DataError, match="no longer matches"):
        prepare_dataset(train, split_dir=tmp_path / "splits")
