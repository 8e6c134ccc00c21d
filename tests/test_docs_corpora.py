"""Anchors checked against real docs sites: every `page.md#anchor` link between the pages of
a shared corpus must resolve to a section stored in the index (needs ../shared)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from docloop import db
from docloop.backends.docs_index.sqlite import SQLiteDocsIndex
from docloop.docs.loader import detect_generator, load_pages
from tests.docs_helpers import HashingEmbedder, anchor_links

CORPORA = [("fastapi-docs", "mkdocs", 50), ("pydantic-docs", "mkdocs", 140),
           ("typescript-eslint-docs", "docusaurus", 45), ("vite-docs", "vitepress", 60)]
#: a page whose whole content is a build-time macro (`{{ pydantic_settings }}` pulls in
#: another project's docs): its anchors do not exist in the source
BUILD_TIME_CONTENT = re.compile(r"^\{\{\s*[\w.]+\s*\}\}\s*$", re.MULTILINE)


@pytest.mark.parametrize("name,generator,min_links", CORPORA)
def test_every_cross_page_anchor_link_resolves(shared_dir: Path, tmp_path: Path, name: str,
                                               generator: str, min_links: int) -> None:
    root = shared_dir / "corpora" / name
    pages = load_pages(root, excludes=["SOURCE.md"], generator=generator)
    conn = db.connect(tmp_path / "index.db")
    index = SQLiteDocsIndex(conn, HashingEmbedder())
    index.sync(pages)
    stored = {p.path: set(index.page_anchors(p.path)) for p in pages}
    checked, broken = 0, []
    for page in pages:
        for target, anchor in anchor_links(page, root):
            if target not in stored or BUILD_TIME_CONTENT.search(index.page_source(target) or ""):
                continue
            checked += 1
            if anchor not in stored[target]:
                broken.append(f"{page.path} -> {target}#{anchor}")
    conn.close()
    assert not broken
    assert checked >= min_links  # the corpus really was checked


def test_corpora_generators_are_detected_where_they_have_a_marker(shared_dir: Path) -> None:
    corpora = shared_dir / "corpora"
    assert detect_generator(corpora / "fastapi-docs") == "mkdocs"
    assert detect_generator(corpora / "pydantic-docs") == "mkdocs"
    assert detect_generator(corpora / "typescript-eslint-docs") == "docusaurus"  # .mdx pages
