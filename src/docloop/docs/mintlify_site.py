"""Mintlify docs: which files are pages.

A Mintlify site is a folder with its config at the root: `docs.json` (a mapping with a
`navigation`), or the older `mint.json`. Its pages are the `.mdx`/`.md` files, published
at their path without the extension, as Docusaurus does (so the loader reads them with the
Docusaurus rules). One folder is different: `snippets/` holds reusable fragments a page
imports (`import Setup from '/snippets/setup.mdx'`, then `<Setup />`), which Mintlify
never publishes on their own. Indexed as pages, a snippet (short, and all about one thing)
outranked every page that shows it, and a ticket linked a URL the site does not have. So
they are left out as pages, and each is read where a page imports it (includes.py reads a
`/`-rooted import from the docs root).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from docloop.docs.config_files import read_mapping

SNIPPETS = "snippets/"


def is_mintlify(root: Path) -> bool:
    """Whether `root` is a Mintlify docs folder (its config file at the root)."""
    if (root / "mint.json").is_file():
        return True
    config = root / "docs.json"
    return config.is_file() and "navigation" in read_mapping(config)


@dataclass(frozen=True)
class MintlifySite:
    """The publishing rule of a Mintlify folder (the loader's `rule`)."""

    def translated(self, rel: str) -> str | None:
        """Mintlify's languages are navigation entries over ordinary pages: none is left out."""
        return None

    def unpublished(self, rel: str, present: set[str]) -> bool:
        """A snippet is not a page."""
        return rel.startswith(SNIPPETS)

    def published(self, rel: str) -> str:
        return rel
