"""Mintlify docs folders: snippets are fragments pages import, not pages (mintlify_site.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from docloop.docs.chunker import chunk_page
from docloop.docs.loader import load_pages
from tests.docs_helpers import write_docs

CONFIG = {"$schema": "https://mintlify.com/docs.json", "name": "Acme", "theme": "mint",
          "navigation": {"groups": [{"group": "Guides", "pages": ["guides/install"]}]}}
PAGES = {
    "snippets/install-sdk.mdx": "Run `pip install acme-sdk` and set `ACME_TOKEN` before you "
                                "call `acme.connect()`.\n",
    "guides/install.mdx": "---\ntitle: Installing the SDK\n---\n"
                          "import InstallSdk from '/snippets/install-sdk.mdx';\n\n"
                          "<Note>Python 3.10 or later.</Note>\n\n## Install\n\n<InstallSdk />\n\n"
                          "## Troubleshooting\n\nIf `acme.connect()` raises `AuthError`, your "
                          "token expired.\n",
}


def mintlify(root: Path, config_name: str = "docs.json", config: object = CONFIG) -> Path:
    write_docs(root, PAGES)
    (root / config_name).write_text(json.dumps(config), encoding="utf-8")
    return root


@pytest.mark.parametrize("config_name", ["docs.json", "mint.json"])
def test_a_snippet_is_read_where_a_page_imports_it_and_is_no_page(tmp_path: Path,
                                                                  config_name: str) -> None:
    pages = load_pages(mintlify(tmp_path / "docs", config_name))
    assert [p.path for p in pages] == ["guides/install.mdx"]
    install = {c.heading: c.text for c in chunk_page(pages[0])}["Install"]
    assert "pip install acme-sdk" in install  # the `/`-rooted import, from the docs root


@pytest.mark.parametrize("config", [None, {"name": "not a Mintlify config"}, "[" * 100_000])
def test_without_a_mintlify_config_a_snippets_folder_holds_pages(tmp_path: Path,
                                                                 config: object) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, PAGES)
    if config is not None:  # no navigation, or no JSON at all (nested past the parser)
        text = config if isinstance(config, str) else json.dumps(config)
        (docs / "docs.json").write_text(text, encoding="utf-8")
    assert sorted(p.path for p in load_pages(docs)) == ["guides/install.mdx",
                                                       "snippets/install-sdk.mdx"]


def test_a_rooted_import_is_read_from_the_docs_folder_never_from_root(tmp_path: Path) -> None:
    """`/etc/hosts.md` is the docs folder's `etc/hosts.md` (none here: nothing is read)."""
    docs = mintlify(tmp_path / "docs")
    (docs / "guides" / "hosts.mdx").write_text(
        "import Hosts from '/etc/hosts.md';\n\n# Hosts\n\n<Hosts />\n", encoding="utf-8")
    assert next(p for p in load_pages(docs) if p.path == "guides/hosts.mdx").included == {}
    write_docs(docs, {"etc/hosts.md": "The docs' own hosts page.\n"})
    page = next(p for p in load_pages(docs) if p.path == "guides/hosts.mdx")
    assert page.included == {"/etc/hosts.md": "The docs' own hosts page.\n"}


def test_mintlify_urls_keep_numbered_names(tmp_path: Path) -> None:
    """Mintlify publishes a file at its path: no Docusaurus prefix stripping or `id`."""
    docs = mintlify(tmp_path / "docs")
    write_docs(docs, {"01-guides/02-setup.mdx": "---\nid: other\n---\n# Setup\n"})
    write_docs(docs, {"guides/index.mdx": "# Guides\n", "index.mdx": "# Home\n"})
    urls = {p.path: p.url for p in load_pages(docs, "https://docs.acme.dev")}
    assert urls["01-guides/02-setup.mdx"] == "https://docs.acme.dev/01-guides/02-setup"
    assert urls["guides/index.mdx"] == "https://docs.acme.dev/guides/index"  # no implicit index
    assert urls["index.mdx"] == "https://docs.acme.dev/"


def test_a_mintlify_folder_of_markdown_pages_is_read_as_mintlify_publishes_it(
        tmp_path: Path) -> None:
    """`.md` pages only: the config, not the `.mdx` files, says Mintlify (URLs `foo`)."""
    docs = tmp_path / "docs"
    write_docs(docs, {"quickstart.md": "# Quickstart\n\nSign up.\n",
                      "snippets/note.md": "A fragment.\n"})
    (docs / "docs.json").write_text(json.dumps(CONFIG), encoding="utf-8")
    (page,) = load_pages(docs, "https://docs.acme.dev")
    assert (page.path, page.url) == ("quickstart.md", "https://docs.acme.dev/quickstart")
