"""An mkdocs docs folder is indexed as the site publishes it (mkdocs' own rules, read from
its `structure/files.py`): not the pages `exclude_docs` or `draft_docs` leave out, not a
README.md an index.md displaces."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from docloop.docs.loader import load_pages
from docloop.docs.site_config import config_options
from tests.docs_helpers import write_docs

#: a real-shaped config: tags only mkdocs resolves, as FastAPI's and Material's use
CONFIG = """\
site_name: Tidepool
site_url: !ENV [SITE_URL, 'https://tidepool.dev/']
docs_dir: docs
exclude_docs: |
  drafts/
  *.tmp.md
  !drafts/keep.md
draft_docs: |
  upcoming/*.md
markdown_extensions:
  - pymdownx.emoji:
      emoji_index: !!python/name:material.extensions.emoji.twemoji
      emoji_generator: !!python/name:material.extensions.emoji.to_svg
"""

PAGES = {"index.md": "# Home", "guide.md": "# Guide", "drafts/idea.md": "# Idea",
         "drafts/keep.md": "# Keep", "notes.tmp.md": "# Scratch", "upcoming/v2.md": "# V2",
         "templates/page.md": "# Template", "api/README.md": "# API", "api/index.md": "# API",
         "howto/README.md": "# How to", "howto/readme.md": "# lowercase"}


def site(tmp_path: Path, config: str = CONFIG) -> Path:
    (tmp_path / "mkdocs.yml").write_text(config, encoding="utf-8")
    docs = tmp_path / "docs"
    write_docs(docs, PAGES)
    return docs


def test_the_pages_the_site_leaves_out_are_not_indexed(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="docloop.docs.loader"):
        urls = {p.path: p.url for p in load_pages(site(tmp_path), "https://t.dev/")}
    # `index-docs -v` names how many were skipped (README)
    assert "skipped 5 page(s) the site does not publish" in caplog.text
    assert urls == {
        "index.md": "https://t.dev/", "guide.md": "https://t.dev/guide/",
        "drafts/keep.md": "https://t.dev/drafts/keep/",  # `!` takes it back, as in git
        "api/index.md": "https://t.dev/api/",  # the README.md beside it is left out
        "howto/README.md": "https://t.dev/howto/",
        "howto/readme.md": "https://t.dev/howto/readme/",  # only README is an index
    }


def test_without_a_config_only_the_readme_rule_and_docloops_own_apply(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, PAGES)
    (tmp_path / "mkdocs.yml").write_text("site_name: x\n", encoding="utf-8")
    paths = {p.path for p in load_pages(docs)}
    assert "drafts/idea.md" in paths and "upcoming/v2.md" in paths
    assert "templates/page.md" not in paths  # mkdocs' default exclude
    assert "api/README.md" not in paths


def test_a_config_that_cannot_be_read_is_logged_and_the_folder_indexed_whole(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    docs = site(tmp_path, "site_name: [unclosed\n")
    with caplog.at_level(logging.WARNING):
        paths = {p.path for p in load_pages(docs)}
    assert "drafts/idea.md" in paths
    assert "mkdocs.yml: cannot read it" in caplog.text


def test_other_generators_keep_every_page(tmp_path: Path) -> None:
    (tmp_path / ".vitepress").mkdir()
    docs = tmp_path / "docs"
    write_docs(docs, PAGES)
    (docs / ".vitepress").mkdir()
    paths = {p.path for p in load_pages(docs)}
    assert {"drafts/idea.md", "api/README.md", "upcoming/v2.md"} <= paths


def test_a_docusaurus_draft_is_not_a_page_but_an_unlisted_one_is(tmp_path: Path) -> None:
    """Docusaurus builds `draft: true` in development only; `unlisted: true` is published,
    only hidden from lists (@docusaurus/utils, contentVisibilityUtils)."""
    (tmp_path / "docusaurus.config.js").write_text("module.exports = {};", encoding="utf-8")
    docs = tmp_path / "docs"
    write_docs(docs, {"intro.md": "# Intro", "wip.md": "---\ndraft: true\n---\n# WIP",
                      "hidden.md": "---\nunlisted: true\n---\n# Hidden",
                      "notes.md": "---\ndraft: false\n---\n# Notes"})
    assert {p.path for p in load_pages(docs)} == {"intro.md", "hidden.md", "notes.md"}


def test_beside_an_excluded_index_the_readme_is_the_folders_page(tmp_path: Path) -> None:
    """mkdocs drops the README of a conflicting pair only when the index is published."""
    docs = site(tmp_path, "site_name: x\nexclude_docs: |\n  api/index.md\n")
    urls = {p.path: p.url for p in load_pages(docs, "https://t.dev/")}
    assert urls["api/README.md"] == "https://t.dev/api/" and "api/index.md" not in urls


def test_the_files_a_left_out_page_includes_are_not_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Docusaurus draft's include lines were read (and hashed) before the page was
    dropped; only kept pages read theirs."""
    from docloop.docs import loader

    read_for: list[str] = []
    real = loader.read_includes

    def counting(includes, file, *args):  # type: ignore[no-untyped-def]
        read_for.append(file.name)
        return real(includes, file, *args)

    monkeypatch.setattr(loader, "read_includes", counting)
    (tmp_path / "docusaurus.config.js").write_text("module.exports = {};", encoding="utf-8")
    docs = tmp_path / "docs"
    partial = "import Setup from './_setup.mdx';\n\n<Setup />\n"
    write_docs(docs, {"_setup.mdx": "Run the installer.", "kept.mdx": f"# Kept\n\n{partial}",
                      "wip.mdx": f"---\ndraft: true\n---\n# WIP\n\n{partial}"})
    pages = {p.path: p for p in load_pages(docs)}
    assert set(pages) == {"kept.mdx"}
    assert "Run the installer." in pages["kept.mdx"].included.values()
    assert read_for == ["kept.mdx"]


def test_a_site_without_directory_urls_links_html_files(tmp_path: Path) -> None:
    """mkdocs' `use_directory_urls: false` publishes `guide.md` at `guide.html`: a ticket
    linking `guide/` would send the writer to a page that is not there."""
    urls = {p.path: p.url for p in load_pages(site(tmp_path, "use_directory_urls: false\n"),
                                              "https://t.dev/")}
    assert urls["guide.md"] == "https://t.dev/guide.html"
    assert urls["index.md"] == "https://t.dev/index.html"
    assert urls["api/index.md"] == "https://t.dev/api/index.html"
    assert urls["howto/README.md"] == "https://t.dev/howto/index.html"
    assert urls["howto/readme.md"] == "https://t.dev/howto/readme.html"
    (tmp_path / "d").mkdir()
    default = {p.path: p.url for p in load_pages(site(tmp_path / "d", "site_name: T\n"))}
    assert default["guide.md"] == "guide/"


def test_a_config_inherits_the_options_it_names(tmp_path: Path) -> None:
    """mkdocs' INHERIT (FastAPI's language sites inherited a shared config): the child's
    options over the parent's, mappings merged key by key; a loop is not followed."""
    (tmp_path / "base.yml").write_text(
        "site_url: https://t.dev/\nuse_directory_urls: false\nexclude_docs: |\n  drafts/\n"
        "theme:\n  name: material\n  features: [a]\n")
    (tmp_path / "en").mkdir()
    docs = site(tmp_path / "en", "INHERIT: ../base.yml\ntheme:\n  features: [b]\n")
    options = config_options(tmp_path / "en" / "mkdocs.yml")
    assert options["site_url"] == "https://t.dev/"
    assert options["theme"] == {"name": "material", "features": ["b"]}
    urls = {p.path: p.url for p in load_pages(docs, "https://t.dev/")}
    assert urls["guide.md"] == "https://t.dev/guide.html"  # the parent's use_directory_urls
    assert "drafts/idea.md" not in urls  # and its exclude_docs
    (tmp_path / "loop.yml").write_text("INHERIT: loop.yml\nsite_url: https://l.dev/\n")
    assert config_options(tmp_path / "loop.yml")["site_url"] == "https://l.dev/"


def test_an_environment_value_is_read_as_yaml_reads_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pyyaml_env_tag types the variable's value: `false` is false, not the string."""
    monkeypatch.setenv("DIRECTORY_URLS", "false")
    docs = site(tmp_path, "use_directory_urls: !ENV [DIRECTORY_URLS, true]\n")
    assert {p.path: p.url for p in load_pages(docs)}["guide.md"] == "guide.html"


def test_an_exclude_pattern_too_costly_to_match_is_said_and_dropped(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """gitignore patterns become regular expressions; `a*a*a*…b` backtracks over a long
    file name for minutes, and no real `exclude_docs` needs that many wildcards."""
    docs = site(tmp_path, "exclude_docs: |\n  a*a*a*a*a*a*a*a*a*a*a*a*b\n  drafts/\n")
    (docs / ("a" * 60 + ".md")).write_text("# A\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        paths = [p.path for p in load_pages(docs, None)]
    assert "a" * 60 + ".md" in paths and "drafts/idea.md" not in paths
    assert "has more than 8 wildcards; not applied" in caplog.text
