"""Hugo sites: the content folder, TOML front matter, `_index.md`, drafts, `url`/`slug`,
shortcodes and anchors, as Hugo publishes them (hugo_site.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from docloop.cli import main
from docloop.docs.chunker import chunk_page
from docloop.docs.frontmatter import split_front_matter
from docloop.docs.loader import DocPage, load_pages
from docloop.docs.markdown import section_end
from docloop.docs.site_root import site_folder
from docloop.errors import InputError
from tests.docs_helpers import write_docs

CONTENT = {
    "docs/_index.md": '+++\ntitle = "Acme documentation"\nweight = 1\n+++\n\nAcme syncs '
                      "your tickets.\n",
    "docs/getting-started/install.md": (
        '---\ntitle: "Install the agent"\nslug: setup\n---\n\n'
        '{{% alert title="Warning" color="warning" %}}\nThe agent needs `ACME_TOKEN` set '
        "before it starts.\n{{% /alert %}}\n\n## Linux & macOS\n\nRun the installer, then "
        'see {{< ref "troubleshooting" >}}.\n\n{{< tabs >}}\n{{< tab "apt" >}}\n'
        "`apt install acme-agent`\n{{< /tab >}}\n{{< /tabs >}}\n"),
    "docs/draft.md": '---\ntitle: "Unreleased"\ndraft: true\n---\nNot yet.\n',
    "docs/moved.md": '+++\ntitle = "Moved page"\nurl = "/legacy/moved/"\n+++\n## Why?\n\nOld '
                     "links.\n",
}


def hugo_project(root: Path, config: str = 'baseURL = "https://acme.example/"\n',
                 name: str = "hugo.toml") -> Path:
    write_docs(root / "content", CONTENT)
    (root / name).write_text(config, encoding="utf-8")
    return root


def pages(folder: Path) -> dict[str, DocPage]:
    return {p.path: p for p in load_pages(folder, "https://acme.example/")}


def test_a_hugo_content_folder_is_published_as_hugo_publishes_it(tmp_path: Path) -> None:
    found = pages(hugo_project(tmp_path) / "content")
    assert {path: page.url for path, page in found.items()} == {
        "docs/_index.md": "https://acme.example/docs/",  # a section's page
        "docs/getting-started/install.md": "https://acme.example/docs/getting-started/setup/",
        "docs/moved.md": "https://acme.example/legacy/moved/",
    }  # the draft is not published
    assert found["docs/_index.md"].title == "Acme documentation"  # TOML front matter
    chunks = {c.heading: c for c in chunk_page(found["docs/getting-started/install.md"])}
    assert chunks["Install the agent"].text.startswith("Alert: Warning")
    assert "ACME_TOKEN" in chunks["Install the agent"].text
    linux = chunks["Linux & macOS"]
    assert linux.anchor == "linux--macos"  # Goldmark's github-style ids
    assert "{{" not in linux.text and "apt install acme-agent" in linux.text


def test_the_project_folder_reads_its_content_folder_and_base_url(tmp_path: Path) -> None:
    site = site_folder(hugo_project(tmp_path))
    assert (site.pages, site.site_url, site.generator) == (
        tmp_path / "content", "https://acme.example/", "hugo")
    inside = site_folder(tmp_path / "content" / "docs")
    assert inside.site_url == "https://acme.example/docs/"


@pytest.mark.parametrize(("name", "config", "hugo"), [
    ("config.toml", 'baseURL = "https://acme.example/"\ncontentDir = "pages"\n', True),
    ("config.yaml", "baseurl: https://acme.example/\n", True),
    ("config.toml", 'title = "not Hugo: no baseURL"\n', False),
    ("config.toml", "baseURL = [[[[", False),
    ("hugo.toml", 'contentDir = "/"\n', False),
])
def test_an_older_config_is_hugo_only_with_a_base_url(tmp_path: Path, name: str, config: str,
                                                      hugo: bool) -> None:
    hugo_project(tmp_path, config, name)
    if "pages" in config:
        (tmp_path / "content").rename(tmp_path / "pages")
    site = site_folder(tmp_path)
    assert (site.generator == "hugo") is hugo
    if hugo:
        assert site.pages == tmp_path / ("pages" if "pages" in config else "content")


def test_the_cli_indexes_a_hugo_project_by_its_folder(tmp_path: Path) -> None:
    runner = CliRunner(env={"DOCLOOP_HOME": str(tmp_path / "home")})
    project = hugo_project(tmp_path / "site")
    done = runner.invoke(main, ["index-docs", str(project)], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert "indexed 3 pages" in done.output


BAD_TOML = [
    ("+++\ntitle = = 1\n+++\n", "not valid TOML"),
    ("+++\n# it's a comment\na = " + "[" * 5000 + "]" * 5000 + "\n+++\n", "nested too deeply"),
    ("+++\ntitle = 'never closed'\n", "never closed"),
]


@pytest.mark.parametrize(("front", "problem"), BAD_TOML)
def test_bad_toml_front_matter_of_a_hugo_page_names_the_file(tmp_path: Path, front: str,
                                                             problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        split_front_matter(f"{front}# Page\n".splitlines(), tmp_path / "page.md", "hugo")


@pytest.mark.parametrize(("front", "problem"), BAD_TOML)
def test_elsewhere_a_plus_block_that_is_not_toml_is_the_pages_text(
        tmp_path: Path, front: str, problem: str) -> None:
    """Before TOML was read, `+++` on line 1 was text in every generator; it stays so."""
    lines = f"{front}# Page\n".splitlines()
    assert split_front_matter(lines, tmp_path / "page.md", "mkdocs") == ({}, 0)
    toml = ["+++", 'title = "Zola page"', "+++", "# Page"]
    assert split_front_matter(toml, tmp_path / "page.md", "mkdocs") == (
        {"title": "Zola page"}, 3)


def test_bundles_headless_and_never_rendered_pages_are_not_pages(tmp_path: Path) -> None:
    """A leaf bundle's other files are its resources; headless and `render: never` pages
    are built into nothing (Hugo's page bundles and build options)."""
    hugo_project(tmp_path)
    write_docs(tmp_path / "content", {
        "docs/bundle/index.md": "---\ntitle: Bundle\nslug: Renamed Bundle\n---\nMain.\n",
        "docs/bundle/part.md": "# Part\n\nShown inside the bundle page only.\n",
        "docs/bundle/sub/deeper.md": "# Deeper\n",
        "docs/shared/index.md": "---\nheadless: true\n---\nReused text.\n",
        "docs/norender.md": "---\nbuild:\n  render: never\n---\nList only.\n",
        "docs/My Guide.md": "# My Guide\n",
    })
    found = pages(tmp_path / "content")
    assert found["docs/bundle/index.md"].url == "https://acme.example/docs/renamed-bundle/"
    assert found["docs/My Guide.md"].url == "https://acme.example/docs/my-guide/"
    for resource in ("docs/bundle/part.md", "docs/bundle/sub/deeper.md",
                     "docs/shared/index.md", "docs/norender.md"):
        assert resource not in found


def test_only_asides_are_labelled_and_a_highlight_block_is_code(tmp_path: Path) -> None:
    hugo_project(tmp_path)
    write_docs(tmp_path / "content", {"docs/calls.md": (
        "# Calls\n\n{{< figure src=\"a.png\" >}}\n\n{{< note >}}\nMind the gap.\n"
        "{{< /note >}}\n\n{{< highlight go >}}\n# not a heading\nfmt.Println(1)\n"
        "{{< /highlight >}}\n\n```\n{{< note >}}\n```\n")})
    (chunk,) = chunk_page(pages(tmp_path / "content")["docs/calls.md"])
    assert "Figure" not in chunk.text and "Note:" in chunk.text
    assert "# not a heading" in chunk.text and chunk.text.count("Note:") == 1


def test_a_line_that_never_closes_a_call_costs_linear_time(tmp_path: Path) -> None:
    """Lines of 20,000 characters that open a call and never close it (quadratic before)."""
    hugo_project(tmp_path)
    hostile = ["{{<" + "a" * 19_997, "{{< " + "a" * 19_996, "{{<" + " " * 19_997,
               "{{< a " + ">" * 19_990, ("{{< a " * 4_000)]
    write_docs(tmp_path / "content", {"docs/hostile.md": "# H\n\n" + "\n\n".join(hostile)})
    chunks = chunk_page(pages(tmp_path / "content")["docs/hostile.md"])
    assert chunks and {c.heading for c in chunks} == {"H"}


@pytest.mark.parametrize(("files", "hugo"), [
    ({"config/_default/hugo.toml": 'baseURL = "https://acme.example/"\n'}, True),
    ({"config.toml": 'base_url = "https://acme.example"\n'}, False),  # Zola
    ({"config.json": '{"baseUrl": "https://acme.example/"}'}, False),  # a generic name
    ({"hugo.toml": 'contentDir = "../elsewhere"\n'}, False),  # outside: not followed
])
def test_which_configs_make_a_hugo_project(tmp_path: Path, files: dict[str, str],
                                           hugo: bool) -> None:
    write_docs(tmp_path / "content", CONTENT)
    write_docs(tmp_path, files)
    site = site_folder(tmp_path)
    assert (site.generator == "hugo") is hugo
    assert site.pages == (tmp_path / "content" if hugo else tmp_path)


def test_outside_hugo_an_underscore_file_is_still_no_page(tmp_path: Path) -> None:
    """Docusaurus partials (`_setup.md`) and the rest: only Hugo publishes `_index.md`."""
    write_docs(tmp_path / "docs", {"index.md": "# Home\n", "_index.md": "# Partial\n"})
    assert list(pages(tmp_path / "docs")) == ["index.md"]


@pytest.mark.parametrize("calls", [
    "{{< tabs >}}{{< highlight go >}}\nfmt.Println(1)\n{{< /highlight >}}{{< /tabs >}}",
    "{{< highlight go >}}{{< /highlight >}}",
    "{{< highlight go />}}",
    "{{< highlight markdown >}}\n```\n# shown, not a heading\n```\n{{< /highlight >}}",
    '{{< code file="main.go" >}}',
    "{{< tab >}}\n{{< highlight go >}}\nx\n{{< /highlight >}}{{< /tab >}}",
    "{{< highlight go >}}\ncode(){{< /highlight >}}",
    "{{< highlight go >}}\n# never closed: Hugo refuses this page",
])
def test_a_code_call_never_hides_the_headings_after_it(tmp_path: Path, calls: str) -> None:
    hugo_project(tmp_path)
    write_docs(tmp_path / "content", {"docs/code.md": f"# Code\n\n{calls}\n\n## After\n\nText.\n"})
    chunks = chunk_page(pages(tmp_path / "content")["docs/code.md"])
    assert [c.heading for c in chunks][-1] == "After"
    assert "shown, not a heading" not in {c.heading for c in chunks}


def test_toml_nested_by_dotted_keys_is_refused_not_a_crash(tmp_path: Path) -> None:
    deep = "+++\n[title" + ".a" * 3000 + "]\nx = 1\n+++\n# Page\n"
    with pytest.raises(InputError, match="nested more than"):
        split_front_matter(deep.splitlines(), tmp_path / "page.md", "hugo")
    assert split_front_matter(deep.splitlines(), tmp_path / "page.md", "mkdocs") == ({}, 0)


def test_a_suggested_section_never_lands_inside_a_highlight_block() -> None:
    source = ("---\ntitle: Install\n---\n\n## Install\n\n{{< highlight bash >}}\n"
              "# install deps\nmake deps\n{{< /highlight >}}\n\nThen run it.\n\n## Next\n")
    at, level = section_end(source, "Install")
    assert source.splitlines()[at - 1] == "Then run it." and level == 2


def test_hugo_front_matter_keys_are_read_in_any_case(tmp_path: Path) -> None:
    hugo_project(tmp_path)
    write_docs(tmp_path / "content", {
        "docs/upper.md": "---\nDraft: true\n---\n# Upper\n",
        "docs/linked.md": "---\nbuild:\n  render: link\n---\n# Linked\n",
        "docs/Slugged.md": "---\nSlug: Fresh Name\n---\n# Slugged\n"})
    found = pages(tmp_path / "content")
    assert "docs/upper.md" not in found and "docs/linked.md" not in found
    assert found["docs/Slugged.md"].url == "https://acme.example/docs/fresh-name/"


def test_a_section_folders_url_is_lower_cased_too(tmp_path: Path) -> None:
    hugo_project(tmp_path)
    write_docs(tmp_path / "content", {"docs/User Guide/start.md": "# Start\n"})
    section = site_folder(tmp_path / "content" / "docs" / "User Guide")
    assert section.site_url == "https://acme.example/docs/user-guide/"


def test_a_content_folder_linked_out_of_the_project_is_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    write_docs(elsewhere, CONTENT)
    project = tmp_path / "site"
    project.mkdir()
    (project / "hugo.toml").write_text('baseURL = "https://acme.example/"\n', encoding="utf-8")
    (project / "content").symlink_to(elsewhere)
    assert site_folder(project).generator != "hugo"


def test_a_highlight_opened_beside_another_call_is_code_too() -> None:
    source = ("## Install\n\n{{< tab \"sh\" >}}{{< highlight bash >}}\n# install deps\n"
              "make deps\n{{< /highlight >}}{{< /tab >}}\n\nThen run it.\n\n## Next\n")
    at, _ = section_end(source, "Install")
    assert source.splitlines()[at - 1] == "Then run it."


def test_a_page_that_only_mentions_a_shortcode_is_read_as_before() -> None:
    """mkdocs: `{{< ref >}}` named in a sentence keeps the admonition's body Markdown."""
    source = ("# Links\n\nUse `{{< ref \"x\" >}}` in Hugo.\n\n!!! note\n\n    ## Inside\n\n"
              "    Text.\n\n## After\n")
    assert section_end(source, "Inside") == (9, 2)


def test_an_impossible_yaml_value_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        split_front_matter(["---", "date: 2024-02-30", "---"], tmp_path / "page.md")
