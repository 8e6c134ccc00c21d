"""The Markdown reader: real headings only, generator machinery, anchors per generator."""

from __future__ import annotations

from pathlib import Path

import pytest

from docloop.docs.anchors import github_slug, mkdocs_slug, vitepress_slug
from docloop.docs.chunker import chunk_page
from docloop.docs.loader import detect_generator, load_pages
from docloop.docs.markdown import Section, anchors, headings, parse_sections
from tests.docs_helpers import write_docs


def _headings(text: str, generator: str = "mkdocs", mdx: bool = False) -> list[tuple[int, str]]:
    return [(h.level, h.anchor) for h in headings(
        parse_sections(text.splitlines(), generator=generator, mdx=mdx))]


def _text(sections: list[Section]) -> str:
    return "\n".join(line.text for s in sections for block in s.blocks for line in block)


def test_setext_headings_are_headings_with_their_line() -> None:
    sections = parse_sections(["Title", "=====", "", "Intro.", "", "Part two", "--------",
                               "", "Body."], first_number=5)
    assert [(s.heading_path, s.anchor, s.line) for s in sections[1:]] == [
        (["Title"], "title", 5), (["Title", "Part two"], "part-two", 10)]
    assert [b[0].number for b in sections[2].blocks] == [13]


def test_comment_in_indented_code_is_not_a_heading() -> None:
    text = "# Install\n\nRun this:\n\n    # install the package\n    pip install x\n\nDone.\n"
    assert _headings(text) == [(1, "install")]
    code = parse_sections(text.splitlines())[1].blocks[1]
    assert all(line.code for line in code) and code[0].text == "    # install the package"


def test_headings_inside_html_comments_and_script_are_not_indexed() -> None:
    text = ("# Page\n\n<!--\n## Old section\nold text\n-->\n\n<script setup>\n"
            "// # not a heading\nimport X from './x.vue'\n\n# still script\n</script>\n\n"
            "## Kept\n\nBody.\n")
    sections = parse_sections(text.splitlines(), generator="vitepress")
    assert [s.anchor for s in sections[1:]] == ["page", "kept"]
    assert "old text" not in _text(sections) and "still script" not in _text(sections)


def test_mdx_jsx_imports_admonitions_and_tabs_make_no_fake_headings() -> None:
    text = ("import Tabs from '@theme/Tabs';\nimport {\n  TabItem,\n} from '@theme/TabItem';\n\n"
            "# Setup\n\n{/* ## commented out */}\n\n:::note[Heads up]\n\nRead this.\n\n:::\n"
            "---\n\n<Tabs>\n<TabItem value=\"npm\">\n\n```bash\n# npm install\nnpm i x\n```\n\n"
            "</TabItem>\n</Tabs>\n\n## Next {#next-steps}\n")
    sections = parse_sections(text.splitlines(), generator="docusaurus", mdx=True)
    assert [(s.level, s.anchor) for s in sections[1:]] == [(1, "setup"), (2, "next-steps")]
    body = _text(sections)
    assert "Note: Heads up" in body and "Read this." in body and "TabItem" not in body
    assert "import" not in body and "commented out" not in body


def test_mkdocs_admonitions_tabs_and_snippets_make_no_fake_headings() -> None:
    text = ("# Guide\n\n!!! tip \"Remember\"\n    Text inside.\n\n        # indented code\n\n"
            "=== \"Python\"\n\n    ```python\n    # comment in a fence\n    ```\n\n"
            "--8<-- \"snippets/intro.md\"\n\n--8<--\nfile-a.md\nfile-b.md\n--8<--\n\n"
            "/// warning | Careful\nBody.\n///\n\n## After\n")
    sections = parse_sections(text.splitlines())
    assert [s.anchor for s in sections[1:]] == ["guide", "after"]
    body = _text(sections)
    assert "Tip: Remember" in body and "Text inside." in body and "Warning: Careful" in body
    assert "file-a.md" not in body and "--8<--" not in body and "=== " not in body
    fence = next(b for b in sections[1].blocks if b[0].code and "```" in b[0].text)
    assert fence[1].text == "# comment in a fence"  # un-indented with its tab, still code


def test_vitepress_containers_make_no_fake_headings() -> None:
    text = "# Config\n\n::: tip Heads up\nUse `vite.config.ts`.\n:::\n---\n\n::: details\n"
    text += "## Inside details\n:::\n"
    sections = parse_sections(text.splitlines(), generator="vitepress")
    assert [s.anchor for s in sections[1:]] == ["config", "inside-details"]
    assert "Tip: Heads up" in _text(sections)


@pytest.mark.parametrize("heading,mkdocs,docusaurus,vitepress", [
    ("Step 1: Install", "step-1-install", "step-1-install", "step-1-install"),
    ("Use `app.on_event()` -- carefully!", "use-appon_event-carefully",
     "use-appon_event----carefully", "use-app-on-event-carefully"),
    ("Café & Crème", "cafe-creme", "café--crème", "cafe-creme"),
    ("2. Second", "2-second", "2-second", "_2-second"),
    ("`<Foo>` *props*", "foo-props", "foo-props", "foo-props"),
])
def test_slug_rules_per_generator(heading: str, mkdocs: str, docusaurus: str,
                                  vitepress: str) -> None:
    for generator, expected in (("mkdocs", mkdocs), ("docusaurus", docusaurus),
                                ("vitepress", vitepress)):
        assert _headings(f"## {heading}", generator) == [(2, expected)], generator


def test_bare_slug_functions() -> None:
    assert mkdocs_slug("  A  -  B ") == "a-b"
    assert github_slug("A  B") == "a--b"
    assert vitepress_slug("--Hello, World!--") == "hello-world"


def test_duplicates_and_custom_ids_per_generator() -> None:
    text = "## Usage\n\n## Usage\n\n## Other {#usage_2}\n\n## Usage\n"
    assert _headings(text, "mkdocs") == [(2, "usage"), (2, "usage_1"), (2, "usage_2"),
                                         (2, "usage_3")]
    text = "## Usage\n\n## Usage\n\n## Other {#usage-1}\n\n## Usage\n"
    assert _headings(text, "docusaurus") == [(2, "usage"), (2, "usage-1"), (2, "usage-1"),
                                             (2, "usage-2")]
    assert _headings(text, "vitepress") == [(2, "usage"), (2, "usage-1"), (2, "usage-1"),
                                            (2, "usage-2")]


def test_empty_heading_gets_an_anchor_anyway() -> None:
    assert _headings("## !!!\n", "mkdocs") == [(2, "_1")]


def test_anchors_inside_sections_are_link_targets() -> None:
    text = ("# Page\n\n* item\n{#item-anchor}\n\n[](){#autoref}\n\n"
            "### Title <a name=\"legacy_name\"></a>\n\n```\n<a id=\"in-code\"></a>\n```\n")
    found = [(h.level, h.text, h.anchor) for h in anchors(parse_sections(text.splitlines()))]
    assert found == [(1, "Page", "page"), (3, "Title", "title"), (0, "Page", "item-anchor"),
                     (0, "Page", "autoref"), (0, "Title", "legacy_name")]


def test_generator_detection(tmp_path: Path) -> None:
    cases = {"mk": ("mkdocs.yml", "mkdocs"), "dc": ("docusaurus.config.ts", "docusaurus"),
             "vp": (".vitepress/config.ts", "vitepress")}
    for folder, (marker, expected) in cases.items():
        write_docs(tmp_path / folder, {marker: "", "docs/a.md": "# A"})
        assert detect_generator(tmp_path / folder / "docs") == expected
    write_docs(tmp_path / "bare", {"a.mdx": "# A"})
    assert detect_generator(tmp_path / "bare") == "docusaurus"
    write_docs(tmp_path / "plain", {"a.md": "# A"})
    assert detect_generator(tmp_path / "plain") == "mkdocs"


def test_chunk_line_ranges_point_at_the_source(tmp_path: Path) -> None:
    source = ("---\ntitle: T\n---\nIntro\n=====\n\nFirst para.\n\n!!! note\n    Inside note.\n\n"
              "Section\n-------\n\n    # code comment\n    x = 1\n\nLast.\n")
    write_docs(tmp_path, {"mkdocs.yml": "", "docs/p.md": source})
    page = load_pages(tmp_path / "docs")[0]
    lines = source.splitlines()
    for chunk in chunk_page(page):
        first = chunk.text.splitlines()[0].strip()
        assert first in lines[chunk.start_line - 1]
        assert chunk.text.splitlines()[-1].strip() in lines[chunk.end_line - 1]
    assert [c.anchor for c in chunk_page(page)] == ["intro", "section"]


def test_many_repeated_headings_keep_python_markdown_numbering() -> None:
    text = "## Step_2\n\n" + "## Step\n\n" * 5
    assert [a for _, a in _headings(text, "mkdocs")] == [
        "step_2", "step", "step_1", "step_3", "step_4", "step_5"]


def test_hostile_heading_is_read_up_to_a_length() -> None:
    found = headings(parse_sections(["# " + "[" * 100_000, "", "## Next"]))
    assert [h.level for h in found] == [1, 2] and len(found[0].text) <= 500


def test_machinery_inside_a_list_items_fence_stays_code() -> None:
    text = ("# Page\n\n1. Configure:\n\n    ```mdx\n    import X from 'x';\n    :::note\n"
            "    ```\n\n## Next\n")
    sections = parse_sections(text.splitlines(), generator="docusaurus", mdx=True)
    assert [s.anchor for s in sections[1:]] == ["page", "next"]
    assert "import X from 'x';" in _text(sections) and ":::note" in _text(sections)
