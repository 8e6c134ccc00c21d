"""Versioned prompt templates, loaded by name.

Each template starts with a `version:` line; the version is part of every
cache key, so editing a prompt (and bumping its version) invalidates exactly
the cached answers that came from the old wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from docloop.errors import ConfigError


@dataclass(frozen=True)
class Prompt:
    """A system prompt and the version that goes into cache keys."""

    name: str
    version: str
    text: str


def load_prompt(name: str) -> Prompt:
    """Read `prompts/<name>.md`; its first line must be `version: <id>`."""
    try:
        raw = resources.files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"prompt template '{name}.md' is missing from docloop/prompts") from None
    first, _, body = raw.partition("\n")
    key, _, version = first.partition(":")
    if key.strip() != "version" or not version.strip():
        raise ConfigError(f"prompt template '{name}.md' must start with 'version: <id>'")
    return Prompt(name=name, version=f"{name}-{version.strip()}", text=body.strip() + "\n")
