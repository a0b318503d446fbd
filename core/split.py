"""The held-out split, made once and reused byte for byte by the baseline, trainer and comparison.

A split is either the user's own test file or a stratified split of the training file made here
with a fixed seed. Either way it is saved as `split-<split_id>.json` (row ids + a content hash of
each side) so that every later step scores exactly the same items, and a changed file is caught.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.data import (
    DataError,
    Table,
    Task,
    clean_columns,
    infer_task,
    inference_note,
    load_table,
    resolve_columns,
)
from core.spec import DataSpec


@dataclass
class Dataset:
    """Validated train/test examples.

    Ids are 'r<row>' for rows of the training file and 't<row>' for rows of a separate test file
    (0-based data rows), so they stay stable across runs.
    """

    task: Task
    text_col: str
    label_col: str
    train_texts: list[str]
    train_labels: list[str]
    train_ids: list[str]
    test_texts: list[str]
    test_labels: list[str]
    test_ids: list[str]
    split_id: str
    split_path: str
    warnings: list[str] = field(default_factory=list)
    leakage: list[str] = field(default_factory=list)  # test ids whose text is also in train
    task_note: str = ""  # how the task was inferred and the flag that overrides it ('' if given)

    @property
    def labels(self) -> list[str]:
        """Sorted class names (classification) seen in training."""
        return sorted(set(self.train_labels))

    def summary(self) -> dict:
        d = asdict(self)
        for key in (
            "train_texts",
            "train_labels",
            "test_texts",
            "test_labels",
            "train_ids",
            "test_ids",
        ):
            d.pop(key)
        d.update(n_train=len(self.train_texts), n_test=len(self.test_texts))
        return d


def _hash_rows(ids: list[str], texts: list[str], labels: list[str]) -> str:
    h = hashlib.sha256()
    for i, t, y in zip(ids, texts, labels):
        h.update(f"{i}\x1f{t}\x1f{y}\x1e".encode())
    return h.hexdigest()


def file_hash(path: str | Path) -> str:
    """sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


MANY_CLASSES = 50  # from this many classes on, too few examples per class is refused
MIN_PER_CLASS = 3  # mean examples per class below which a many-class task is meaningless


def _check_classes(name: str, labels: list[str], label_col: str, need_two_each: bool) -> None:
    counts = Counter(labels)
    per_class = len(labels) / max(len(counts), 1)
    if len(counts) >= MANY_CLASSES and per_class < MIN_PER_CLASS:
        raise DataError(
            f"{name}: too many classes for the data: column '{label_col}' has {len(counts):,} "
            f"classes for {len(labels):,} rows ({per_class:.1f} examples per class). A classifier "
            f"needs at least {MIN_PER_CLASS} examples per class on average: merge rare classes, "
            "add examples, or pick the right label column."
        )
    if len(counts) < 2:
        only = next(iter(counts))
        raise DataError(
            f"{name}: column '{label_col}' has a single class ('{only}'). Classification needs at "
            "least two; add examples of the other classes or pick the right label column."
        )
    rare = sorted(c for c, n in counts.items() if n < 2)
    if need_two_each and rare:
        shown = ", ".join(repr(c) for c in rare[:5]) + (" …" if len(rare) > 5 else "")
        raise DataError(
            f"{name}: {len(rare)} class(es) in column '{label_col}' have fewer than 2 examples "
            f"({shown}). A held-out split needs at least 2 per class: add examples, merge rare "
            "classes into a broader one, or supply your own test file."
        )


def _stratified_split(
    labels: list[str], task: Task, test_size: float, seed: int
) -> tuple[list[int], list[int]]:
    from sklearn.model_selection import train_test_split

    idx = list(range(len(labels)))
    stratify = labels if task == "classification" else None
    n_test = max(int(round(test_size * len(labels))), len(set(labels)) if stratify else 1)
    try:
        train_idx, test_idx = train_test_split(
            idx, test_size=n_test, random_state=seed, stratify=stratify
        )
    except ValueError as exc:
        raise DataError(
            f"cannot make a held-out split ({exc}). Add examples or supply a test file."
        ) from None
    return sorted(train_idx), sorted(test_idx)


def _leakage(train_texts: list[str], test_texts: list[str], test_ids: list[str]) -> list[str]:
    seen = {t.casefold() for t in train_texts}
    return [i for i, t in zip(test_ids, test_texts) if t.casefold() in seen]


@dataclass
class _Side:
    texts: list[str]
    labels: list[str]
    ids: list[str]


def _load_side(
    table: Table, text_col: str, label_col: str, max_chars: int, warnings: list[str], prefix: str
) -> _Side:
    texts, labels, warn = clean_columns(table, text_col, label_col, max_chars)
    warnings.extend(warn)
    return _Side(texts, labels, [f"{prefix}{i}" for i in range(len(texts))])


def _split_record(split_path: Path, key: dict, train: _Side, test: _Side) -> dict:
    record = {
        **key,
        "train_ids": train.ids,
        "test_ids": test.ids,
        "train_hash": _hash_rows(train.ids, train.texts, train.labels),
        "test_hash": _hash_rows(test.ids, test.texts, test.labels),
    }
    if split_path.exists():
        saved = json.loads(split_path.read_text())
        if saved != record:
            raise DataError(
                f"the saved split {split_path.name} no longer matches the data (the file changed "
                "since the split was made). Delete the split file to make a new one, knowing that "
                "earlier results are then not comparable."
            )
    else:
        split_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = split_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=1))
        tmp.replace(split_path)
    return record


def _subset(side: _Side, keep: list[int]) -> _Side:
    return _Side(
        [side.texts[i] for i in keep], [side.labels[i] for i in keep], [side.ids[i] for i in keep]
    )


def _check_test_labels(
    train_name: str, test_name: str, label_col: str, train: _Side, test: _Side
) -> None:
    unseen = sorted(set(test.labels) - set(train.labels))
    if unseen:
        shown = ", ".join(repr(c) for c in unseen[:5])
        raise DataError(
            f"{test_name}: {len(unseen)} label(s) in column '{label_col}' never occur in "
            f"{train_name} ({shown}). Add training examples for them or remove them from the "
            "test file."
        )


def _handle_leakage(
    train: _Side, test: _Side, drop: bool, warnings: list[str]
) -> tuple[_Side, list[str]]:
    """Warn about test texts that also appear in training; drop them when asked."""
    leaked = _leakage(train.texts, test.texts, test.ids)
    if not leaked:
        return test, leaked
    shown = ", ".join(leaked[:10]) + (" …" if len(leaked) > 10 else "")
    action = "dropped from the test side" if drop else "kept (use --drop-leakage)"
    warnings.append(
        f"leakage: {len(leaked)} test example(s) also appear verbatim in training ({shown}); "
        f"{action}. They inflate held-out scores."
    )
    if drop:
        leaked_set = set(leaked)
        test = _subset(test, [i for i, t in enumerate(test.ids) if t not in leaked_set])
        if not test.ids:
            raise DataError("every test example also appears in training; nothing is left.")
    return test, leaked


def name_of(table: Table) -> str:
    return table.path.name


def _inferred_generation_warning(name: str, label_col: str, rows: _Side, task: Task) -> list[str]:
    """Short labels, each (nearly) unique, read as free-text outputs: say so, since they may be
    classes with one example each."""
    if task != "generation":
        return []
    unique = set(rows.labels)
    words = sum(len(x.split()) for x in unique) / max(len(unique), 1)
    if words > 3:
        return []
    return [
        f"{name}: column '{label_col}' has {len(unique):,} distinct short values for "
        f"{len(rows.labels):,} rows, so it was read as a generation task (free-text outputs). "
        "If these are classes, each needs at least 2 examples: add examples and choose "
        "task=classification."
    ]


def prepare_dataset(spec: DataSpec) -> Dataset:
    """Load, validate and split as `spec` says. Raises DataError (never anything else) for bad
    input."""
    task, max_chars = spec.task, spec.max_chars
    train_table = load_table(spec.train, max_mb=spec.max_mb)
    text_col, label_col = resolve_columns(train_table, spec.text_col, spec.label_col)
    warnings: list[str] = list(train_table.warnings)
    rows = _load_side(train_table, text_col, label_col, max_chars, warnings, "r")
    note = ""
    if task is None:
        task = infer_task(rows.labels)
        note = inference_note(task, rows.labels, label_col)
        warnings.extend(_inferred_generation_warning(name_of(train_table), label_col, rows, task))
    try:
        return _split(spec, train_table, text_col, label_col, task, rows, warnings, note)
    except DataError as exc:
        if note and task == "classification":  # the refusal says how to read it otherwise
            raise DataError(f"{exc} ({note})") from None
        raise


def _split(
    spec: DataSpec,
    train_table: Table,
    text_col: str,
    label_col: str,
    task: Task,
    rows: _Side,
    warnings: list[str],
    note: str,
) -> Dataset:
    test_path, test_size, seed = spec.test, spec.test_size, spec.seed
    drop_leakage, max_chars, max_mb = spec.drop_leakage, spec.max_chars, spec.max_mb
    key = {
        "train_file": file_hash(train_table.path),
        "text_col": text_col,
        "label_col": label_col,
        "task": task,
        "max_chars": max_chars,
        "drop_leakage": drop_leakage,
    }
    name = name_of(train_table)
    if test_path is not None:
        test_table = load_table(test_path, max_mb=max_mb)
        warnings.extend(test_table.warnings)
        resolve_columns(test_table, text_col, label_col)
        train, test = rows, _load_side(test_table, text_col, label_col, max_chars, warnings, "t")
        if task == "classification":
            _check_classes(name, train.labels, label_col, need_two_each=False)
            _check_test_labels(name, test_table.path.name, label_col, train, test)
        key["test_file"] = file_hash(test_table.path)
    else:
        if task == "classification":
            _check_classes(name, rows.labels, label_col, need_two_each=True)
        train_idx, test_idx = _stratified_split(rows.labels, task, test_size, seed)
        key.update(seed=seed, test_size=test_size)
        train, test = _subset(rows, train_idx), _subset(rows, test_idx)
    split_id = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    split_path = Path(spec.split_dir) / f"split-{split_id}.json"
    _split_record(split_path, key, train, test)
    test, leaked = _handle_leakage(train, test, drop_leakage, warnings)
    return Dataset(
        task=task,
        text_col=text_col,
        label_col=label_col,
        train_texts=train.texts,
        train_labels=train.labels,
        train_ids=train.ids,
        test_texts=test.texts,
        test_labels=test.labels,
        test_ids=test.ids,
        split_id=split_id,
        split_path=str(split_path),
        warnings=warnings,
        leakage=leaked,
        task_note=note,
    )
