"""`index-docs` given a site's project folder reads the pages the generator reads.

Pointed at a repository root or at the folder holding `mkdocs.yml` (FastAPI's
`docs/en`, Pydantic's repository), docloop indexed the README, the tests' and
`node_modules`' Markdown, and gave every page a path and URL starting with `docs/`, a
URL the site does not publish."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from docloop.cli import main
from docloop.docs.loader import load_pages
from docloop.docs.site_root import site_folder
from tests.docs_helpers import search_json, write_docs

GUIDE = {"index.md": "# Tidepool\n\nTidepool streams sensor readings.\n",
         "guide/retries.md": "# Retries\n\nSet `retry_backoff` to space out retried "
                             "uploads after a 429 answer.\n"}
#: what a project folder holds besides its pages
AROUND = {"README.md": "# Tidepool repository\n\nretry_backoff is documented elsewhere.\n",
          "tests/fixtures/notes.md": "# Test notes\n\nretry_backoff test fixture.\n",
          "node_modules/some-package/README.md": "# some-package\n\nretry_backoff\n"}


def mkdocs_project(root: Path, config: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "mkdocs.yml").write_text(config, encoding="utf-8")
    write_docs(root, AROUND)
    return root


@pytest.fixture
def runner(model_runner: CliRunner) -> CliRunner:
    return model_runner


def search(runner: CliRunner, query: str) -> list[dict[str, str]]:
    return search_json(runner, query, 5)


def test_an_mkdocs_project_is_indexed_from_its_docs_dir_and_linked_at_its_site_url(
        runner: CliRunner, tmp_path: Path) -> None:
    project = mkdocs_project(tmp_path / "site", "site_name: T\nsite_url: https://t.dev/\n")
    write_docs(project / "docs", GUIDE)
    result = runner.invoke(main, ["index-docs", str(project)])
    assert result.exit_code == 0, result.output
    assert "indexed 2 pages" in result.stderr
    assert f"indexing its docs_dir {project / 'docs'}" in result.stderr  # says which folder
    assert "no --base-url" not in result.stderr  # site_url links the pages
    hits = search(runner, "retry_backoff after a 429")
    assert {h["path"] for h in hits} == {"guide/retries.md", "index.md"}
    assert hits[0]["url"].split("#")[0] == "https://t.dev/guide/retries/"
    override = runner.invoke(main, ["index-docs", str(project), "--base-url",
                                    "https://docs.t.dev/latest/"])
    assert "2 changed" in override.stderr  # --base-url wins over site_url
    assert search(runner, "retry_backoff")[0]["url"].split("#")[0] == \
        "https://docs.t.dev/latest/guide/retries/"


def test_a_docs_dir_the_config_names_is_read_with_the_configs_rules(tmp_path: Path) -> None:
    project = mkdocs_project(tmp_path, "docs_dir: site/src\nexclude_docs: |\n  drafts/\n")
    write_docs(project / "site" / "src", {**GUIDE, "drafts/next.md": "# Next\n"})
    site = site_folder(project)
    assert site.pages == (project / "site" / "src").resolve()
    assert site.site_url is None
    pages = load_pages(site.pages, site.site_url, generator=site.generator,
                       site_config=site.config)  # the config is two folders up
    assert [p.path for p in pages] == ["guide/retries.md", "index.md"]
    assert [p.url for p in pages] == ["guide/retries/", ""]


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, "https://default.dev/"),
    ({"SITE_URL": "https://from-env.dev/"}, "https://from-env.dev/"),
    ({"READTHEDOCS_CANONICAL_URL": "https://rtd.dev/en/latest/",
      "SITE_URL": "https://from-env.dev/"}, "https://rtd.dev/en/latest/"),
])
def test_a_site_url_from_the_environment_is_resolved_as_mkdocs_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environ: dict[str, str],
        expected: str) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    project = mkdocs_project(tmp_path, "site_url: !ENV [READTHEDOCS_CANONICAL_URL, SITE_URL, "
                                       "'https://default.dev/']\n")
    write_docs(project / "docs", GUIDE)
    assert site_folder(project).site_url == expected


def test_a_docs_folder_with_its_config_inside_is_indexed_as_it_is(tmp_path: Path) -> None:
    """The corpora's layout: the docs folder copied with `mkdocs.yml` inside it and no
    `docs/` beneath (mkdocs itself could not build it, but its pages are all there)."""
    (tmp_path / "mkdocs.yml").write_text("site_url: 'https://t.dev/'\nnav: []\n")
    write_docs(tmp_path, GUIDE)
    site = site_folder(tmp_path)
    assert (site.pages, site.site_url, site.route) == (tmp_path, "https://t.dev/", "")
    below = site_folder(tmp_path / "guide")  # the docs_dir itself: the config above it
    assert (below.pages, below.site_url) == (tmp_path / "guide", "https://t.dev/")
    assert site_folder(tmp_path / "guide").generator is None  # detected as before


def test_a_site_url_that_is_not_a_web_url_links_nothing(tmp_path: Path) -> None:
    project = mkdocs_project(tmp_path, "site_url: /relative/\n")
    write_docs(project / "docs", GUIDE)
    assert site_folder(project).site_url is None


def test_a_vitepress_project_is_indexed_from_the_folder_holding_vitepress(
        runner: CliRunner, tmp_path: Path) -> None:
    write_docs(tmp_path, {**AROUND, "packages/vite/README.md": "# vite\n\nretry_backoff\n"})
    write_docs(tmp_path / "docs", {**GUIDE, ".vitepress/theme/notes.md": "# theme\n"})
    result = runner.invoke(main, ["index-docs", str(tmp_path), "--base-url", "https://v.dev"])
    assert result.exit_code == 0, result.output
    assert "indexed 2 pages" in result.stderr
    hits = search(runner, "retry_backoff after a 429")
    assert hits[0]["path"] == "guide/retries.md"
    assert hits[0]["url"].split("#")[0] == "https://v.dev/guide/retries"  # clean URLs


#: a real-shaped TypeScript config (typescript-eslint's opens the same way)
DOCUSAURUS = """\
import type {{ Config }} from '@docusaurus/types';

const config: Config = {{
  title: 'typescript-eslint',
  url: 'https://typescript-eslint.io',
  baseUrl: '{base}',
  presets: [['classic', {{ docs: {{ sidebarPath: require.resolve('./sidebars.js'),{docs} }} }}]],
  themeConfig: {{ navbar: {{ items: [{{ href: 'https://github.com/x', label: 'GitHub' }}] }} }},
}};
export default config;
"""


@pytest.mark.parametrize(("base", "docs", "route", "site_url"), [
    ("/", "", "docs", "https://typescript-eslint.io/"),
    ("/", " routeBasePath: '/'", "", "https://typescript-eslint.io/"),
    ("/tools/", " routeBasePath: \"guides/\"", "guides", "https://typescript-eslint.io/tools/"),
])
def test_a_docusaurus_project_indexes_its_docs_under_their_route(
        tmp_path: Path, base: str, docs: str, route: str, site_url: str) -> None:
    (tmp_path / "docusaurus.config.ts").write_text(DOCUSAURUS.format(base=base, docs=docs))
    write_docs(tmp_path, {**AROUND, "blog/2024-05-01-launch.md": "# Launch\n",
                          "src/pages/about.md": "# About\n"})
    write_docs(tmp_path / "docs", {"intro.mdx": "# Intro\n", "guide/retries.md": "# R\n"})
    site = site_folder(tmp_path)
    assert (site.pages, site.route, site.generator) == (tmp_path / "docs", route, "docusaurus")
    assert site.site_url == site_url
    pages = load_pages(site.pages, site.site_url, generator=site.generator, mount=site.route)
    prefix = f"{route}/" if route else ""
    assert {p.path: p.url for p in pages} == {
        f"{prefix}guide/retries.md": f"{site_url}{prefix}guide/retries",
        f"{prefix}intro.mdx": f"{site_url}{prefix}intro"}
    given = site_folder(tmp_path / "docs")  # the docs folder itself: its URL has the route
    assert (given.pages, given.route, given.site_url) == (tmp_path / "docs", "",
                                                          f"{site_url}{prefix}")


@pytest.mark.parametrize("config", [
    "const url = 'https://x.dev';\nexport default { url, baseUrl: '/' };\n",  # a variable
    "export default {\n  url: process.env.URL,\n  baseUrl: '/',\n};\n",
    "export default {\n  url: 'https://a.dev',\n  url: 'https://b.dev',\n  baseUrl: '/',\n"
    "};\n",  # two: not guessed
    "export default {\n  url: 'ftp://a.dev',\n  baseUrl: '/',\n};\n",
    "const baseUrl = '/my-project/';\nexport default { url: 'https://o.github.io', baseUrl };\n",
    "export default {\n  url: 'https://o.github.io',\n  baseUrl: process.env.BASE_URL ?? "
    "'/my-project/',\n};\n",
    "export default { url: 'https://o.github.io' };\n",  # baseUrl is required
])
def test_a_docusaurus_url_that_is_not_one_plain_string_links_nothing(
        tmp_path: Path, config: str) -> None:
    (tmp_path / "docusaurus.config.js").write_text(config)
    (tmp_path / "docs").mkdir()
    assert site_folder(tmp_path).site_url is None


@pytest.mark.parametrize(("config", "route"), [
    # the blog's and the pages plugin's routes are their own
    ("presets: [['classic', { docs: { sidebarPath: './s.js' }, blog: { routeBasePath: "
     "'news' } }]]", "docs"),
    ("presets: [['classic', { docs: { routeBasePath: '/' }, blog: { routeBasePath: '/blog' "
     "} }]]", ""),
    ("plugins: [['@docusaurus/plugin-content-docs', { id: 'api', path: 'docs', "
     "routeBasePath: 'api' }]]", "api"),
    ("presets: [['classic', { docs: { /* routeBasePath: 'old' */ path: 'docs' } }]]",
     "docs"),  # a comment is no option
])
def test_the_docs_route_is_the_docs_plugins_own(tmp_path: Path, config: str,
                                                route: str) -> None:
    (tmp_path / "docusaurus.config.js").write_text(f"module.exports = {{\n  {config},\n}};\n")
    (tmp_path / "docs").mkdir()
    assert site_folder(tmp_path).route == route


@pytest.mark.parametrize("config", [
    "docs: { routeBasePath: 'a' }, plugins: [['@docusaurus/plugin-content-docs', "
    "{ routeBasePath: 'b' }]]",  # two docs instances
    "docs: { routeBasePath: process.env.DOCS_ROUTE }",  # not a plain string
])
def test_docusaurus_routes_the_config_cannot_say_once_take_the_default(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, config: str) -> None:
    (tmp_path / "docusaurus.config.js").write_text(f"export default {{ {config} }};\n")
    (tmp_path / "docs").mkdir()
    with caplog.at_level(logging.WARNING):
        assert site_folder(tmp_path).route == "docs"
    assert "cannot tell the docs route from its routeBasePath" in caplog.text
    assert "--mount ROUTE=FOLDER" in caplog.text


def test_installed_packages_are_never_pages(tmp_path: Path) -> None:
    write_docs(tmp_path, {**GUIDE, "node_modules/pkg/README.md": "# pkg\n",
                          "guide/node_modules/x/readme.md": "# x\n"})
    assert [p.path for p in load_pages(tmp_path)] == ["guide/retries.md", "index.md"]


def test_an_unreadable_config_is_said_once_and_the_folder_indexed_whole(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "mkdocs.yml").write_text("site_url: [unclosed\n")
    write_docs(tmp_path, GUIDE)
    with caplog.at_level(logging.WARNING):
        site = site_folder(tmp_path)
        pages = load_pages(site.pages, site.site_url)
    assert caplog.text.count("cannot read it") == 1
    assert [p.path for p in pages] == ["guide/retries.md", "index.md"]


def test_a_folder_of_several_sites_is_refused_naming_them(runner: CliRunner,
                                                          tmp_path: Path) -> None:
    """FastAPI's `docs/` at 0.112: one mkdocs site per language, each with its own config."""
    for language in ("de", "en", "es"):
        mkdocs_project(tmp_path / "docs" / language, "site_name: T\n")
        write_docs(tmp_path / "docs" / language / "docs", GUIDE)
    write_docs(tmp_path / "docs", {"missing-translation.md": "# Missing\n"})
    result = runner.invoke(main, ["index-docs", str(tmp_path / "docs")])
    assert result.exit_code == 2
    assert (f"{tmp_path / 'docs'} holds 3 mkdocs sites (de, en, es): index one of them, "
            f"such as docloop index-docs {tmp_path / 'docs' / 'en'}") in result.stderr
    one = runner.invoke(main, ["index-docs", str(tmp_path / "docs" / "en")])
    assert one.exit_code == 0, one.output
    assert "indexed 2 pages" in one.stderr


def test_a_copied_docs_folder_whose_nav_names_its_own_pages_stays_the_docs_folder(
        tmp_path: Path) -> None:
    """The copy holds `mkdocs.yml` and, as one of its sections, a folder named like the
    default `docs_dir`: the nav (paths relative to `docs_dir`) names pages of the copy."""
    nav = "nav:\n  - Home: index.md\n  - Guide:\n    - guide/retries.md\n" \
          "    - docs/writing.md\n  - Blog: https://t.dev/blog/\n"
    (tmp_path / "mkdocs.yml").write_text(nav)
    write_docs(tmp_path, {**GUIDE, "docs/writing.md": "# Writing the docs\n"})
    assert site_folder(tmp_path).pages == tmp_path
    project = mkdocs_project(tmp_path / "project", nav)
    write_docs(project / "docs", {**GUIDE, "docs/writing.md": "# Writing\n"})
    assert site_folder(project).pages == (project / "docs").resolve()


@pytest.mark.parametrize("docs_dir", ["/", "../outside", "docs/../.."])
def test_a_docs_dir_outside_the_project_is_not_followed(
        tmp_path: Path, docs_dir: str, caplog: pytest.LogCaptureFixture) -> None:
    """A config cannot send index-docs to read the disk: `docs_dir: /` would index it all."""
    write_docs(tmp_path / "outside", GUIDE)
    project = mkdocs_project(tmp_path / "project", f"docs_dir: '{docs_dir}'\n")
    write_docs(project / "docs", GUIDE)
    with caplog.at_level(logging.WARNING):
        assert site_folder(project).pages == project
    assert f"docs_dir {docs_dir} is outside the folder" in caplog.text


def test_a_repository_of_several_sites_is_refused_unless_the_generator_is_given(
        runner: CliRunner, tmp_path: Path) -> None:
    """FastAPI's repository root at 0.112: the sites are two folders down (`docs/<language>`)."""
    for language in ("en", "es"):
        mkdocs_project(tmp_path / "docs" / language, "site_name: T\n")
        write_docs(tmp_path / "docs" / language / "docs", GUIDE)
    result = runner.invoke(main, ["index-docs", str(tmp_path)])
    assert result.exit_code == 2
    assert (f"{tmp_path} holds 2 mkdocs sites (docs/en, docs/es): index one of them, such "
            f"as docloop index-docs {tmp_path / 'docs' / 'en'}") in result.stderr
    anyway = runner.invoke(main, ["index-docs", str(tmp_path), "--generator", "mkdocs"])
    assert anyway.exit_code == 0, anyway.output
    assert "indexed 8 pages" in anyway.stderr  # as asked: both sites, READMEs included


def test_one_site_inside_a_plain_folder_is_named_not_forced(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_docs(tmp_path, GUIDE)
    mkdocs_project(tmp_path / "examples" / "demo", "site_name: Demo\n")
    with caplog.at_level(logging.WARNING):
        assert site_folder(tmp_path).pages == tmp_path
    assert (f"{tmp_path} holds an mkdocs site in examples/demo/ but is not one itself: "
            f"indexing it as it is; give {tmp_path / 'examples' / 'demo'}") in caplog.text


@pytest.mark.parametrize("section", [1, 5])  # however large the section named like it
def test_a_copied_docs_folder_without_a_nav_stays_the_docs_folder(tmp_path: Path,
                                                                  section: int) -> None:
    """No nav to tell: a subfolder named like `docs_dir` beside the folder's own home page
    is one of its sections, not the site's pages folder."""
    (tmp_path / "mkdocs.yml").write_text("site_name: T\n")
    write_docs(tmp_path, {**GUIDE, "guide/queues.md": "# Queues\n", "README.md": "# R\n",
                          **{f"docs/writing-{n}.md": "# Writing\n" for n in range(section)}})
    assert site_folder(tmp_path).pages == tmp_path
    project = mkdocs_project(tmp_path / "project", "site_name: T\n")  # README, tests' notes
    write_docs(project / "docs", GUIDE)
    assert site_folder(project).pages == (project / "docs").resolve()


@pytest.mark.parametrize(("config", "url"), [
    ("export default defineConfig({ title: 'Vite' })\n", "https://v.dev/guide/retries.html"),
    ("export default defineConfig({\n  cleanUrls: true,\n})\n", "https://v.dev/guide/retries"),
    ("export default defineConfig({ cleanUrls: false })\n", "https://v.dev/guide/retries.html"),
])
def test_a_vitepress_site_links_html_files_unless_it_cleans_its_urls(
        tmp_path: Path, config: str, url: str) -> None:
    """VitePress publishes `guide/retries.md` at `guide/retries.html` by default; only
    `cleanUrls: true` drops the suffix. A folder's index is the folder either way."""
    write_docs(tmp_path / "docs", {**GUIDE, ".vitepress/config.mts": config})
    pages = {p.path: p.url for p in load_pages(tmp_path / "docs", "https://v.dev")}
    assert pages == {"guide/retries.md": url, "index.md": "https://v.dev/"}


@pytest.mark.parametrize("nav", [
    "nav: &a [index.md, *a]\n",  # refers to itself
    "a: &a [index.md, index.md, index.md, index.md, index.md, index.md, index.md]\n"
    "b: &b [*a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b]\n"
    "d: &d [*c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d]\n"
    "f: &f [*e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f]\n"
    "h: &h [*g, *g, *g, *g, *g, *g, *g]\nnav: [*h, *h, *h, *h, *h, *h, *h]\n",
])
def test_a_nav_made_of_aliases_is_read_in_bounded_time(tmp_path: Path, nav: str) -> None:
    """A nav that refers to itself recursed without end; one that names a page 7^9 times
    through aliases would take hours to walk."""
    project = mkdocs_project(tmp_path, nav)
    write_docs(project / "docs", GUIDE)
    assert site_folder(project).pages == (project / "docs").resolve()


@pytest.mark.parametrize(("config", "site_url"), [
    ("export default defineConfig({\n  cleanUrls: true,\n  sitemap: { hostname: "
     "'https://vite.dev' },\n})\n", "https://vite.dev/"),  # Vite's own config, abridged
    ("export default {\n  base: '/tidepool/',\n  sitemap: {\n    hostname: "
     "\"https://t.github.io/\",\n  },\n}\n", "https://t.github.io/tidepool/"),
    ("export default { title: 'T' }\n", None),  # no sitemap: no address
    ("const host = 'https://t.dev'\nexport default { sitemap: { hostname: host } }\n", None),
])
def test_a_vitepress_sitemap_hostname_links_the_pages(
        tmp_path: Path, config: str, site_url: str | None) -> None:
    write_docs(tmp_path / "docs", {**GUIDE, ".vitepress/config.ts": config})
    assert site_folder(tmp_path).site_url == site_url  # the project
    assert site_folder(tmp_path / "docs").site_url == site_url  # its pages folder


@pytest.mark.parametrize("config", [
    # a sidebar item's base is another option than the site's
    "export default {\n  sitemap: { hostname: 'https://v.dev' },\n  themeConfig: { sidebar: "
    "{ '/guide/': { base: '/guide/', items: [] } } },\n}\n",
])
def test_a_vitepress_sidebar_base_is_not_the_sites(tmp_path: Path, config: str) -> None:
    write_docs(tmp_path / "docs", {**GUIDE, ".vitepress/config.ts": config})
    assert site_folder(tmp_path).site_url == "https://v.dev/"


@pytest.mark.parametrize("config", [
    "export default {\n  base: process.env.BASE || '/proj/',\n  sitemap: { hostname: "
    "'https://v.dev' },\n}\n",
    "const base = '/proj/'\nexport default { base, sitemap: { hostname: 'https://v.dev' } }\n",
])
def test_a_vitepress_base_that_is_not_a_plain_string_gives_no_address(
        tmp_path: Path, config: str) -> None:
    write_docs(tmp_path / "docs", {**GUIDE, ".vitepress/config.ts": config})
    assert site_folder(tmp_path).site_url is None


def test_a_symlink_loop_in_a_project_is_no_crash(tmp_path: Path) -> None:
    project = mkdocs_project(tmp_path, "site_name: T\n")
    write_docs(project / "docs", GUIDE)
    (project / "loop.md").symlink_to(project / "loop.md")
    (project / "docs" / "guide" / "again").symlink_to(project / "docs")
    site = site_folder(project)
    assert site.pages == project / "docs"
    assert [p.path for p in load_pages(site.pages)] == ["guide/retries.md", "index.md"]


def test_a_docs_dir_linked_from_elsewhere_is_followed(tmp_path: Path) -> None:
    """mkdocs follows a `docs` that is a symlink (a monorepo's shared pages)."""
    write_docs(tmp_path / "shared-pages", GUIDE)
    project = mkdocs_project(tmp_path / "site", "site_name: T\n")
    (project / "docs").symlink_to(tmp_path / "shared-pages")
    assert site_folder(project).pages == project / "docs"


def test_a_relative_folder_is_read_like_the_absolute_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`index-docs .` from inside a Docusaurus `docs/` folder: `.` has no name to look at."""
    (tmp_path / "docusaurus.config.js").write_text(
        "export default {\n  url: 'https://d.dev',\n  baseUrl: '/',\n};\n")
    write_docs(tmp_path / "docs", {"intro.md": "# Intro\n"})
    monkeypatch.chdir(tmp_path / "docs")
    assert site_folder(Path(".")).site_url == "https://d.dev/docs/"


@pytest.mark.parametrize("marker", ["docs/.vitepress/config.ts", "docusaurus.config.js",
                                    "sidebars.js"])
def test_example_mkdocs_sites_inside_another_generators_docs_are_no_reason_to_refuse(
        tmp_path: Path, marker: str) -> None:
    write_docs(tmp_path, {marker: "export default {}\n"})
    write_docs(tmp_path / "docs", GUIDE)
    for name in ("a", "b"):
        mkdocs_project(tmp_path / "docs" / "examples" / name, "site_name: Example\n")
    assert site_folder(tmp_path / "docs").pages == tmp_path / "docs"


def test_installed_packages_are_not_even_listed(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A VitePress `docs/` with its packages installed holds tens of thousands of files in
    `node_modules`: they were listed one by one before being left out."""
    write_docs(tmp_path, {**GUIDE, **{f"node_modules/p{n}/README.md": "# p\n"
                                      for n in range(3)}})
    entered: list[str] = []
    walk = os.walk

    def spy(top: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for parent, folders, files in walk(top, *args, **kwargs):  # type: ignore[arg-type]
            entered.append(parent)
            yield parent, folders, files

    monkeypatch.setattr(os, "walk", spy)
    assert [p.path for p in load_pages(tmp_path)] == ["guide/retries.md", "index.md"]
    assert entered and not any("node_modules" in folder for folder in entered)


MULTI = """\
export default {
  url: 'https://d.dev',
  baseUrl: '/',
  presets: [['classic', { docs: { routeBasePath: 'guide' }, blog: false }]],
  plugins: [
    ['@docusaurus/plugin-content-docs', { id: 'community', path: 'community',
                                          routeBasePath: 'community' }],
    ['@docusaurus/plugin-content-docs', { id: 'rules', path: '../plugin/docs/rules',
                                          routeBasePath: 'rules' }],
    ['@docusaurus/plugin-content-docs', { id: 'all', path: './', routeBasePath: 'all' }],
  ],
};
"""


def test_every_docs_instance_of_a_docusaurus_project_is_indexed_under_its_route(
        runner: CliRunner, tmp_path: Path) -> None:
    """A project with a second docs instance (`community/` served under `/community`) is
    one site: both folders are indexed, each under its route; an instance outside the
    project is named, for --mount."""
    site = tmp_path / "website"
    write_docs(site, {"docusaurus.config.js": MULTI, "docs/retries.md": GUIDE["guide/retries.md"],
                      "community/support.md": "# Support\n\nAsk about retry_backoff in the "
                                              "forum.\n"})
    write_docs(tmp_path / "plugin" / "docs" / "rules", {"no-x.md": "# no-x\n\nA rule.\n"})
    result = runner.invoke(main, ["index-docs", str(site)])
    assert result.exit_code == 0, result.output
    assert "indexed 2 pages" in result.stderr
    assert "docs instance ../plugin/docs/rules (route /rules) is not a folder inside" \
        in result.stderr
    assert "docs instance . (route /all) is not a folder inside" in result.stderr
    urls = {h["path"]: h["url"].split("#")[0] for h in search(runner, "retry_backoff")}
    assert urls == {"guide/retries.md": "https://d.dev/guide/retries",
                    "community/support.md": "https://d.dev/community/support"}
    rules = tmp_path / "plugin" / "docs" / "rules"
    both = runner.invoke(main, ["index-docs", str(site), "--mount", f"rules={rules}",
                                "--mount", f"community={site / 'community'}"])
    assert both.exit_code == 0, both.output  # a --mount replaces the instance it names
    assert "indexed 3 pages" in both.stderr


def test_a_remembered_instance_mount_is_not_asked_for_and_unmount_leaves_a_config_one_out(
        runner: CliRunner, tmp_path: Path) -> None:
    """A re-index of a project whose rule pages sit outside it, mounted once, said both "give
    it with --mount rules=FOLDER" and "mounting … as the last index-docs did"; and
    `--unmount community` claimed nothing was mounted there while its pages stayed."""
    site = tmp_path / "website"
    write_docs(site, {"docusaurus.config.js": MULTI, "docs/retries.md": GUIDE["guide/retries.md"],
                      "community/support.md": "# Support\n\nAsk in the forum.\n"})
    rules = tmp_path / "plugin" / "docs" / "rules"
    write_docs(rules, {"no-x.md": "# no-x\n\nA rule.\n"})
    first = runner.invoke(main, ["index-docs", str(site), "--mount", f"rules={rules}"])
    assert "indexed 3 pages" in first.stderr
    again = runner.invoke(main, ["index-docs", str(site)])
    assert "0 removed, 3 unchanged" in again.stderr
    assert "mounting" in again.stderr and "--mount rules=FOLDER" not in again.stderr
    assert "docs instance . (route /all) is not a folder inside" in again.stderr  # not ours
    left = runner.invoke(main, ["index-docs", str(site), "--unmount", "community"])
    assert left.exit_code == 0, left.output
    assert "1 removed" in left.stderr and "mounted nothing" not in left.stderr
    assert ("--unmount community: leaving out the docs instance the site's config publishes "
            "under /community") in left.stderr
    assert "community/support.md" not in [h["path"] for h in search(runner, "forum")]


def test_a_remembered_mount_that_now_collides_names_the_way_out(runner: CliRunner,
                                                                 tmp_path: Path) -> None:
    docs, rules = tmp_path / "docs", tmp_path / "rules"
    write_docs(docs, {"index.md": "# Home\n\nWelcome.\n"})
    write_docs(rules, {"a.md": "# A\n\nRule a.\n"})
    assert runner.invoke(main, ["index-docs", str(docs), "--mount", f"rules={rules}"]
                         ).exit_code == 0
    write_docs(docs, {"rules/a.md": "# A, moved into the docs\n\nRule a.\n"})
    db = tmp_path / "home" / "docloop.db"
    before = db.stat().st_mtime_ns
    clash = runner.invoke(main, ["index-docs", str(docs)])
    assert clash.exit_code == 2
    assert (f"rules/a.md: both {docs} and {rules} give this page; mount one of them under "
            f"another prefix (the last index-docs mounted {rules} at rules/; --unmount rules "
            "leaves it out)") in clash.stderr
    assert db.stat().st_mtime_ns == before  # reading the memory wrote nothing
    fixed = runner.invoke(main, ["index-docs", str(docs), "--unmount", "rules"])
    assert fixed.exit_code == 0, fixed.output


def test_unmounting_the_sites_own_pages_is_refused_and_an_only_mounted_instance_is_said(
        runner: CliRunner, tmp_path: Path) -> None:
    site = tmp_path / "website"
    write_docs(site, {"docusaurus.config.js": MULTI, "docs/retries.md": GUIDE["guide/retries.md"],
                      "community/support.md": "# Support\n\nAsk in the forum.\n"})
    own = runner.invoke(main, ["index-docs", str(site), "--unmount", "guide"])
    assert own.exit_code == 2  # was ignored: the pages were indexed all the same
    assert "--unmount guide: guide/ is the site's pages folder" in own.stderr
    alone = tmp_path / "alone"
    write_docs(alone, {"docusaurus.config.js": "export default { presets: [['classic', "
                       "{ docs: { path: '../outside', routeBasePath: 'guide' } }]] };\n",
                       "src/pages/index.md": "# Home\n\nThe landing page.\n"})
    write_docs(tmp_path / "elsewhere", {"a.md": "# A\n\nThe guide.\n"})
    mounted = runner.invoke(main, ["index-docs", str(alone), "--mount",
                                   f"guide={tmp_path / 'elsewhere'}"])
    assert mounted.exit_code == 0, mounted.output
    assert ("no docs instance of it is read here (/guide mounted or left out by this run); "
            f"indexing {alone} as it is") in mounted.stderr
