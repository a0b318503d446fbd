"""Exports and loads are safetensors only (issue 17 item 4), through the real CLIs: a run folder
with a link to a file outside it, a pickle adapter, code or a custom-code config is refused in one
line by `trainer export`, `trainer predict` and the app's zip; `rag_baseline --embedder` and
`--generator` refuse a folder holding a pickle before anything unpickles it; a clean export holds
only allow-listed files, none of them a link."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from core.models import EXPORT_FILES, shipped_minilm_path
from tests.trainer.helpers import REPO, base_args, run_cli


class _Boom:
    """Unpickling this creates a marker file: proof that a pickle ran code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _error_lines(stderr: str, prefix: str = "trainer: ") -> list[str]:
    assert "Traceback" not in stderr and "weights_only" not in stderr, stderr[-3000:]
    return [ln for ln in stderr.splitlines() if ln.startswith(prefix)]


@pytest.fixture(scope="module")
def done_run(tiny_data, tmp_path_factory) -> Path:
    """A completed 2-step classification run (LoRA on the shipped MiniLM)."""
    runs = tmp_path_factory.mktemp("xruns") / "runs"
    res = run_cli("train", *base_args(tiny_data, runs, max_steps=2, run_id="ok"), "--gate-override")
    assert res.returncode == 0, res.stderr[-3000:]
    return runs / "ok"


def _copy(done_run: Path, tmp_path: Path, name: str) -> Path:
    run = tmp_path / "runs" / name
    shutil.copytree(done_run, run, symlinks=True)
    return run


def test_clean_export_holds_only_allowed_files_and_no_links(done_run, tmp_path):
    run = _copy(done_run, tmp_path, "clean")
    (run / "adapter" / "notes.txt").write_text("not part of a model")
    out = tmp_path / "export"
    res = run_cli("export", "--run", str(run), "--out", str(out))
    assert res.returncode == 0, res.stderr[-3000:]
    files = sorted(p.name for p in out.rglob("*"))
    assert "adapter_model.safetensors" in files and "head.safetensors" in files
    assert all(f.endswith(".safetensors") or f in EXPORT_FILES for f in files), files
    assert not any(p.is_symlink() for p in out.rglob("*"))
    assert "notes.txt" not in files


@pytest.mark.parametrize("plant", ["link", "pickle", "code", "auto_map", "fake_safetensors"])
def test_tampered_run_is_not_exported(done_run, tmp_path, plant):
    run = _copy(done_run, tmp_path, plant)
    adapter = run / "adapter"
    secret = tmp_path / "secret.txt"
    secret.write_text("the user's private key")
    if plant == "link":
        (adapter / "tokenizer.json").symlink_to(secret)
    elif plant == "pickle":
        torch.save({"x": torch.zeros(1)}, adapter / "adapter_model.bin")
    elif plant == "code":
        (adapter / "evil.py").write_text("import os\n")
    elif plant == "auto_map":
        (adapter / "config.json").write_text(json.dumps({"auto_map": {"AutoModel": "evil.M"}}))
    else:
        shutil.copyfile(secret, adapter / "head.safetensors")
    out = tmp_path / "export"
    res = run_cli("export", "--run", str(run), "--out", str(out))
    assert res.returncode == 2, res.stderr[-3000:]
    lines = _error_lines(res.stderr)
    assert len(lines) == 1, lines
    assert not out.exists() and not list(out.parent.glob(".export.partial"))

    from trainer.export import export_zip  # the app's download: the same refusal, no zip left

    with pytest.raises(ValueError, match="adapter/"):
        export_zip(run)
    assert not list((run / "exports").glob("*.zip"))


def test_pickle_adapter_is_refused_in_one_line_and_never_unpickled(done_run, tiny_data, tmp_path):
    run = _copy(done_run, tmp_path, "pickled")
    adapter = run / "adapter"
    marker = tmp_path / "PWNED"
    (adapter / "adapter_model.safetensors").unlink()
    torch.save({"w": _Boom(str(marker))}, adapter / "adapter_model.bin")
    res = run_cli("predict", "--run", str(run), "--input", str(tiny_data["new"]))
    assert res.returncode == 2, res.stderr[-3000:]
    lines = _error_lines(res.stderr)
    assert len(lines) == 1 and "adapter_model.bin" in lines[0] and "pickle" in lines[0], lines
    assert not marker.exists()

    from trainer.predict import load_predictor  # the app's Model page loads through this

    with pytest.raises(ValueError, match="adapter_model.bin"):
        load_predictor(run, "cpu")
    assert not marker.exists()


def _pickled_model_folder(tmp_path: Path, marker: Path) -> Path:
    """The shipped MiniLM's files, its safetensors weights replaced by a planted pickle."""
    folder = tmp_path / "model"
    shutil.copytree(shipped_minilm_path(), folder)
    (folder / "model.safetensors").unlink()
    torch.save({"w": _Boom(str(marker))}, folder / "pytorch_model.bin")
    return folder


@pytest.mark.parametrize("flag", ["--embedder", "--generator"])
def test_rag_baseline_refuses_a_pickled_model_folder(tmp_path, flag):
    marker = tmp_path / "PWNED"
    folder = _pickled_model_folder(tmp_path, marker)
    data = tmp_path / "gen.csv"  # free-text outputs, so --generator is used
    data.write_text(
        "question,answer\n"
        + "\n".join(f"what is item {i} made of,item {i} is made of part {i * 7}" for i in range(40))
        + "\n"
    )
    args = ["--train", str(data), "--split-dir", str(tmp_path / "splits"), "--no-cache", "--quiet"]
    proc = subprocess.run(
        [sys.executable, "-m", "rag_baseline", "evaluate", *args, flag, str(folder)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = _error_lines(proc.stderr, "error: ")
    assert len(lines) == 1 and "pytorch_model.bin" in lines[0] and "pickle" in lines[0], lines
    assert not marker.exists()


def test_trainer_refuses_a_pickled_base_model(tiny_data, tmp_path):
    marker = tmp_path / "PWNED"
    folder = _pickled_model_folder(tmp_path, marker)
    runs = tmp_path / "runs"
    res = run_cli("train", *base_args(tiny_data, runs, max_steps=1), "--base-model", str(folder))
    assert res.returncode == 2, res.stderr[-3000:]
    lines = [ln for ln in _error_lines(res.stderr) if "pytorch_model.bin" in ln]
    assert len(lines) == 1 and "pickle" in lines[0], res.stderr[-3000:]
    assert not marker.exists()


def test_zip_of_a_clean_run_holds_no_link(done_run, tmp_path):
    from trainer.export import export_zip

    run = _copy(done_run, tmp_path, "zipped")
    data = export_zip(run)
    path = tmp_path / "a.zip"
    path.write_bytes(data)
    with zipfile.ZipFile(path) as zf:
        names = [Path(n).name for n in zf.namelist()]
        modes = [(i.external_attr >> 16) & 0o170000 for i in zf.infolist()]
    assert all(n.endswith(".safetensors") or n in EXPORT_FILES for n in names), names
    assert 0o120000 not in modes  # no symbolic link stored
