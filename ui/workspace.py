"""The app's workspace on disk: projects side by side, each a folder that survives a refresh or a
server restart. Pure Python (no streamlit), so it is tested and reused without a browser.

    workspace/                        (ADVISOR_WORKSPACE overrides the location)
      <project>/
        answers.json                  the questionnaire (advisor.Answers JSON)
        assumptions.json              the user's overrides of advisor/assumptions.toml
        data.json                     chosen data: files, columns, task (a DataChoice)
        uploads/                      uploaded files, immutable: <name>-<hash>.<ext>
        splits/                       saved held-out splits (core.split)
        results/baseline-<split>/     RAG baseline results.json + predictions.csv
        runs/                         trainer run folders + the SQLite run registry
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

ENV_VAR = "ADVISOR_WORKSPACE"
DEFAULT_PROJECT = "default"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_UPLOAD_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet")


def workspace_root() -> Path:
    """Where projects live: $ADVISOR_WORKSPACE, else ./workspace."""
    return Path(os.environ.get(ENV_VAR) or "workspace").resolve()


def check_project_name(name: str) -> str:
    """Raise ValueError unless `name` is a safe folder name."""
    name = name.strip()
    if not _NAME.match(name) or name in {".", ".."}:
        raise ValueError(
            f"project name {name!r}: use 1-64 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit"
        )
    return name


def _write_json(path: Path, data: Any) -> None:
    """Atomic: a crash mid-write never leaves half a file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def _read_json(path: Path) -> Any | None:
    """The file's JSON, or None when it is missing or unreadable (a damaged file is not fatal)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@dataclass
class DataChoice:
    """Which data the project uses; paths are absolute."""

    train: str = field(default="", metadata={"help": "training file (or the only file)"})
    test: str = field(default="", metadata={"help": "optional held-out file; '' = split train"})
    text_col: str = field(default="", metadata={"help": "column with the input text"})
    label_col: str = field(default="", metadata={"help": "column with the label / output"})
    task: str = field(default="", metadata={"help": "'classification' | 'generation' | ''"})
    split_id: str = field(default="", metadata={"help": "id of the validated saved split"})
    is_demo: bool = field(default=False, metadata={"help": "the built-in demo data set"})
    split_task: str = field(default="", metadata={"help": "task of the validated split"})
    n_train: int = field(default=0, metadata={"help": "training examples in the split"})
    n_test: int = field(default=0, metadata={"help": "held-out examples in the split"})
    mean_words: float = field(
        default=0.0, metadata={"help": "mean words per text", "unit": "words"}
    )
    labels: list[str] = field(default_factory=list, metadata={"help": "class names"})
    warnings: list[str] = field(default_factory=list, metadata={"help": "validation warnings"})

    def __post_init__(self) -> None:
        for name in ("task", "split_task"):
            if getattr(self, name) not in ("", "classification", "generation"):
                raise ValueError(
                    f"{name}: must be classification, generation or '' (got "
                    f"{getattr(self, name)!r})"
                )

    @property
    def ready(self) -> bool:
        """Columns chosen and a split validated."""
        return bool(self.train and self.text_col and self.label_col and self.split_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataChoice:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"data.json: unknown key {unknown[0]!r}; allowed: {sorted(known)}")
        return cls(**data)


@dataclass(frozen=True)
class Project:
    """One project folder. Every accessor creates what it needs, so a new project just works."""

    root: Path

    @property
    def name(self) -> str:
        return self.root.name

    def _dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def uploads_dir(self) -> Path:
        return self._dir("uploads")

    @property
    def splits_dir(self) -> Path:
        return self._dir("splits")

    @property
    def results_dir(self) -> Path:
        return self._dir("results")

    @property
    def runs_dir(self) -> Path:
        return self._dir("runs")

    # --- questionnaire + assumptions --------------------------------------------------------
    def load_answers(self) -> dict[str, Any]:
        """Saved answers as a plain dict ({} when none); validated by the caller via Answers."""
        data = _read_json(self.root / "answers.json")
        return data if isinstance(data, dict) else {}

    def save_answers(self, answers: dict[str, Any]) -> None:
        _write_json(self.root / "answers.json", answers)

    def load_overrides(self) -> dict[str, Any]:
        data = _read_json(self.root / "assumptions.json")
        return data if isinstance(data, dict) else {}

    def save_overrides(self, overrides: dict[str, Any]) -> None:
        _write_json(self.root / "assumptions.json", overrides)

    # --- data -------------------------------------------------------------------------------
    def load_data_choice(self) -> DataChoice:
        data = _read_json(self.root / "data.json")
        try:
            return DataChoice.from_dict(data) if isinstance(data, dict) else DataChoice()
        except (TypeError, ValueError):
            return DataChoice()

    def save_data_choice(self, choice: DataChoice) -> None:
        _write_json(self.root / "data.json", choice.to_dict())

    def save_upload(self, filename: str, content: bytes) -> Path:
        """Store an uploaded file under uploads/ with a safe name; returns its path.

        Uploads are immutable: the name ends with a hash of the original name and the bytes, so
        a new version never overwrites a file that a split or a run was made from, and names
        that sanitise alike ('a b.csv', 'a_b.csv') stay apart. The same file uploaded again
        maps to the same path."""
        base = Path(filename).name
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(base).stem).strip("._") or "upload"
        suffix = Path(base).suffix.lower()
        if suffix not in _UPLOAD_SUFFIXES:
            raise ValueError(
                f"{base}: unsupported file type '{suffix or '(none)'}'. "
                "Use .csv, .tsv, .jsonl or .parquet."
            )
        digest = hashlib.sha256(base.encode("utf-8", "surrogatepass") + b"\0" + content)
        path = self.uploads_dir / f"{stem[:80]}-{digest.hexdigest()[:12]}{suffix}"
        if path.is_file() and path.stat().st_size == len(content):
            return path
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        try:
            tmp.write_bytes(content)
            tmp.chmod(0o444)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def uploads(self) -> list[Path]:
        return sorted(p for p in self.uploads_dir.iterdir() if p.suffix in _UPLOAD_SUFFIXES)

    # --- results ----------------------------------------------------------------------------
    def baseline_dir(self, split_id: str) -> Path:
        """Where the RAG baseline writes results.json + predictions.csv for one split."""
        return self.results_dir / f"baseline-{split_id}"

    def load_baseline(self, split_id: str) -> dict[str, Any] | None:
        if not split_id:
            return None
        data = _read_json(self.baseline_dir(split_id) / "results.json")
        return data if isinstance(data, dict) else None

    def baseline_predictions(self, split_id: str) -> Path | None:
        path = self.baseline_dir(split_id) / "predictions.csv"
        return path if path.exists() else None

    # --- where training runs: this machine or a Ray cluster ---------------------------------
    def load_cluster(self) -> dict[str, Any]:
        """The project's "where to run" choice: {} = this machine, else a trainer.remote.spec.
        ClusterSpec as a dict (address, gpus, gpu_type, ...). A damaged file means {}."""
        data = _read_json(self.root / "cluster.json")
        return data if isinstance(data, dict) and data.get("address") else {}

    def save_cluster(self, spec: dict[str, Any] | None) -> None:
        """Remember the choice ({} or None = this machine)."""
        _write_json(self.root / "cluster.json", dict(spec or {}))

    # --- training runs: names and deletion (the trainer's folders stay as they are) --------
    def run_names(self) -> dict[str, str]:
        """Display names the user gave runs ({run id: name}); the run id never changes."""
        data = _read_json(self.root / "run_names.json")
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def rename_run(self, run_id: str, name: str) -> None:
        """Give a run a display name ('' removes it); ValueError for an unknown run or name."""
        self._run_dir(run_id)
        name = " ".join(name.split())
        if len(name) > 80:
            raise ValueError(f"run name: at most 80 characters (got {len(name)})")
        names = self.run_names()
        if name:
            names[run_id] = name
        else:
            names.pop(run_id, None)
        _write_json(self.root / "run_names.json", names)

    def delete_run(self, run_id: str, state: str) -> None:
        """Delete a finished run's folder (and its name). Refuses queued or running runs."""
        path = self._run_dir(run_id)
        if state in ("queued", "running"):
            raise ValueError(f"run {run_id} is {state}: cancel it before deleting it")
        shutil.rmtree(path)
        names = self.run_names()
        if names.pop(run_id, None) is not None:
            _write_json(self.root / "run_names.json", names)

    def _run_dir(self, run_id: str) -> Path:
        path = self.runs_dir / run_id
        if not run_id or "/" in run_id or run_id.startswith(".") or not path.is_dir():
            raise ValueError(f"run: no run '{run_id}' in this project")
        return path


@dataclass(frozen=True)
class Workspace:
    root: Path = field(default_factory=workspace_root)

    @property
    def cache_dir(self) -> Path:
        """Embedding cache shared by the projects (same text + model = same vector)."""
        return self.root / ".cache" / "embeddings"

    def projects(self) -> list[str]:
        """Existing projects, sorted; the default project always exists."""
        self.project(DEFAULT_PROJECT)
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and _NAME.match(p.name))

    def last_project(self) -> str:
        """The project used last (it reopens after a restart); the default one otherwise."""
        data = _read_json(self.root / ".last_project.json")
        name = data.get("project") if isinstance(data, dict) else None
        try:
            name = check_project_name(str(name)) if name else DEFAULT_PROJECT
        except ValueError:
            return DEFAULT_PROJECT
        return name if (self.root / name).is_dir() else DEFAULT_PROJECT

    def remember_project(self, name: str) -> None:
        _write_json(self.root / ".last_project.json", {"project": check_project_name(name)})

    def project(self, name: str) -> Project:
        name = check_project_name(name)
        root = self.root / name
        root.mkdir(parents=True, exist_ok=True)
        return Project(root)
