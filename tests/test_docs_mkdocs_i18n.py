"""An mkdocs site built with the i18n plugin is indexed in its default language.

The plugin (mkdocs-static-i18n) keeps every language in one `docs_dir`: `foo.fr.md` beside
`foo.md`, or `en/` and `fr/` folders. Indexed whole, a problem pasting an option name was
matched to its French page as readily as to the English one, and the English pages in
`en/` were linked under an `en/` the site does not publish."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from docloop.docs.loader import load_pages
from docloop.docs.mkdocs_i18n import plugin_languages
from tests.docs_helpers import write_docs

RETRIES = "# Retries\n\nSet `retry_backoff` to space out retried uploads after a 429.\n"
SUFFIX = """\
site_name: Tidepool
plugins:
  - search
  - i18n:
      languages:
        - locale: en
          default: true
          name: English
        - locale: fr
          name: Français
"""
FOLDER = SUFFIX.replace("  - i18n:\n", "  - i18n:\n      docs_structure: folder\n")


def test_suffixed_translations_are_left_out_and_named(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_docs(tmp_path, {"mkdocs.yml": SUFFIX})
    write_docs(tmp_path / "docs", {
        "index.md": "# Tidepool\n", "index.fr.md": "# Tidepool (fr)\n",
        "guide/retries.md": RETRIES, "guide/retries.fr.md": RETRIES,
        "guide/retries.pt-BR.md": RETRIES,  # a locale the config does not name yet
        "guide/setup.en.md": "# Setup\n",  # the default language, suffixed
        "guide/v1.2.md": "# Version 1.2\n"})  # a dotted name, no locale
    with caplog.at_level(logging.INFO):
        pages = load_pages(tmp_path / "docs", "https://t.dev/")
    assert {p.path: p.url for p in pages} == {
        "guide/retries.md": "https://t.dev/guide/retries/",
        "guide/setup.en.md": "https://t.dev/guide/setup/",
        "guide/v1.2.md": "https://t.dev/guide/v1.2/",
        "index.md": "https://t.dev/"}
    assert "left out 3 page(s) in other languages (fr, pt-BR)" in caplog.text


def test_a_default_language_copy_beside_the_page_is_one_page(tmp_path: Path) -> None:
    """Two files of one page in the default language (the plugin refuses to build them
    when several languages build) are indexed as one: `foo.md`, the unsuffixed one."""
    write_docs(tmp_path, {"mkdocs.yml": SUFFIX})
    write_docs(tmp_path / "docs", {"index.md": "# Home\n", "index.en.md": "# Home (en)\n"})
    assert [p.path for p in load_pages(tmp_path / "docs", None)] == ["index.md"]


def test_language_folders_index_the_default_one_at_the_root(tmp_path: Path) -> None:
    write_docs(tmp_path, {"mkdocs.yml": FOLDER})
    write_docs(tmp_path / "docs", {
        "en/index.md": "# Tidepool\n", "en/guide/retries.md": RETRIES,
        "fr/index.md": "# Tidepool (fr)\n", "fr/guide/retries.md": RETRIES,
        "de/guide/retries.md": RETRIES, "shared/glossary.md": "# Glossary\n"})
    pages = load_pages(tmp_path / "docs", "https://t.dev/")
    assert {p.path: p.url for p in pages} == {
        "en/guide/retries.md": "https://t.dev/guide/retries/",
        "en/index.md": "https://t.dev/",
        "shared/glossary.md": "https://t.dev/shared/glossary/"}


@pytest.mark.parametrize(("plugins", "default", "folders"), [
    ("plugins:\n  - i18n:\n      docs_structure: folder\n      languages:\n"
     "        - locale: de\n          default: true\n        - locale: en\n", "de", True),
    ("plugins:\n  i18n:\n    languages:\n      - locale: en\n", "en", False),  # the only one
    # 0.x configs: `default_language` and a mapping of languages
    ("plugins:\n  - i18n:\n      default_language: en\n      languages:\n"
     "        fr: français\n", "en", False),
])
def test_the_plugins_config_is_read_in_its_forms(
        tmp_path: Path, plugins: str, default: str, folders: bool) -> None:
    import yaml
    found = plugin_languages(yaml.safe_load(plugins))
    assert found is not None and (found.default, found.folders) == (default, folders)


@pytest.mark.parametrize("plugins", [
    "plugins:\n  - search\n",
    "plugins:\n  - i18n:\n      languages:\n        - locale: en\n        - locale: fr\n",
    "plugins:\n  - i18n\n",
])
def test_no_default_language_means_every_page_is_indexed(plugins: str) -> None:
    import yaml
    assert plugin_languages(yaml.safe_load(plugins)) is None
