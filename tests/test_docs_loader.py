"""Reading Markdown/MDX folders: front matter, cleaning, URLs, excludes, chunks."""

from __future__ import annotations

from pathlib import Path

import pytest

from docloop.docs.chunker import chunk_page
from docloop.docs.loader import is_api_stub, load_pages, page_url
from docloop.docs.markdown import headings, parse_sections
from docloop.errors import InputError
from tests.docs_helpers import write_docs


def test_mkdocs_urls(tmp_path: Path) -> None:
    (tmp_path / "mkdocs.yml").write_text("site_name: x")
    docs = tmp_path / "docs"
    write_docs(docs, {"index.md": "# Home", "tutorial/index.md": "# T", "tutorial/cors.md": "# C",
                      "about/README.md": "# A"})
    urls = {p.path: p.url for p in load_pages(docs, "https://x.dev/")}
    assert urls == {"index.md": "https://x.dev/", "tutorial/index.md": "https://x.dev/tutorial/",
                    "tutorial/cors.md": "https://x.dev/tutorial/cors/",
                    "about/README.md": "https://x.dev/about/"}


def test_docusaurus_urls_follow_slug_id_and_numeric_prefixes() -> None:
    assert page_url("01-guide/02-intro.mdx", {}, "https://d.io", "docusaurus") == \
        "https://d.io/guide/intro"
    assert page_url("a/b.mdx", {"id": "bee"}, None, "docusaurus") == "a/bee"
    assert page_url("a/b.mdx", {"slug": "/start/"}, "https://d.io", "docusaurus") == \
        "https://d.io/start/"
    assert page_url("a/b.mdx", {"slug": "here"}, "https://d.io", "docusaurus") == \
        "https://d.io/a/here"


def test_front_matter_title_wins_over_heading(tmp_path: Path) -> None:
    write_docs(tmp_path, {"p.mdx": "---\ntitle: 'Real: Title'\nsidebar_label: RT\n---\n# Other\n"})
    page = load_pages(tmp_path)[0]
    assert page.title == "Real: Title" and page.front_matter["sidebar_label"] == "RT"


def test_a_byte_order_mark_does_not_hide_the_front_matter(tmp_path: Path) -> None:
    """Saved by a Windows editor, `\ufeff---` was no front matter: its YAML became page text."""
    (tmp_path / "p.md").write_bytes("\ufeff---\ntitle: Real\n---\n# Other\n\nBody.\n".encode())
    page = load_pages(tmp_path)[0]
    assert page.title == "Real" and page.front_matter == {"title": "Real"}


@pytest.mark.parametrize("text,problem", [
    ("---\ntitle: [unclosed\n---\nbody", "not valid YAML"),
    ("---\n- a list\n---\nbody", "mapping"),
    ("---\ntitle: x\nbody without end", "never closed"),
])
def test_bad_front_matter_names_the_file(tmp_path: Path, text: str, problem: str) -> None:
    write_docs(tmp_path, {"bad.md": text})
    with pytest.raises(InputError, match=rf"bad\.md.*{problem}"):
        load_pages(tmp_path)


def test_missing_folder_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="docs folder not found"):
        load_pages(tmp_path / "nope")


def _texts(source: list[str], generator: str = "mkdocs", mdx: bool = False) -> list[str]:
    sections = parse_sections(source, generator=generator, mdx=mdx)
    return [line.text.strip() for s in sections for block in s.blocks for line in block
            if line.text.strip()]


def test_headings_attr_lists_and_code_fences() -> None:
    found = headings(parse_sections(["## Use `CORSMiddleware` { #use-cors .special }", "",
                                     "### Step 1: Install"]))
    assert [(h.level, h.text, h.anchor) for h in found] == [
        (2, "Use CORSMiddleware", "use-cors"), (3, "Step 1: Install", "step-1-install")]
    sections = parse_sections(["```python", "# not a heading", "```", "# Real"])
    assert [s.anchor for s in sections] == ["", "real"]
    assert [line.code for line in sections[0].blocks[0]] == [True, True, True]


def test_mdx_machinery_dropped_and_text_kept() -> None:
    source = ["import Tabs from '@theme/Tabs';", "export const x = 1;", "", "<Tabs>",
              "<TabItem value=\"a\">Install with npm</TabItem>", "<Admonition />", "",
              ":::note Heads up", "Be careful", ":::", "/// tip | Pro tip", "text", "///",
              "//// tab | Python 3.8+"]
    assert _texts(source, "docusaurus", mdx=True) == [
        "Install with npm", "Note: Heads up", "Be careful", "Tip: Pro tip", "text"]
    assert _texts(["!!! warning \"Careful\"", "    indented body"]) == [
        "Warning: Careful", "indented body"]


def test_default_excludes_and_overrides(tmp_path: Path) -> None:
    write_docs(tmp_path, {
        "guide.md": "# Guide\nreal text",
        "release-notes.md": "# Release notes",
        "about/CHANGELOG.md": "# Changes",
        "reference/app.md": "# `App`\n\nReference.\n\n::: pkg.App\n    options:\n"
                            "      members: []\n",
        "drafts/wip.md": "# WIP",
        "_partial.mdx": "shared snippet",
    })
    assert [p.path for p in load_pages(tmp_path, excludes=["drafts/*"])] == ["guide.md"]
    everything = load_pages(tmp_path, default_excludes=False)
    assert len(everything) == 5


def test_api_stub_needs_directive_and_little_prose() -> None:
    assert is_api_stub("# X\n\n::: fastapi.FastAPI\n    options:\n        members: [a]\n")
    assert not is_api_stub("# X\n\n:::note\nhello\n:::\n")
    assert not is_api_stub("::: a.B\n" + "word " * 300)
    assert not is_api_stub("# Short\n\n::: note\nA Docusaurus admonition.\n:::\n")


def test_chunks_follow_headings_and_split_long_sections(tmp_path: Path) -> None:
    long_section = "\n\n".join(f"Paragraph {i} " + "text " * 60 for i in range(6))
    code = "```python\n" + "\n".join(f"line_{i} = {i}" for i in range(40)) + "\n```"
    write_docs(tmp_path, {"page.md": f"# Page\n\nIntro.\n\n## Long\n\n{long_section}\n\n"
                                     f"### Code {{ #code-here }}\n\n{code}\n"})
    page = load_pages(tmp_path, "https://x.dev")[0]
    chunks = chunk_page(page, max_chars=800)
    assert chunks[0].heading == "Page" and chunks[0].text == "Intro." and chunks[0].start_line == 3
    long_chunks = [c for c in chunks if c.heading == "Long"]
    assert len(long_chunks) >= 3 and all(len(c.text) <= 800 for c in long_chunks)
    assert all(c.text.startswith("Paragraph") for c in long_chunks)
    code_chunk = next(c for c in chunks if c.anchor == "code-here")
    assert code_chunk.text.startswith("```python") and code_chunk.text.endswith("```")
    assert code_chunk.heading_path == ["Page", "Long", "Code"]
    assert code_chunk.url == "https://x.dev/page/#code-here"
    assert page.source.splitlines()[code_chunk.end_line - 1] == "```"


def test_both_shared_corpora_load(shared_dir: Path) -> None:
    fastapi = load_pages(shared_dir / "corpora" / "fastapi-docs", "https://fastapi.tiangolo.com")
    paths = {p.path: p for p in fastapi}
    assert "release-notes.md" not in paths and "reference/fastapi.md" not in paths
    assert paths["tutorial/cors.md"].url == "https://fastapi.tiangolo.com/tutorial/cors/"
    eslint = load_pages(shared_dir / "corpora" / "typescript-eslint-docs",
                        "https://typescript-eslint.io")
    quick = next(p for p in eslint if p.path == "getting-started/Quickstart.mdx")
    assert quick.url == "https://typescript-eslint.io/getting-started/"
    assert quick.title == "Getting Started"
    chunks = chunk_page(quick)
    assert not any("import Tabs" in c.text for c in chunks)
    assert any(c.heading == "Step 1: Installation" for c in chunks)
