"""A Docusaurus project whose docs live outside its folder is indexed from where they are.

Two real layouts keep the website apart from the docs: a `website/` folder reading `../docs`
(the layout Docusaurus' own migration guide starts from), and a monorepo package reading
`../../docs` (typescript-eslint's `packages/website`, which also names its options object
by a variable). `index-docs` given such a project indexed its blog and README instead."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from docloop.cli import main
from docloop.docs.docusaurus_site import DEFAULT_INSTANCE, docs_instances
from docloop.docs.loader import load_pages
from docloop.docs.site_root import site_folder
from tests.docs_helpers import search_json, write_docs

RETRIES = "# Retries\n\nSet `retry_backoff` to space out retried uploads after a 429.\n"
WEBSITE = """\
module.exports = {
  url: 'https://tidepool.dev',
  baseUrl: '/',
  presets: [['classic', { docs: { path: '../docs', sidebarPath: require.resolve('./s.js') },
                          blog: { path: 'blog' } }]],
};
"""
#: typescript-eslint's packages/website/docusaurus.config.mts, abridged
MONOREPO = """\
import type { Config } from '@docusaurus/types';

const presetClassicOptions = {
  blog: { blogSidebarCount: 'ALL' },
  docs: {
    exclude: ['TEMPLATE.md'],
    id: 'rules-docs',
    path: '../eslint-plugin/docs/rules',
    routeBasePath: 'rules',
  },
};

const pluginContentDocsOptions: PluginContentDocsOptions = {
  id: 'base-docs',
  path: '../../docs',
  routeBasePath: '/',
};

const config: Config = {
  baseUrl: '/',
  plugins: [
    ['@docusaurus/plugin-content-docs', pluginContentDocsOptions],
  ],
  presets: [['classic', presetClassicOptions]],
  url: 'https://typescript-eslint.io',
};

export = config;
"""


@pytest.fixture
def runner(model_runner: CliRunner) -> CliRunner:
    return model_runner


def repository(root: Path, files: dict[str, str]) -> Path:
    (root / ".git").mkdir(parents=True)
    write_docs(root, {"README.md": "# The repository\n\nretry_backoff lives in docs/.\n",
                      **files})
    return root


def test_a_website_folder_reading_its_sibling_docs_indexes_them(
        runner: CliRunner, tmp_path: Path) -> None:
    repo = repository(tmp_path / "repo", {
        "website/docusaurus.config.js": WEBSITE, "website/blog/2024-01-01-hello.md": "# Hi\n",
        "docs/intro.md": "# Intro\n", "docs/guide/retries.md": RETRIES})
    result = runner.invoke(main, ["index-docs", str(repo / "website")])
    assert result.exit_code == 0, result.output
    assert "indexed 2 pages" in result.stderr
    hits = search_json(runner, "retry_backoff after a 429", 5)
    assert {h["path"] for h in hits} <= {"docs/guide/retries.md", "docs/intro.md"}
    assert hits[0]["url"].split("#")[0] == "https://tidepool.dev/docs/guide/retries"


def test_a_monorepo_website_indexes_every_docs_instance_under_its_route(
        tmp_path: Path) -> None:
    repo = repository(tmp_path / "repo", {
        "packages/website/docusaurus.config.mts": MONOREPO,
        "packages/website/blog/2024-01-01-hello.md": "# Hi\n",
        "packages/eslint-plugin/docs/rules/no-floating-promises.mdx": "# no-floating-promises\n",
        "docs/getting-started/Quickstart.mdx": "# Quickstart\n"})
    site = site_folder(repo / "packages" / "website")
    assert site.site_url == "https://typescript-eslint.io/"
    folders = [(site.route, site.pages), *site.mounts]
    assert sorted(folders) == [("", repo / "docs"),
                               ("rules", repo / "packages" / "eslint-plugin" / "docs" / "rules")]
    urls = {p.path: p.url for route, pages in folders
            for p in load_pages(pages, site.site_url, generator="docusaurus", mount=route)}
    assert urls == {
        "getting-started/Quickstart.mdx": "https://typescript-eslint.io/getting-started/"
                                          "Quickstart",
        "rules/no-floating-promises.mdx": "https://typescript-eslint.io/rules/"
                                          "no-floating-promises"}


def test_docs_outside_the_repository_are_not_followed(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Without a repository around it, a project's config cannot send docloop out of the
    folder it was given; inside one, never out of the repository."""
    write_docs(tmp_path, {"website/docusaurus.config.js": WEBSITE, "docs/intro.md": "# I\n",
                          "website/blog/2024-01-01-hello.md": "# Hi\n"})
    with caplog.at_level(logging.WARNING):
        site = site_folder(tmp_path / "website")
    assert site.pages == tmp_path / "website" and site.generator is None
    assert "docs instance ../docs (route /docs) is not a folder inside" in caplog.text
    repo = repository(tmp_path / "repo", {
        "website/docusaurus.config.js": WEBSITE.replace("'../docs'", "'../../docs'"),
        "website/docs/x.md": "# X\n"})
    write_docs(tmp_path, {"docs/secret.md": "# Outside the repository\n"})
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert site_folder(repo / "website").pages == repo / "website"
    assert f"or its repository {repo}" in caplog.text


def test_the_named_instances_of_a_config_are_listed(tmp_path: Path) -> None:
    config = tmp_path / "docusaurus.config.mts"
    config.write_text(MONOREPO, encoding="utf-8")
    instances = docs_instances(config)
    assert instances is not None
    assert sorted((i.path, i.route) for i in instances) == [
        ("../../docs", ""), ("../eslint-plugin/docs/rules", "rules")]


def test_the_files_an_instance_excludes_are_not_indexed(
        runner: CliRunner, tmp_path: Path) -> None:
    """typescript-eslint's rules instance excludes `TEMPLATE.md`, the skeleton a new rule's
    page is written from: indexed, it matched rule questions as a page of its own."""
    repo = repository(tmp_path / "repo", {
        "packages/website/docusaurus.config.mts": MONOREPO,
        "packages/eslint-plugin/docs/rules/no-floating-promises.mdx":
            "# no-floating-promises\n\nRequire Promise-like statements to be handled.\n",
        "packages/eslint-plugin/docs/rules/TEMPLATE.md":
            "# Rule name\n\nDescribe what the rule reports about promises.\n",
        "docs/getting-started/Quickstart.mdx": "# Quickstart\n\nInstall the packages.\n"})
    result = runner.invoke(main, ["index-docs", str(repo / "packages" / "website"), "-v"])
    assert result.exit_code == 0, result.output
    assert "indexed 2 pages" in result.stderr
    assert "a docs instance's exclude" in result.stderr


def test_an_exclude_that_cannot_be_read_is_said(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = tmp_path / "docusaurus.config.js"
    config.write_text("const skip = ['TEMPLATE.md'];\nmodule.exports = { presets: [['classic', "
                      "{ docs: { exclude: skip } }]] };\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        instances = docs_instances(config)
    assert instances is not None and instances[0].exclude == ()
    assert "exclude is not an array of plain strings" in caplog.text


THEMED = """\
module.exports = {
  url: 'https://t.dev',
  baseUrl: '/',
  presets: [['classic', { docs: { routeBasePath: '/', sidebarPath: './sidebars.js' } }]],
  themeConfig: { docs: { sidebar: { hideable: true } }, navbar: { title: 'T' } },
};
"""


@pytest.mark.parametrize("config", [
    THEMED,
    # the theme's options in a variable, as typescript-eslint declares them
    "const themeConfig: ThemeCommonConfig = {\n  docs: { sidebar: { hideable: true } },\n};\n"
    "module.exports = {\n  url: 'https://t.dev',\n  baseUrl: '/',\n  presets: [['classic', "
    "{ docs: { routeBasePath: '/' } }]],\n  themeConfig,\n};\n",
])
def test_the_themes_docs_settings_are_no_docs_instance(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, config: str) -> None:
    """`themeConfig.docs` sets up the sidebar; read as a second instance of `docs/`, the
    pages were indexed twice or the run refused."""
    write_docs(tmp_path, {"docusaurus.config.js": config, "docs/intro.md": "# Intro\n"})
    with caplog.at_level(logging.WARNING):
        site = site_folder(tmp_path)
    assert (site.pages, site.route, site.mounts) == (tmp_path / "docs", "", ())
    assert not caplog.text


def test_a_site_without_docs_is_indexed_as_it_is_and_quietly(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_docs(tmp_path, {"docusaurus.config.js": "module.exports = { presets: [['classic', "
                          "{ docs: false, blog: { routeBasePath: '/' } }]] };\n",
                          "blog/2024-01-01-hello.md": "# Hello\n"})
    with caplog.at_level(logging.WARNING):
        assert site_folder(tmp_path).pages == tmp_path
    assert not caplog.text


@pytest.mark.parametrize(("config", "said"), [
    # two instances read one folder
    ("module.exports = { plugins: [['@docusaurus/plugin-content-docs', { id: 'a' }], "
     "['@docusaurus/plugin-content-docs', { id: 'b', routeBasePath: 'b' }]] };\n",
     "two docs instances read"),
    # a path no file system takes: no crash
    (f"module.exports = {{ presets: [['classic', {{ docs: {{ path: '{'a' * 300}' }} }}]] }};\n",
     "is not a folder inside"),
    # options named by a variable the config does not declare as an object
    ("const opts = makeOptions();\nmodule.exports = { plugins: "
     "[['@docusaurus/plugin-content-docs', opts]] };\n", "not one object literal"),
])
def test_instances_docloop_cannot_read_as_written_are_said(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, config: str, said: str) -> None:
    write_docs(tmp_path, {"docusaurus.config.js": config, "docs/intro.md": "# Intro\n"})
    with caplog.at_level(logging.WARNING):
        site = site_folder(tmp_path)
    assert said in caplog.text
    assert len({site.pages, *(p for _, p in site.mounts)}) == 1 + len(site.mounts)


def test_an_entry_in_a_comment_is_not_read(tmp_path: Path) -> None:
    config = tmp_path / "docusaurus.config.js"
    config.write_text("const old = { path: 'legacy', routeBasePath: 'legacy' };\nmodule.exports "
                      "= {\n  // plugins: [['@docusaurus/plugin-content-docs', old]],\n};\n",
                      encoding="utf-8")
    assert docs_instances(config) == [DEFAULT_INSTANCE]


def test_more_docs_instances_than_a_site_has_are_read_as_none(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """33 `plugin-content-docs` entries, written inline or through variables, are a hostile
    config, not a site: no instance is read (and said), rather than 33 folders walked."""
    inline = ",\n".join(f"['@docusaurus/plugin-content-docs', {{path: 'd{n}'}}]"
                        for n in range(33))
    config = tmp_path / "docusaurus.config.js"
    config.write_text(f"module.exports = {{ plugins: [\n{inline}\n] }};\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert docs_instances(config) is None
    assert "more than 32 docs instances; reading none of them" in caplog.text
    named = "".join(f"const o{n} = {{path: 'd{n}'}};\n" for n in range(33))
    entries = ", ".join(f"['@docusaurus/plugin-content-docs', o{n}]" for n in range(33))
    config.write_text(f"{named}module.exports = {{ plugins: [{entries}] }};\n",
                      encoding="utf-8")
    assert docs_instances(config) is None
    few = "".join(f"const o{n} = {{path: 'd{n}'}};\n" for n in range(2))
    config.write_text(few + "module.exports = { plugins: [['@docusaurus/plugin-content-docs', "
                      "o0], ['@docusaurus/plugin-content-docs', o1]] };\n", encoding="utf-8")
    assert [i.path for i in docs_instances(config) or []] == ["d0", "d1"]
