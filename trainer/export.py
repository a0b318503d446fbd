"""Export a finished run as a folder you can ship: the LoRA adapter (or the model with the adapter
merged in) as safetensors, the tokenizer, the label map and a README.md model card (base model,
data, split id, held-out metrics, how to load it).

    python -m trainer export --run RUN --out DIR [--merged] [--runs-dir runs]

From Python: `export_run(Path("runs/RUN"), Path("out"), merged=False)`; the app zips the same
folder (`export_zip`). No streamlit here.

A run folder is untrusted (copied, or synced from a cluster), so the export copies only what
`core.models` allows: real safetensors files (the header is read), tokenizer files, configs
without `auto_map`, the label map, the metadata and our model card. A symbolic link, a pickle
(`.bin`, `.pt`, `.pkl`, ...) or code (`.py`) in the run's adapter/ or merged/ refuses the export
in one line; any other file is left out. Nothing is followed through a link, in the folder or in
the zip.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import struct
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from core.models import EXPORT_FILES, UnsafeModelError, unsafe_file
from trainer.config import InputError
from trainer.finalize import META_FILE
from trainer.predict import read_meta

LABELS_FILE = "labels.json"
CARD_FILE = "README.md"
_SKIP = {"README.md"}  # peft writes a placeholder card into adapter/; ours replaces it
MAX_HEADER_BYTES = 100_000_000  # a safetensors header (JSON) larger than this is not one


def export_run(run_dir: Path, out_dir: Path, merged: bool = False) -> Path:
    """Write the export into `out_dir` (created; must be empty or absent). Returns `out_dir`."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    meta = read_meta(run_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InputError(f"out: {out_dir} is not empty; choose a new folder")
    tmp = out_dir.with_name(f".{out_dir.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        if merged:
            _write_merged(run_dir, tmp, meta)
        else:
            _copy_files(run_dir / "adapter", tmp)
            _tokenizer(meta).save_pretrained(str(tmp))
        labels = {str(i): label for i, label in enumerate(meta.get("labels") or [])}
        (tmp / LABELS_FILE).write_text(json.dumps(labels, indent=2))
        (tmp / CARD_FILE).write_text(model_card(run_dir, meta, merged))
        if out_dir.exists():
            out_dir.rmdir()
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def zip_path(run_dir: Path, merged: bool = False) -> Path:
    """Where export_zip keeps the zip of a run (runs/<id>/exports/<id>-adapter|merged.zip)."""
    kind = "merged" if merged else "adapter"
    return Path(run_dir) / "exports" / f"{Path(run_dir).name}-{kind}.zip"


def export_zip(run_dir: Path, merged: bool = False) -> bytes:
    """The export as a zip (built once per run and kind, kept under runs/<id>/exports/).
    Safe to call from two threads at once: each builds in its own folder and the finished zip
    is renamed into place (the same content either way)."""
    run_dir = Path(run_dir)
    kind = "merged" if merged else "adapter"
    zpath = zip_path(run_dir, merged)
    if not zpath.exists():
        zpath.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{kind}-", dir=zpath.parent))
        try:
            folder = export_run(run_dir, work / kind, merged=merged)
            part = work / "export.zip"
            with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as zf:
                for f in _regular_files(folder):
                    zf.write(f, f"{run_dir.name}-{kind}/{f.relative_to(folder)}")
            os.replace(part, zpath)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return zpath.read_bytes()


def _regular_files(folder: Path) -> list[Path]:
    """Regular files under `folder`, sorted; links are neither followed nor listed."""
    out = []
    for root, _dirs, files in os.walk(folder, followlinks=False):
        for name in files:
            path = Path(root) / name
            if stat.S_ISREG(path.lstat().st_mode):
                out.append(path)
    return sorted(out)


def _copy_files(src: Path, dst: Path) -> list[str]:
    """Copy the allowed files of `src` (top level) into `dst`; returns the names left out.
    Raises UnsafeModelError for a link, a pickle or code: the run folder was tampered with."""
    left_out = []
    for f in sorted(src.iterdir()):
        where = f"run {src.parent.name}: {src.name}/{f.name}"
        if f.is_symlink():
            raise UnsafeModelError(f"{where} is a symbolic link; the export follows no links.")
        reason = unsafe_file(f)
        if reason:
            raise UnsafeModelError(
                f"{where} is {reason}; the export ships safetensors only. Remove it, or export "
                "from an untouched run."
            )
        if not stat.S_ISREG(f.lstat().st_mode) or f.name in _SKIP:
            left_out.append(f.name)
        elif f.name.endswith(".safetensors"):
            _check_safetensors(f, where)
            shutil.copyfile(f, dst / f.name, follow_symlinks=False)
        elif f.name in EXPORT_FILES:
            shutil.copyfile(f, dst / f.name, follow_symlinks=False)
        else:
            left_out.append(f.name)
    return left_out


def _check_safetensors(path: Path, where: str) -> None:
    """A safetensors file starts with the length of its JSON header, then the header."""
    try:
        with open(path, "rb", opener=_no_follow) as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            ok = 2 <= n <= min(MAX_HEADER_BYTES, path.stat().st_size - 8)
            header = json.loads(fh.read(n)) if ok else None
    except (OSError, ValueError, struct.error):
        header = None
    if not isinstance(header, dict):
        raise UnsafeModelError(f"{where} is not a safetensors file; refusing to export it.")


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW)


def _tokenizer(meta: dict[str, Any]):
    from trainer.model import load_tokenizer, resolve_source

    return load_tokenizer(resolve_source(meta["base_model"]))


def _write_merged(run_dir: Path, out: Path, meta: dict[str, Any]) -> None:
    """The run's merged/ folder when training wrote one, else merge the adapter now."""
    if (run_dir / "merged" / META_FILE).exists():
        _copy_files(run_dir / "merged", out)
        return
    from safetensors.torch import save_file

    from trainer.predict import load_trained

    model, tok, meta = load_trained(run_dir, "cpu")
    inner = model.encoder if meta["task"] == "classification" else model
    if hasattr(inner, "merge_and_unload"):
        inner = inner.merge_and_unload()
    inner.save_pretrained(str(out), safe_serialization=True)
    if meta["task"] == "classification":
        head = {k: v.detach().cpu().contiguous() for k, v in model.head.state_dict().items()}
        save_file(head, str(out / "head.safetensors"))
    tok.save_pretrained(str(out))
    (out / META_FILE).write_text(json.dumps({**meta, "merged": True}, indent=2))


def _held_out(config: dict[str, Any]) -> str:
    if config.get("test"):
        return f"`{Path(config['test']).name}`"
    return f"a stratified {config.get('test_size', 0.2):.0%} of the training file (seed {config.get('seed', 0)})"  # noqa: E501


def _fmt_metric(final: dict[str, Any], key: str) -> str | None:
    if final.get(key) is None:
        return None
    ci = final.get(f"{key}_ci95")
    text = f"{final[key]:.3f}"
    return text + (f" (95% interval {ci[0]:.3f} – {ci[1]:.3f})" if ci else "")


def model_card(run_dir: Path, meta: dict[str, Any], merged: bool) -> str:
    """README.md of the export: what it is, what it was trained on, how well it did."""
    config = _read(run_dir / "config.json")
    final = _read(run_dir / "metrics.json")
    names = {
        "accuracy": "Accuracy",
        "macro_f1": "Macro-F1",
        "exact_match": "Exact match",
        "token_f1": "Token F1",
    }
    metrics = [(n, _fmt_metric(final, k)) for k, n in names.items()]
    lines = [
        f"# Fine-tuned model: run {run_dir.name}",
        "",
        f"{'The base model with the LoRA adapter merged in' if merged else 'A LoRA adapter'} "
        f"for **{meta['task']}**, exported by the fine-tune advisor "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).",
        "",
        "| | |",
        "|---|---|",
        f"| Base model | `{meta['base_model']}` |",
        f"| Method | {meta.get('method', '?')} |",
        f"| Training data | `{Path(config.get('train') or '?').name}` "
        f"(text column `{meta.get('text_col')}`, label column `{meta.get('label_col')}`) |",
        f"| Held-out data | {_held_out(config)} |",
        f"| Split id | `{meta.get('split_id') or final.get('split_id', '?')}` |",
        f"| Examples | {final.get('n_train', '?')} training, {final.get('n_test', '?')} held out |",
        f"| Steps | {final.get('steps', '?')} ({final.get('epochs', '?')} epochs) |",
    ]
    lines += [f"| {n} (held out) | {v} |" for n, v in metrics if v]
    if meta.get("labels"):
        lines += ["", f"Labels ({len(meta['labels'])}): see `{LABELS_FILE}` (index → label)."]
    if final.get("gate_override") or config.get("gate_override"):
        lines += [
            "",
            "> **Warning:** trained against the advisor's verdict (the gate was overridden).",
        ]
    lines += ["", "## Files", "", *_file_list(meta, merged), "", "## Load it", "", *_usage(meta)]
    return "\n".join(lines) + "\n"


def _file_list(meta: dict[str, Any], merged: bool) -> list[str]:
    weights = (
        "`model.safetensors` + `config.json`: the merged weights"
        if merged
        else "`adapter_model.safetensors` + `adapter_config.json`: the LoRA adapter (peft)"
    )
    out = [f"- {weights}", "- tokenizer files: the base model's tokenizer"]
    if meta["task"] == "classification":
        out.append(
            "- `head.safetensors`: the linear classification head (on mean-pooled, "
            "L2-normalised embeddings)"
        )
    out += [
        f"- `{LABELS_FILE}`: index → label",
        f"- `{META_FILE}`: task, lengths, columns, split id",
    ]
    return out


def _usage(meta: dict[str, Any]) -> list[str]:
    return [
        "With this project's trainer (it rebuilds the model from the run folder):",
        "",
        "```",
        "python -m trainer predict --run RUN --input new.csv --out predictions.csv",
        "```",
        "",
        "Or by hand: load the base model with `transformers`, apply the adapter with "
        "`peft.PeftModel.from_pretrained(base, folder)`"
        + (
            "; embed with mean pooling + L2 normalisation, then apply `head.safetensors`."
            if meta["task"] == "classification"
            else "; generate with the tokenizer's chat template."
        ),
    ]


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
