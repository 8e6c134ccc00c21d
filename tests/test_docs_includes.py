"""Include lines (`{* ../../docs_src/x.py hl[3] *}`, `--8<-- "f"`, `<<< @/f.js`): the files
they name are indexed with the page, as the site shows them, from inside the repository
only, without moving any of the page's own line numbers."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from docloop.backends.embedders.minilm import MiniLMEmbedder
from docloop.cli import main
from docloop.docs.chunker import chunk_page
from docloop.docs.excerpts import ELIDED, excerpt_lines, snippet_excerpt, vitepress_excerpt
from docloop.docs.includes import MAX_INCLUDE_BYTES, MAX_INCLUDES, parse_include
from docloop.docs.loader import DocPage, load_pages
from docloop.docs.machinery import may_include
from tests.docs_helpers import write_docs

APP = ("from fastapi import BackgroundTasks, FastAPI\n\napp = FastAPI()\n\n\n"
       "@app.post('/send')\nasync def send(tasks: BackgroundTasks):\n"
       "    tasks.add_task(write_log, 'sent')\n")
PAGE = ("# Background Tasks\n\nRun work after the response is sent.\n\n"
        "## Using them\n\nDeclare a parameter:\n\n"
        "{* ../../docs_src/background/tutorial001.py hl[7] *}\n\nThat is all.\n")


@pytest.mark.parametrize(("line", "target"), [
    ("{!../../docs_src/a.py!}", "../../docs_src/a.py"),
    ("{! ../../docs_src/a.py !}", "../../docs_src/a.py"),
    ("{!> ../a.py !}", "../a.py"),
    ("{* ../../docs_src/b.py hl[6:8] *}", "../../docs_src/b.py"),
    ('--8<-- "snippets/x.md"', "snippets/x.md"),
    ("<<< @/snippets/z.js#region{1,2 js}", "@/snippets/z.js"),
    ("<<< ./w.ts{ts}", "./w.ts"),
    ("[[toc]]", None),
])
def test_the_target_of_each_include_syntax(line: str, target: str | None) -> None:
    include = parse_include(line)
    assert (include.path if include else None) == target


def repository(tmp_path: Path, page: str = PAGE, git: bool = True) -> Path:
    """A FastAPI-shaped repository: docs/en/docs pages, docs_src samples at the top."""
    repo = tmp_path / "repo"
    if git:
        (repo / ".git").mkdir(parents=True)
    write_docs(repo / "docs" / "en" / "docs", {"tutorial/background-tasks.md": page,
                                              "index.md": "# Home\n\nWelcome.\n"})
    (repo / "docs_src" / "background").mkdir(parents=True)
    (repo / "docs_src" / "background" / "tutorial001.py").write_text(APP, encoding="utf-8")
    return repo / "docs" / "en" / "docs"


def the_page(docs: Path) -> DocPage:
    return next(p for p in load_pages(docs) if p.path == "tutorial/background-tasks.md")


def test_an_included_sample_is_indexed_where_the_site_shows_it(tmp_path: Path) -> None:
    docs = repository(tmp_path)
    page = the_page(docs)
    chunks = {c.heading: c for c in chunk_page(page)}
    using = chunks["Using them"]
    assert "tasks.add_task(write_log, 'sent')" in using.text
    assert using.text.index("Declare a parameter") < using.text.index("```")
    elsewhere = the_page(repository(tmp_path / "b", git=False))
    plain = {c.heading: c for c in chunk_page(elsewhere)}
    assert "add_task" not in plain["Using them"].text  # outside the docs: not read
    for heading, chunk in chunks.items():  # the page's own line numbers do not move
        assert (chunk.start_line, chunk.end_line) == (plain[heading].start_line,
                                                      plain[heading].end_line)


@pytest.mark.parametrize("target", ["/etc/hostname", "../../../../../../etc/hostname",
                                    "escape/outside.py", "huge.py"])
def test_an_include_never_reads_outside_the_repository_nor_a_huge_file(
        tmp_path: Path, target: str) -> None:
    assert the_page(guarded_repository(tmp_path, f"{{! {target} !}}")).included == {}


def guarded_repository(tmp_path: Path, include: str) -> Path:
    """A repository whose page has `include`, beside a secret file outside it (also
    linked from inside as escape/outside.py) and a file too large to include."""
    outside = tmp_path / "secret.py"
    outside.write_text("API_KEY = 'not for the index'\n", encoding="utf-8")
    docs = repository(tmp_path, page=f"# Page\n\n{include}\n")
    (docs / "escape").mkdir()
    os.symlink(outside, docs / "escape" / "outside.py")
    (docs / "huge.py").write_text("x = 1\n" * (MAX_INCLUDE_BYTES // 6 + 10), encoding="utf-8")
    return docs


def test_snippets_and_vitepress_includes_resolve_from_the_docs_root(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, {"guide/deploy.md": "# Deploy\n\n--8<-- \"snippets/ci.md\"\n\n"
                                         "<<< @/snippets/deploy.yml#content\n",
                      "snippets/ci.md": "Run `vite build` in CI.\n"})
    (docs / "snippets" / "deploy.yml").write_text("jobs:\n  deploy:\n    runs-on: ubuntu\n",
                                                  encoding="utf-8")
    page = next(p for p in load_pages(docs) if p.path == "guide/deploy.md")
    assert set(page.included) == {"snippets/ci.md", "@/snippets/deploy.yml"}
    text = " ".join(c.text for c in chunk_page(page))
    assert "vite build" in text and "runs-on: ubuntu" in text


def test_an_edited_sample_reindexes_the_page_that_shows_it(tmp_path: Path) -> None:
    docs = repository(tmp_path)
    before = the_page(docs).content_hash
    sample = tmp_path / "repo" / "docs_src" / "background" / "tutorial001.py"
    sample.write_text(APP.replace("'sent'", "'queued'"), encoding="utf-8")
    assert the_page(docs).content_hash != before
    index_page = next(p for p in load_pages(docs) if p.path == "index.md")
    untouched = next(p for p in load_pages(repository(tmp_path / "c", git=False))
                     if p.path == "index.md")
    assert index_page.content_hash == untouched.content_hash  # no includes: hash as before


@pytest.fixture
def runner(minilm: MiniLMEmbedder, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DOCLOOP_MODEL_DIR", str(minilm.model_dir))
    return CliRunner()


def test_a_name_users_paste_finds_the_page_whose_sample_uses_it(runner: CliRunner,
                                                                tmp_path: Path) -> None:
    docs = repository(tmp_path)
    write_docs(docs, {"tutorial/responses.md": "# Responses\n\nReturn a response after "
                                               "the work is done; send it with a status.\n"})
    indexed = runner.invoke(main, ["index-docs", str(docs)])
    assert indexed.exit_code == 0, indexed.output
    query = "my write_log function never runs after the response is returned"
    result = runner.invoke(main, ["docs", "search", query, "--json", "--top", "3"])
    assert result.exit_code == 0, result.output
    # the name is only in the sample: without it the responses page wins (checked)
    assert json.loads(result.stdout)[0]["path"] == "tutorial/background-tasks.md"
    sample = tmp_path / "repo" / "docs_src" / "background" / "tutorial001.py"
    sample.write_text(APP + "\n# edited\n", encoding="utf-8")
    again = runner.invoke(main, ["index-docs", str(docs)])
    assert "1 changed" in again.stderr  # the page showing the edited sample


def test_a_page_of_endless_includes_shows_a_bounded_number(tmp_path: Path) -> None:
    docs = repository(tmp_path, page="# Page\n\n" + "{* ../../docs_src/background/"
                                       "tutorial001.py *}\n" * 5000)
    text = "".join(c.text for c in chunk_page(the_page(docs)))
    assert text.count("tasks.add_task") == MAX_INCLUDES


@pytest.mark.parametrize(("missing", "shown"), [(MAX_INCLUDES - 1, True), (MAX_INCLUDES, False)])
def test_a_page_tries_at_most_max_includes_files(tmp_path: Path, missing: int,
                                                 shown: bool) -> None:
    """At most MAX_INCLUDES different files are tried per page, found or not: a page naming
    that many missing files first does not read (nor show) the real one after them."""
    lines = "".join(f"{{! missing_{n}.py !}}\n" for n in range(missing))
    docs = repository(tmp_path, page=f"# Page\n\n{lines}"
                                     "{* ../../docs_src/background/tutorial001.py *}\n")
    page = the_page(docs)
    assert bool(page.included) == shown
    assert ("tasks.add_task" in "".join(c.text for c in chunk_page(page))) == shown


def test_only_the_includes_a_page_shows_are_read_and_hashed(tmp_path: Path) -> None:
    """The loader finds include lines with the parser's own pass: one in front matter, an
    HTML comment or a VitePress code fence (a page showing the syntax) is not shown, so its
    file is neither read nor part of the page's hash."""
    docs = tmp_path / "docs"
    (docs / ".vitepress").mkdir(parents=True)
    write_docs(docs, {"guide.md": "---\ntitle: Guide\n---\n\n# Guide\n\nImport a file with:\n\n"
                                  "```md\n<<< @/snippets/shown.js\n```\n\n"
                                  "<!--\n<<< @/snippets/hidden.js\n-->\n",
                      "snippets/shown.js": "export const secretName = 1\n",
                      "snippets/hidden.js": "export const hiddenName = 2\n"})
    page = load_pages(docs)[0]
    assert page.generator == "vitepress" and page.included == {}
    text = " ".join(c.text for c in chunk_page(page))
    assert "<<< @/snippets/shown.js" in text and "secretName" not in text
    assert "hiddenName" not in text


NUMBERED = "".join(f"value_{n:02} = {n}\n" for n in range(1, 41))  # line n says value_n


def shown_values(page: DocPage) -> list[int]:
    """The numbered sample lines the page's chunks show, in order."""
    text = "\n".join(c.text for c in chunk_page(page))
    return [int(n) for n in re.findall(r"^value_(\d+) = ", text, flags=re.MULTILINE)]


@pytest.mark.parametrize(("options", "values", "elided"), [
    ("ln[19:21]", [19, 20, 21], False),
    ("ln[30:38] hl[31:33]", list(range(30, 39)), False),
    ("ln[1:9,29:35] hl[9]", [*range(1, 10), *range(29, 36)], True),
    ("ln[29:35, 1:9]", [*range(1, 10), *range(29, 36)], True),  # sorted, as FastAPI does
    ("ln[19 : 21]", [19, 20, 21], False),
    ("ln[7]", [7], False),
    ("hl[6:8]", list(range(1, 41)), False),  # hl and title only decorate the block
    ('hl[3] title["app/main.py"]', list(range(1, 41)), False),
    ("ln[19:x]", list(range(1, 41)), False),  # fails FastAPI's build: the whole file
])
def test_fastapi_ln_shows_only_the_selected_lines(tmp_path: Path, options: str,
                                                  values: list[int], elided: bool) -> None:
    line = f"{{* ../../docs_src/dependencies/tutorial013_an_py310.py {options} *}}"
    docs = repository(tmp_path, page=f"# Page\n\n## Sample\n\n{line}\n")
    (tmp_path / "repo" / "docs_src" / "dependencies").mkdir()
    (tmp_path / "repo" / "docs_src" / "dependencies" / "tutorial013_an_py310.py").write_text(
        NUMBERED, encoding="utf-8")
    page = the_page(docs)
    assert shown_values(page) == values
    sample = next(c.text for c in chunk_page(page) if c.heading == "Sample")
    assert ("\n...\n" in sample) == elided  # the code left out between two ranges is marked


SECTIONED = ("import os\n\n# --8<-- [start:setup]\nclient = connect()\n# --8<-- [start:login]\n"
             "client.login()\n# --8<-- [end:login]\n# ;--8<-- [start:shown]\n"
             "# --8<-- [end:setup]\nshutdown()\n")


def snippets_repository(tmp_path: Path, page: str) -> Path:
    """An mkdocs repository whose page includes files of its top-level snippets/ folder."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "mkdocs.yml").write_text("site_name: x\n", encoding="utf-8")
    write_docs(repo / "docs", {"guide.md": page})
    (repo / "snippets").mkdir()
    (repo / "snippets" / "numbered.py").write_text(NUMBERED, encoding="utf-8")
    (repo / "snippets" / "sectioned.py").write_text(SECTIONED, encoding="utf-8")
    return repo / "docs"


@pytest.mark.parametrize(("spec", "values"), [
    ("numbered.py:3:9", list(range(3, 10))),
    ("numbered.py:38", [38, 39, 40]),  # from line 38 to the end
    ("numbered.py::2", [1, 2]),
    ("numbered.py:1:3,5:6", [1, 2, 3, 5, 6]),  # several ranges run together
    ("numbered.py:-3", [39, 40]),  # from the end; the final newline ends one more line
    ("numbered.py:35:-3", [35, 36, 37, 38, 39]),  # a negative end counts from the end too
    ("numbered.py", list(range(1, 41))),
])
def test_snippets_line_ranges_show_those_lines(tmp_path: Path, spec: str,
                                               values: list[int]) -> None:
    docs = snippets_repository(tmp_path, f'# Guide\n\n--8<-- "snippets/{spec}"\n')
    page = load_pages(docs)[0]
    assert set(page.included) == {"snippets/numbered.py"}
    assert shown_values(page) == values
    assert ELIDED not in "\n".join(c.text for c in chunk_page(page))  # ranges run together


@pytest.mark.parametrize(("spec", "shown", "hidden"), [
    ("sectioned.py:setup", ["client = connect()", "client.login()",
                            "# --8<-- [start:shown]"],
     ["import os", "shutdown()", "[start:setup]", "[start:login]", "[end:login]", ";--8<--"]),
    ("sectioned.py:login", ["client.login()"], ["client = connect()", "8<"]),
    ("sectioned.py", ["import os", "client.login()", "shutdown()", "# --8<-- [start:shown]"],
     ["[start:setup]", "[end:login]", ";--8<--"]),  # markers are never shown
])
def test_snippets_sections_show_the_lines_between_their_markers(
        tmp_path: Path, spec: str, shown: list[str], hidden: list[str]) -> None:
    docs = snippets_repository(tmp_path, f"# Guide\n\n---8<--- 'snippets/{spec}'\n")
    text = "\n".join(c.text for c in chunk_page(load_pages(docs)[0]))
    assert all(line in text for line in shown), text
    assert not any(line in text for line in hidden), text


def test_a_snippet_section_the_file_lacks_shows_and_reads_nothing(tmp_path: Path) -> None:
    docs = snippets_repository(tmp_path, '# Guide\n\nText.\n\n--8<-- "snippets/sectioned.py:gone"\n'
                                         '\n;--8<-- "snippets/numbered.py"\n')
    page = load_pages(docs)[0]
    assert page.included == {}  # nothing shown, nothing hashed; `;` escapes the second
    assert "connect" not in " ".join(c.text for c in chunk_page(page))


BLOCK_PAGE = ("# Guide\n\n## Setup\n\nThe files:\n\n--8<--\nsnippets/numbered.py:1:2\n"
              ";snippets/numbered.py\nsnippets/sectioned.py:login\n\nsnippets/missing.py\n"
              "--8<--\n\nAfter the block.\n")


def test_a_snippets_block_shows_each_file_at_its_own_line(tmp_path: Path) -> None:
    page = load_pages(snippets_repository(tmp_path, BLOCK_PAGE))[0]
    assert set(page.included) == {"snippets/numbered.py", "snippets/sectioned.py"}
    source = page.source.splitlines()
    lines = [line for s in page.sections for block in s.blocks for line in block]
    shown = {line.text: source[line.number - 1] for line in lines if line.code}
    assert shown["value_01 = 1"] == shown["value_02 = 2"] == "snippets/numbered.py:1:2"
    assert shown["client.login()"] == "snippets/sectioned.py:login"
    assert "value_03 = 3" not in shown and "import os" not in shown  # `;` comments out
    text = next(c.text for c in chunk_page(page) if c.heading == "Setup")
    assert text.index("The files:") < text.index("value_01") < text.index("client.login()")
    assert "snippets/" not in text and "8<" not in text  # the block itself is not shown
    after = next(line for line in lines if line.text == "After the block.")
    assert source[after.number - 1] == "After the block."  # page lines keep their numbers


def test_a_snippets_block_of_endless_files_shows_a_bounded_number(tmp_path: Path) -> None:
    block = "--8<--\n" + "snippets/numbered.py:1:1\n" * 5000 + "--8<--\n"
    page = load_pages(snippets_repository(tmp_path, f"# Guide\n\n{block}"))[0]
    assert shown_values(page) == [1] * MAX_INCLUDES


SNIPPET_JS = ("import { api } from './api'\n\n// #region snippet\nfunction load() {\n"
              "  // #region inner\n  return api.get('/items')\n  // #endregion inner\n}\n"
              "// #endregion snippet\n\nexport default load\n")
WORKFLOW = ("# Imported in static-deploy.md\n#\n#region content\nname: Deploy static content\n"
            "jobs:\n  deploy:\n    runs-on: ubuntu-latest\n#endregion content\n")
TEMPLATE = ("<template>\n  <!-- #region usage -->\n  <Counter :start=\"1\" />\n"
            "  <!-- #endregion usage -->\n</template>\n")
SETTINGS = "import os\n\n# region settings\nDEBUG = os.environ.get('DEBUG')\n# endregion settings\n"


def vitepress_site(tmp_path: Path, page: str) -> DocPage:
    """A VitePress docs folder (inside a repository) whose guide page is `page`."""
    docs = tmp_path / "repo" / "docs"
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (docs / ".vitepress").mkdir(parents=True)
    write_docs(docs, {"guide/deploy.md": page, "guide/deploy-workflow.yaml": WORKFLOW,
                      "snippets/snippet.js": SNIPPET_JS, "snippets/Counter.vue": TEMPLATE,
                      "snippets/settings.py": SETTINGS})
    return next(p for p in load_pages(docs) if p.path == "guide/deploy.md")


@pytest.mark.parametrize(("line", "shown", "hidden"), [
    ("<<< @/snippets/snippet.js#snippet{2}", ["function load() {", "\n  return api.get"],
     ["import { api }", "export default", "#region", "#endregion"]),
    ("<<< @/snippets/snippet.js#inner [Inner]", ["\nreturn api.get('/items')"],
     ["function load", "region"]),  # the shared indent removed
    ("<<< @/snippets/Counter.vue#usage", ['<Counter :start="1" />'], ["template", "region"]),
    ("<<< @/snippets/settings.py#settings{1 py}", ["DEBUG = os.environ"], ["import os", "region"]),
    ("<<< @/snippets/snippet.js{ts}", ["import { api }", "// #region snippet", "export default"],
     []),  # a language hint: the whole file, markers and all
    ("<<< @/snippets/snippet.js{1,3-4} [snippet.js]", ["import { api }", "export default"], []),
    ("<<< @/snippets/snippet.js#missing", ["import { api }", "export default"], []),
    ("1. Add the workflow:\n\n   <<< ./deploy-workflow.yaml#content [.github/workflows/deploy.yml]",
     ["name: Deploy static content", "runs-on: ubuntu-latest"], ["Imported in", "region"]),
])
def test_vitepress_regions_and_options_show_what_the_site_shows(
        tmp_path: Path, line: str, shown: list[str], hidden: list[str]) -> None:
    page = vitepress_site(tmp_path, f"# Deploy\n\n{line}\n")
    assert len(page.included) == 1
    text = "\n".join(c.text for c in chunk_page(page))
    assert all(part in text for part in shown), text
    assert not any(part in text for part in hidden), text


ITEM_HTML = "<html>\n<head><title>Item Details</title></head>\n<body>{{ id }}</body>\n</html>\n"
FENCED_PAGE = ("# Templates\n\n## Using templates\n\nWrite a template:\n\n"
               "```jinja hl_lines=\"7\"\n{!../../docs_src/templates/item.html!}\n```\n\n"
               "## Snippets\n\n``` py title=\"main.py\"\n"
               "--8<-- \"../../docs_src/background/tutorial001.py:1:1\"\n```\n\n"
               "```md\n<<< @/snippets/not-here.js\n```\n")


def test_mkdocs_includes_inside_fenced_code_show_the_file_in_the_fence(tmp_path: Path) -> None:
    """mkdocs include extensions run before Markdown is parsed, so `{! file !}` in a fence
    shows the file there (FastAPI's templates page); VitePress `<<<` in a fence stays text."""
    docs = repository(tmp_path, page=FENCED_PAGE)
    (tmp_path / "repo" / "docs_src" / "templates").mkdir()
    (tmp_path / "repo" / "docs_src" / "templates" / "item.html").write_text(ITEM_HTML,
                                                                          encoding="utf-8")
    page = the_page(docs)
    assert set(page.included) == {"../../docs_src/templates/item.html",
                                  "../../docs_src/background/tutorial001.py"}
    chunks = {c.heading: c.text for c in chunk_page(page)}
    assert ('```jinja hl_lines="7"\n<html>\n<head><title>Item Details</title></head>'
            in chunks["Using templates"])
    assert chunks["Snippets"].startswith(
        '``` py title="main.py"\nfrom fastapi import BackgroundTasks, FastAPI\n```')
    assert "<<< @/snippets/not-here.js" in chunks["Snippets"]
    assert "{!" not in chunks["Using templates"] and "8<" not in chunks["Snippets"]
    source = page.source.splitlines()
    title = next(line for s in page.sections for b in s.blocks for line in b
                 if "Item Details" in line.text)
    assert source[title.number - 1] == "{!../../docs_src/templates/item.html!}"


@pytest.mark.parametrize("include", [
    '--8<-- "/etc/hostname:1:1"', '--8<-- "../../../../../../etc/hostname:secret"',
    "--8<--\n/etc/hostname\n../../../../../../etc/hostname:1:2\nescape/outside.py\n--8<--",
    "<<< /etc/hostname#region{1}", "<<< ../../../../../../etc/hostname [title]",
    "```py\n{! escape/outside.py !}\n```", "{* huge.py ln[1:2] *}",
])
def test_ranges_sections_blocks_and_regions_stay_inside_the_repository(
        tmp_path: Path, include: str) -> None:
    assert the_page(guarded_repository(tmp_path, include)).included == {}


def test_hostile_include_lines_and_files_cost_linear_time(tmp_path: Path) -> None:
    """Long lines shaped to make a backtracking pattern quadratic (seconds each, before the
    parsers were written to run in linear time) parse at once, in pages and in files."""
    long = 19_000
    lines = ["{*" + "a" * long + "!}", "{* p " + "a[" * (long // 2) + " *}",
             '--8<-- "' + ":1," * (long // 3) + 'X"', "<<< " + "[" * long + "x",
             "<<< a" + " " * long + "x", "--8<--\n" + ":1," * (long // 3) + "X\n--8<--",
             "<<< @/snippets/hostile.js#a", '--8<-- "snippets/hostile.js"']
    hostile = ("-" * 30_000 + "8<\n" + "// #region a" + " " * 15_000 + "b\n"
               + "<!-- #region a" + " " * 15_000 + "\n")  # under MAX_INCLUDE_BYTES
    docs = repository(tmp_path, page="# Page\n\n" + "\n\n".join(lines) + "\n")
    (docs / "snippets").mkdir()
    (docs / "snippets" / "hostile.js").write_text(hostile, encoding="utf-8")
    started = time.perf_counter()
    page = the_page(docs)
    chunk_page(page)
    assert time.perf_counter() - started < 3
    assert set(page.included) == {"@/snippets/hostile.js", "snippets/hostile.js"}


MARKDOWN_PAGE = ("# Guide\n\n## Setup\n\nBefore.\n\n--8<-- \"snippets/warning.md\"\n\n"
                 "```text\n--8<-- \"snippets/warning.md\"\n```\n\nAfter.\n")
WARNING_MD = ("## Careful\n\nNever share your **API key**; rotate it at once if it leaks.\n\n"
              "```bash\nexport TP_TOKEN=...\n```\n")


@pytest.mark.parametrize("name", ["warning.md", "warning.markdown"])
def test_an_included_markdown_file_shows_as_prose_outside_fences(tmp_path: Path,
                                                                 name: str) -> None:
    """mkdocs renders a pulled-in Markdown file (`.md`, `.markdown`...) as Markdown: its text
    is prose (and its code stays code), not one code block of Markdown source; in a fence it
    is code."""
    docs = snippets_repository(tmp_path, MARKDOWN_PAGE.replace("warning.md", name))
    (docs.parent / "snippets" / name).write_text(WARNING_MD, encoding="utf-8")
    page = load_pages(docs)[0]
    lines = [line for s in page.sections for block in s.blocks for line in block]
    source = page.source.splitlines()
    prose = [line for line in lines if not line.code]
    assert [line.text for line in prose] == [
        "Before.", "Careful", "Never share your **API key**; rotate it at once if it leaks.",
        "After."]
    kept = [line for line in prose if line.text.startswith("Never share")]
    assert len(kept) == 1 and source[kept[0].number - 1] == f'--8<-- "snippets/{name}"'
    code = [line.text for line in lines if line.code]
    assert "export TP_TOKEN=..." in code  # the snippet's own code block stays code
    assert "## Careful" in code  # inside the page's fence the file is shown as code
    assert [s.heading_path[-1] for s in page.sections if s.heading_path] == ["Guide", "Setup"]


def test_a_vitepress_include_of_a_markdown_file_shows_it_as_code(tmp_path: Path) -> None:
    """VitePress `<<<` imports a code snippet, whatever the file: a `.md` file is shown as a
    code block of its Markdown source, not rendered as the page's prose (mkdocs includes are)."""
    docs = tmp_path / "repo" / "docs"
    (docs / ".vitepress").mkdir(parents=True)
    write_docs(docs, {"guide.md": "# Guide\n\n<<< @/snippets/warning.md\n",
                      "snippets/warning.md": WARNING_MD})
    page = next(p for p in load_pages(docs) if p.path == "guide.md")
    assert set(page.included) == {"@/snippets/warning.md"}
    lines = [line for s in page.sections for block in s.blocks for line in block]
    assert any(line.code and line.text == "## Careful" for line in lines)
    assert all(line.code for line in lines if "API key" in line.text)


PARTIAL_PAGE = ("---\ntitle: Start\n---\n\nimport Setup from './_setup.mdx';\n"
                "import Shared from '@site/partials/_shared.md';\nimport Tabs from '@theme/Tabs';\n"
                "import Secret from '../../../../outside/_secret.md';\n\n# Getting started\n\n"
                "## Setup\n\n<Setup />\n\n## Shared\n\n<Shared note=\"x\"/>\n\n## Elsewhere\n\n"
                "<Secret />\n\n```mdx\n<Setup />\n```\n")


def docusaurus_site(tmp_path: Path) -> Path:
    """A Docusaurus repository whose start page renders a partial beside it, one from the
    site's partials/ folder (`@site/`) and one outside the repository."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "docusaurus.config.js").write_text("module.exports = {};\n", encoding="utf-8")
    write_docs(repo / "docs", {"guide/start.mdx": PARTIAL_PAGE,
                               "guide/_setup.mdx": "Install with `npm i -g tidepool`.\n\n"
                                                   "```bash\ntp login --token $TP_TOKEN\n```\n"})
    (repo / "partials").mkdir()
    (repo / "partials" / "_shared.md").write_text(  # Docusaurus reads `.md` as MDX too
        "{/* keep in step with auth.md */}Tokens expire after **30 days**.\n", encoding="utf-8")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "_secret.md").write_text("API_KEY = not for the index\n",
                                                     encoding="utf-8")
    return repo / "docs"


def test_a_docusaurus_partial_shows_where_the_page_renders_it(tmp_path: Path) -> None:
    docs = docusaurus_site(tmp_path)
    pages = load_pages(docs)
    assert [p.path for p in pages] == ["guide/start.mdx"]  # a `_` partial is not a page
    page = pages[0]
    assert set(page.included) == {"./_setup.mdx", "@site/partials/_shared.md"}
    chunks = {c.heading: c.text for c in chunk_page(page)}
    assert "Install with `npm i -g tidepool`." in chunks["Setup"]
    assert "tp login --token $TP_TOKEN" in chunks["Setup"]
    assert "Tokens expire after **30 days**." in chunks["Shared"]
    assert "keep in step" not in chunks["Shared"]  # an MDX comment, in a `.md` partial too
    assert "not for the index" not in " ".join(chunks.values())  # outside the repository
    lines = [line for s in page.sections for block in s.blocks for line in block]
    source = page.source.splitlines()
    install = next(line for line in lines if line.text.startswith("Install with"))
    assert source[install.number - 1] == "<Setup />"  # numbered with the line that renders it
    assert any(line.code and line.text == "<Setup />" for line in lines)  # in a fence: code
    before = page.content_hash
    (docs / "guide" / "_setup.mdx").write_text("Install with pipx.\n", encoding="utf-8")
    assert load_pages(docs)[0].content_hash != before  # an edited partial re-indexes the page


def test_only_pages_that_may_include_are_scanned_for_includes() -> None:
    """The loader's cheap test: an MDX page importing components only (typescript-eslint's
    150 `@theme/Tabs` pages) is not scanned; one importing a Markdown module is."""
    tabs = "import Tabs from '@theme/Tabs';\n\n# Rules\n\n<Tabs />\n"
    assert not may_include(tabs, mdx=True)
    assert may_include(tabs + "import Setup from './_setup.mdx';\n", mdx=True)
    assert not may_include("import Setup from './_setup.mdx';\n", mdx=False)  # not MDX
    assert may_include('--8<-- "snippets/a.py"\n', mdx=False)


def test_an_escaped_section_marker_is_text_that_opens_and_closes_nothing() -> None:
    text = ("# ;--8<-- [start:setup]\nnot in the section\n# --8<-- [start:setup]\nconnect()\n"
            "# ;--8<-- [end:setup]\nlogin()\n# --8<-- [end:setup]\nshutdown()\n")
    assert excerpt_lines(text, snippet_excerpt("f.py:setup")[1]) == [
        "connect()", "# --8<-- [end:setup]", "login()"]
    assert excerpt_lines(text, snippet_excerpt("f.py")[1]) == [
        "# --8<-- [start:setup]", "not in the section", "connect()", "# --8<-- [end:setup]",
        "login()", "shutdown()"]


def test_snippet_section_markers_match_in_any_case() -> None:
    """pymdownx.snippets matches `--8<-- [START:name]` and `[End:name]` as it matches
    `[start:name]`: the section is found and its markers are not shown."""
    text = "import os\n# --8<-- [START:setup]\nconnect()\n# --8<-- [End:setup]\nshutdown()\n"
    assert excerpt_lines(text, snippet_excerpt("f.py:setup")[1]) == ["connect()"]
    assert excerpt_lines(text, snippet_excerpt("f.py")[1]) == [
        "import os", "connect()", "shutdown()"]


@pytest.mark.parametrize(("text", "shown"), [
    pytest.param("// #region a\nouter()\n  // #region a\n  inner()\n  // #endregion a\n"
                 "done()\n// #endregion a\n", ["outer()", "  inner()", "done()"],
                 id="nested-regions-of-a-name-show-the-outermost-once"),
    pytest.param("Intro\n<!-- #region a -->\n```js\n// #region call\nload()\n```\n"
                 "<!-- #endregion -->\nOutro\n", ["```js", "// #region call", "load()", "```"],
                 id="an-unnamed-end-closes-the-innermost-region-of-its-style"),
    pytest.param('Imports System\n#Region "a"\nDim x = 1\n#End Region\n', ["Dim x = 1"],
                 id="visual-basic-region-names-are-quoted"),
    pytest.param("// #region a\nfirst()\n// #endregion a\nother()\n// #region a\nsecond()\n"
                 "// #endregion a\n", ["first()", "second()"],
                 id="every-region-of-the-name-is-shown"),
])
def test_vitepress_regions_are_cut_as_vitepress_cuts_them(text: str, shown: list[str]) -> None:
    """`<<< file#a` shows the lines of every region `a` (the outermost when nested), the end
    without a name closing the innermost region of its own comment style; VB's `#Region "a"`
    names region `a`."""
    assert excerpt_lines(text, vitepress_excerpt("f.js#a")[1]) == shown


def test_an_include_line_in_front_matter_is_not_read(tmp_path: Path) -> None:
    """Front matter is not Markdown: an include line in a YAML value shows nothing, so its
    file is neither read nor part of the page's hash."""
    page = the_page(repository(tmp_path, page="---\ntitle: Tasks\nsummary: >\n"
                                              "  {! ../../docs_src/background/tutorial001.py !}\n"
                                              "---\n\n# Background Tasks\n\nText.\n"))
    assert page.included == {}
