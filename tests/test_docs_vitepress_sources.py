"""A VitePress project's pages are where its config says: `srcDir`, less `srcExclude`.

Real configs set `srcDir: 'src'` (a project keeping its pages beside `.vitepress/`'s
siblings), `srcDir: '../'` (a repository whose pages live all over it, under `rewrites`)
and, most often, `srcExclude: ['**/README.md']`: VitePress then builds neither the
README nor anything under `node_modules/` or `dist/`. docloop indexed the project folder
whole, so the pages got `src/` in their paths and URLs, and the README the site leaves out
was searched and matched like a page."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from docloop.cli import main
from docloop.docs.globs import MAX_SPELLED
from docloop.docs.globs import spelled_out as _braces
from docloop.docs.js_config import JsConfig
from docloop.docs.loader import load_pages
from docloop.docs.site_root import site_folder
from docloop.docs.vitepress_site import pages_sources
from tests.docs_helpers import search_json, write_docs

GUIDE = {"index.md": "# Tidepool\n\nTidepool streams sensor readings.\n",
         "guide/retries.md": "# Retries\n\nSet `retry_backoff` to space out retried "
                             "uploads after a 429 answer.\n"}
LEFT_OUT = {"README.md": "# Contributing to these docs\n\nretry_backoff notes for editors.\n",
            "guide/README.md": "# Guide folder\n\nretry_backoff drafts live here.\n",
            "drafts/retry-ideas.md": "# Retry ideas\n\nretry_backoff after a 429, maybe.\n",
            "dist/guide/retries.md": "# Retries (built copy)\n\nretry_backoff after a 429.\n"}
CONFIG = """\
import { defineConfig } from 'vitepress'

export default defineConfig({
  title: 'Tidepool',
  srcDir: 'src',
  srcExclude: ['**/README.md', 'drafts/**'],
  sitemap: { hostname: 'https://tidepool.dev' },
})
"""


def project(root: Path, config: str = CONFIG, src: str = "src") -> Path:
    write_docs(root, {".vitepress/config.ts": config, "README.md": "# repo\n\nretry_backoff\n"})
    write_docs(root / src, {**GUIDE, **LEFT_OUT})
    return root


@pytest.fixture
def runner(model_runner: CliRunner) -> CliRunner:
    return model_runner


def test_a_project_is_indexed_from_its_src_dir_less_what_it_excludes(
        runner: CliRunner, tmp_path: Path) -> None:
    root = project(tmp_path / "site")
    result = runner.invoke(main, ["index-docs", str(root)])
    assert result.exit_code == 0, result.output
    assert "indexed 2 pages" in result.stderr
    assert f"indexing its pages folder {root / 'src'}" in result.stderr
    hits = search_json(runner, "retry_backoff after a 429", 5)
    assert {h["path"] for h in hits} == {"guide/retries.md", "index.md"}
    assert hits[0]["url"].split("#")[0] == "https://tidepool.dev/guide/retries.html"


def test_the_docs_folder_of_a_repository_is_read_the_same_way(tmp_path: Path) -> None:
    project(tmp_path / "docs")
    site = site_folder(tmp_path)
    assert site.pages == tmp_path / "docs" / "src"
    assert site.site_url == "https://tidepool.dev/"
    pages = load_pages(site.pages, site.site_url, generator=site.generator,
                       site_config=site.config)
    assert [p.path for p in pages] == ["guide/retries.md", "index.md"]


def test_the_src_dir_given_itself_still_leaves_out_what_the_config_excludes(
        tmp_path: Path) -> None:
    root = project(tmp_path, src="src")
    pages = load_pages(root / "src", "https://tidepool.dev/", generator="vitepress")
    # the config is found beside the pages folder's parent, as `detect_generator` finds it
    assert [p.path for p in pages] == ["guide/retries.md", "index.md"]
    inside = pages_sources(root / "src" / "guide", root / ".vitepress" / "config.ts")
    assert inside.leaves_out("README.md") and not inside.leaves_out("retries.md")


def test_without_src_dir_the_project_is_the_pages_folder(tmp_path: Path) -> None:
    write_docs(tmp_path, {".vitepress/config/index.ts": "export default {\n  srcExclude: "
                          "['**/README.md'],\n  cleanUrls: true,\n}\n", **GUIDE, **LEFT_OUT})
    site = site_folder(tmp_path)
    assert site.pages == tmp_path and site.generator == "vitepress"
    pages = load_pages(site.pages, "https://t.dev", generator=site.generator,
                       site_config=site.config)
    # drafts/ is a page here: only README.md is excluded; dist/ never is a page
    assert {p.path: p.url for p in pages} == {
        "drafts/retry-ideas.md": "https://t.dev/drafts/retry-ideas",
        "guide/retries.md": "https://t.dev/guide/retries", "index.md": "https://t.dev/"}


def test_a_src_dir_outside_the_given_folder_is_not_followed(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """`srcDir: '../'` from `docs/.vitepress` reads the whole repository: followed from
    the repository root, never from `docs/` upward."""
    config = ("export default {\n  srcDir: '../',\n  srcExclude: ['*.md', '**/README.md'],\n"
              "  rewrites: { 'packages/:pkg/docs/:page.md': ':pkg/:page.md' },\n}\n")
    write_docs(tmp_path, {"docs/.vitepress/config.ts": config, "README.md": "# repo\n",
                          "CHANGES.md": "# Changes\n", "docs/index.md": "# Home\n",
                          "packages/core/docs/retries.md": GUIDE["guide/retries.md"]})
    with caplog.at_level(logging.INFO):
        from_docs = site_folder(tmp_path / "docs")
        from_root = site_folder(tmp_path)
    assert from_docs.pages == tmp_path / "docs"
    assert "is outside" in caplog.text
    assert from_root.pages == tmp_path
    pages = load_pages(from_root.pages, "https://t.dev", generator=from_root.generator,
                       site_config=from_root.config)
    # each page is linked where the rewrites publish it
    assert {p.path: p.url for p in pages} == {
        "docs/index.md": "https://t.dev/docs/",
        "packages/core/docs/retries.md": "https://t.dev/core/retries.html"}


@pytest.mark.parametrize(("config", "said"), [
    ("const src = 'src'\nexport default { srcDir: src }\n", "not a plain string"),
    ("export default { srcDir: 'pages' }\n", "'pages' is not a folder"),
])
def test_a_src_dir_that_cannot_be_followed_is_said_and_the_project_read(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, config: str, said: str) -> None:
    project(tmp_path, config=config)
    with caplog.at_level(logging.WARNING):
        assert site_folder(tmp_path).pages == tmp_path
    assert said in caplog.text


def test_an_exclude_list_that_cannot_be_read_excludes_nothing_and_says_so(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = "const shared = ['**/README.md']\nexport default { srcExclude: [...shared] }\n"
    write_docs(tmp_path, {".vitepress/config.ts": config, **GUIDE, **LEFT_OUT})
    with caplog.at_level(logging.WARNING):
        pages = load_pages(tmp_path, None, generator="vitepress")
    assert "README.md" in [p.path for p in pages]
    assert "srcExclude is not an array of plain strings" in caplog.text


@pytest.mark.parametrize(("written", "read"), [
    ("srcExclude: ['**/README.md', \"drafts/**\"],", ["**/README.md", "drafts/**"]),
    ("srcExclude: [\n  'a.md',\n  'b/**',\n],", ["a.md", "b/**"]),
    ("srcExclude: [],", []),
    ("srcExclude: [...base, 'a.md'],", None),
    ("srcExclude: ['a.md' /* why */],", None),
    ("srcExclude: excluded,", None),
])
def test_a_list_of_plain_strings_is_read_whole_or_not_at_all(
        written: str, read: list[str] | None) -> None:
    js = JsConfig(f"export default {{\n  {written}\n}}\n")
    (found,) = js.properties("srcExclude", 1)
    assert js.string_list(found) == read


def test_brace_alternatives_are_spelled_out_within_a_bound() -> None:
    assert _braces("guide/*.{md,mdx}") == ["guide/*.md", "guide/*.mdx"]
    assert _braces("{a,b}/{c,d}.md") == ["a/c.md", "a/d.md", "b/c.md", "b/d.md"]
    assert MAX_SPELLED < 2 ** 40  # "{a,b}" * 40 would spell out to 2^40 globs


LOCALES = """\
export default defineConfig({
  // prettier-ignore
  locales: {
    root: { label: 'English', lang: 'en-US', dir: 'ltr' },
    zh: { label: '简体中文', lang: 'zh-Hans', themeConfig: { nav: [{ text: 'x', link: '/' }] } },
    'pt-BR': { label: 'Português', lang: 'pt-BR' },
    // ru: { label: 'Русский' },
  },
})
"""
TRANSLATED = {"zh/guide/retries.md": "# 重试\n\n设置 `retry_backoff` after a 429.\n",
              "pt-BR/guide/retries.md": "# Tentativas\n\n`retry_backoff` depois de um 429.\n",
              "ru/guide/retries.md": "# Повторы\n\n`retry_backoff` после 429.\n"}


def test_the_root_locale_is_indexed_and_its_translations_named(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """VitePress' own docs keep seven translations beside the English pages: searched as
    one site, a problem pasting `retry_backoff` could be sent to the Chinese copy."""
    write_docs(tmp_path / "docs", {".vitepress/config.ts": LOCALES, **GUIDE, **TRANSLATED})
    with caplog.at_level(logging.INFO):
        site = site_folder(tmp_path)
        pages = load_pages(site.pages, None, generator=site.generator, site_config=site.config)
    # ru/ is no locale (its entry is commented out): a folder of the root locale's pages
    assert [p.path for p in pages] == ["guide/retries.md", "index.md", "ru/guide/retries.md"]
    assert "left out 2 page(s) in other languages (pt-BR, zh)" in caplog.text
    assert "does not publish" not in caplog.text  # translations are published, not excluded


def test_a_translation_given_itself_is_indexed(tmp_path: Path) -> None:
    write_docs(tmp_path, {".vitepress/config.ts": LOCALES, **GUIDE, **TRANSLATED})
    pages = load_pages(tmp_path / "zh", None, generator="vitepress")
    assert [p.path for p in pages] == ["guide/retries.md"]


@pytest.mark.parametrize("config", [
    "import { locales } from './locales'\nexport default { locales }\n",
    "export default { locales: makeLocales(['zh', 'ja']) }\n",
])
def test_locales_that_cannot_be_read_are_said(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, config: str) -> None:
    write_docs(tmp_path, {".vitepress/config.ts": config, **GUIDE, **TRANSLATED})
    with caplog.at_level(logging.WARNING):
        pages = load_pages(tmp_path, None, generator="vitepress")
    assert len(pages) == 5
    assert "its locales cannot be read; translations are indexed" in caplog.text


REWRITES = """\
export default {
  cleanUrls: true,
  rewrites: {
    'en/:rest*': ':rest*',
    // 'old/:page.md': 'new/:page.md',
  },
  locales: { root: { label: 'English' }, zh: { label: '简体中文' } },
}
"""


def test_pages_are_linked_where_the_rewrites_publish_them(tmp_path: Path) -> None:
    """VitePress' own docs keep the English pages in `en/` and publish them at the root
    (`'en/:rest*': ':rest*'`): linked by file path, every ticket's link was a 404."""
    write_docs(tmp_path, {".vitepress/config.ts": REWRITES, "README.md": "# Docs repo\n",
                          **{f"en/{path}": text for path, text in GUIDE.items()},
                          "zh/guide/retries.md": "# 重试\n"})
    pages = load_pages(tmp_path, "https://vp.dev/", generator="vitepress")
    assert {p.path: p.url for p in pages} == {
        "README.md": "https://vp.dev/README",  # no index: VitePress publishes it as a page
        "en/guide/retries.md": "https://vp.dev/guide/retries",
        "en/index.md": "https://vp.dev/"}


@pytest.mark.parametrize("rewrites", [
    "rewrites(id) { return id.replace(/^en\\//, '') },",
    "rewrites: { '^/en/(.*)$': '$1' },",
    "rewrites: { 'en/:page(\\\\w+).md': ':page.md' },",
    "rewrites: { 'en/:rest*': target },",
])
def test_rewrites_that_cannot_be_read_are_said(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, rewrites: str) -> None:
    write_docs(tmp_path, {".vitepress/config.ts": f"export default {{\n  {rewrites}\n}}\n",
                          **{f"en/{path}": text for path, text in GUIDE.items()}})
    with caplog.at_level(logging.WARNING):
        pages = load_pages(tmp_path, None, generator="vitepress")
    assert [p.url for p in pages] == ["en/guide/retries.html", "en/"]
    assert "some of its rewrites cannot be read" in caplog.text


def test_a_search_providers_locales_are_not_the_sites(tmp_path: Path) -> None:
    """VitePress' local search takes `locales` of its own, inside `themeConfig`; reading
    two `locales` objects, docloop gave up and indexed every translation."""
    config = LOCALES.replace("})\n", "  themeConfig: { search: { provider: 'local', options: "
                             "{ locales: { zh: { translations: {} } } } } },\n})\n")
    write_docs(tmp_path, {".vitepress/config.ts": config, **GUIDE, **TRANSLATED})
    pages = load_pages(tmp_path, None, generator="vitepress")
    assert [p.path for p in pages] == ["guide/retries.md", "index.md", "ru/guide/retries.md"]


def test_a_page_rewritten_into_a_locale_is_a_translation(tmp_path: Path) -> None:
    """VitePress tells a page's locale by where it is published, after the rewrites."""
    config = ("export default {\n  rewrites: { 'i18n/ja/:rest*': 'ja/:rest*' },\n"
              "  locales: { root: { label: 'English' }, ja: { label: '日本語' } },\n}\n")
    write_docs(tmp_path, {".vitepress/config.ts": config, **GUIDE,
                          "i18n/ja/guide/retries.md": "# 再試行\n"})
    assert [p.path for p in load_pages(tmp_path, None, generator="vitepress")] == [
        "guide/retries.md", "index.md"]


def test_a_translation_given_itself_is_linked_under_its_folder(tmp_path: Path) -> None:
    write_docs(tmp_path, {".vitepress/config.ts": LOCALES.replace(
        "  locales", "  sitemap: { hostname: 'https://t.dev' },\n  locales"), **GUIDE,
        **TRANSLATED})
    site = site_folder(tmp_path / "zh")
    pages = load_pages(site.pages, site.site_url, generator="vitepress")
    assert [(p.path, p.url) for p in pages] == [
        ("guide/retries.md", "https://t.dev/zh/guide/retries.html")]


def test_the_config_is_found_where_vitepress_looks_first(tmp_path: Path) -> None:
    """VitePress tries `config/index.js`, `config.js`, then the TypeScript ones."""
    write_docs(tmp_path, {".vitepress/config.js": "export default { cleanUrls: true }\n",
                          ".vitepress/config.ts": "export default { cleanUrls: false }\n",
                          **GUIDE})
    pages = load_pages(tmp_path, "https://t.dev", generator="vitepress")
    assert "https://t.dev/guide/retries" in [p.url for p in pages]


def test_an_exclude_glob_too_costly_to_match_is_said_and_dropped(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The regular expression `a*a*a*…b` becomes backtracks over a long file name for
    minutes; one with so many wildcards is no real config's."""
    config = "export default {\n  srcExclude: ['a*a*a*a*a*a*a*a*a*a*a*a*b', 'drafts/**'],\n}\n"
    write_docs(tmp_path, {".vitepress/config.ts": config, **GUIDE, "a" * 60 + ".md": "# A\n",
                          "drafts/x.md": "# Draft\n"})
    with caplog.at_level(logging.WARNING):
        pages = load_pages(tmp_path, None, generator="vitepress")
    assert [p.path for p in pages] == ["a" * 60 + ".md", "guide/retries.md", "index.md"]
    assert "has more than 8 wildcards; not applied" in caplog.text


def test_a_brace_without_a_comma_is_literal_and_a_glob_past_the_bound_is_said(
        caplog: pytest.LogCaptureFixture) -> None:
    assert _braces("notes/{draft}.md") == ["notes/{draft}.md"]
    with caplog.at_level(logging.WARNING):
        assert _braces("{a,b}" * 40) == []
    assert "spells out to more than" in caplog.text


def test_options_of_the_same_name_deeper_in_the_config_are_not_the_sites(
        tmp_path: Path) -> None:
    """`rewrites`, `sitemap` and `locales` are read as the config's own options: a plugin's
    or the theme's option of the same name deeper in the config made the site's unreadable
    (its rewrites ignored) or gave it no address."""
    config = ("export default {\n  cleanUrls: true,\n  rewrites: { 'en/:rest*': ':rest*' },\n"
              "  sitemap: { hostname: 'https://vp.dev' },\n"
              "  themeConfig: { search: { options: { rewrites: { a: 'b' }, sitemap: "
              "{ hostname: 'https://search.example' } } } },\n}\n")
    write_docs(tmp_path, {".vitepress/config.ts": config,
                          **{f"en/{path}": text for path, text in GUIDE.items()}})
    site = site_folder(tmp_path)
    assert site.site_url == "https://vp.dev/"
    pages = load_pages(site.pages, site.site_url, generator="vitepress")
    assert {p.path: p.url for p in pages} == {
        "en/guide/retries.md": "https://vp.dev/guide/retries", "en/index.md": "https://vp.dev/"}


def test_clean_urls_in_a_comment_is_no_setting(tmp_path: Path) -> None:
    """VitePress publishes `foo.html` unless the config sets `cleanUrls: true`; a comment
    naming the option (or an example string) set nothing, but read as text it did."""
    config = ("export default {\n  // cleanUrls: true, once the host rewrites URLs\n"
              "  title: 'T',\n}\n")
    write_docs(tmp_path, {".vitepress/config.ts": config, **GUIDE})
    pages = load_pages(tmp_path, "https://t.dev", generator="vitepress")
    assert "https://t.dev/guide/retries.html" in [p.url for p in pages]
