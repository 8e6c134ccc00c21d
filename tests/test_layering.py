"""The core's layering, checked on the source: what may import or build what.

Backends never import a stage (they are the layer below); stages never
render (no click, rich or print: they return data, the CLI renders); and
nothing but the registry constructs a backend or store class, so a host
(the AWS adapter) swaps implementations in one place.
"""

from __future__ import annotations

import ast
import importlib
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import docloop
from docloop import registry

SRC = Path(docloop.__file__).parent
RENDERING = ("click", "rich")
#: modules that may construct registered classes: the registry and the classes' own modules
BUILDERS = {"docloop.registry"}
#: stage modules still rendering, each with its reason (empty it as they move)
STILL_RENDERING: dict[str, str] = {}


def _modules(under: str = "") -> Iterator[tuple[str, ast.Module]]:
    for path in sorted((SRC / under).rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, ast.parse(path.read_text("utf-8"), str(path))


def _imports(tree: ast.Module) -> Iterator[tuple[str, str | None]]:
    """(module, imported name or None) for every import, at any depth."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield from ((node.module, alias.name) for alias in node.names)


def _registered() -> set[type]:
    """Every class the registry builds (backends, stores, sources)."""
    targets = [t for family in registry.BACKENDS.values() for t in family.values()]
    targets += list(registry.SOURCE_KINDS.values())
    classes = set()
    for target in targets:
        module, _, attr = target.partition(":")
        try:
            classes.add(getattr(importlib.import_module(module), attr))
        except ImportError:  # an optional SDK is missing: that backend cannot be built anyway
            continue
    return classes


def test_no_backend_imports_a_stage() -> None:
    found = [f"{name} imports {module}" for name, tree in _modules("backends")
             for module, _ in _imports(tree) if module.startswith("docloop.stages")]
    assert found == []


def test_stages_never_render() -> None:
    found = []
    for name, tree in _modules("stages"):
        if name in STILL_RENDERING:
            continue
        found += [f"{name} imports {module}" for module, _ in _imports(tree)
                  if module.split(".")[0] in RENDERING]
        found += [f"{name} calls print()" for node in ast.walk(tree)
                  if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id == "print"]
    assert found == []


def test_the_still_rendering_list_is_current() -> None:
    """An entry whose module no longer renders must be removed (the list only shrinks)."""
    for name, tree in _modules("stages"):
        if name in STILL_RENDERING:
            assert any(m.split(".")[0] in RENDERING for m, _ in _imports(tree)), name


@pytest.mark.parametrize("under", ["stages", "web", "backends", ""])
def test_only_the_registry_constructs_registered_classes(under: str) -> None:
    registered = _registered()
    found = []
    for name, tree in _modules(under):
        if name in BUILDERS:
            continue
        module = importlib.import_module(name)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            built = getattr(module, node.func.id, None)
            if built in registered and getattr(built, "__module__", "") != name:
                found.append(f"{name}:{node.lineno} constructs {node.func.id}")
    assert found == []


def test_search_tables_show_doc_text_as_characters(capsys: pytest.CaptureFixture[str]) -> None:
    """`docs search` renders in the CLI's render module now, through `plain()`: a heading
    holding rich markup is printed as written, not styled away."""
    from docloop.models import PageHit
    from docloop.render import render_search_results
    from docloop.stages.search import QueryResult

    hit = PageHit(path="guide.md", url="https://d.example/guide", heading="[bold]Setup[/bold]",
                  score=0.5)
    render_search_results([QueryResult(None, "[red]how[/red]", [hit])], as_json=False,
                          batch=False)
    out = capsys.readouterr().out
    assert "[bold]Setup[/bold]" in out and "[red]how[/red]" in out


def test_search_tables_show_the_page_whole_on_a_narrow_terminal(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """At 80 columns the page column read `config/server-opti…`: the one thing a user acts
    on was cut, while the URL beside it repeats it."""
    from docloop.models import PageHit
    from docloop.render import render_search_results
    from docloop.stages.search import QueryResult

    monkeypatch.setenv("COLUMNS", "80")
    hit = PageHit(path="config/server-options.md", heading="server.allowedHosts", score=5.5,
                  url="https://vite.dev/config/server-options/", anchor="serverallowedhosts")
    render_search_results([QueryResult(None, "Blocked request. This host is not allowed",
                                       [hit] * 3)], as_json=False, batch=False)
    assert "config/server-options.md" in capsys.readouterr().out


@pytest.mark.parametrize("columns", ["80", "200"])
def test_search_results_keep_section_score_and_url_beside_a_long_page_path(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        columns: str) -> None:
    """FastAPI's real page paths run to 66 characters: at 80 columns the table kept the page
    whole and squeezed the section, score and URL columns to nothing (not one character of
    them was printed). A terminal too narrow for the table lists the hits instead."""
    from docloop.models import PageHit
    from docloop.render import render_search_results
    from docloop.stages.search import QueryResult

    monkeypatch.setenv("COLUMNS", columns)
    path = "tutorial/dependencies/dependencies-in-path-operation-decorators.md"
    hit = PageHit(path=path, heading="Dependencies errors and return values", score=6.374,
                  url="https://fastapi.tiangolo.com/tutorial/dependencies/"
                      "dependencies-in-path-operation-decorators/",
                  anchor="dependencies-errors-and-return-values")
    render_search_results([QueryResult(None, "my dependency raises", [hit])], as_json=False,
                          batch=False)
    out = capsys.readouterr().out
    assert path in out and "6.374" in out
    if columns == "80":  # whole lines (the table folds its cells at 200 columns)
        assert "Dependencies errors and return values" in out
        assert f"{hit.url}#dependencies-errors-and-return-values" in out
    else:
        assert "┃ section" in out and "https://fastapi.tiangolo.com/" in out


class _Terminal(io.StringIO):
    """Output that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("terminal", "widest"), [(True, 90), (False, 160)])
def test_review_tables_fit_the_terminal_and_keep_whole_lines_in_a_pipe(
        monkeypatch: pytest.MonkeyPatch, terminal: bool, widest: int) -> None:
    """A fixed 160-column table wrapped every line at a 90-column terminal's edge; a pipe
    or file still gets whole 160-column lines."""
    from docloop.render import render_review_items
    from docloop.review import ReviewItem

    out = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setenv("COLUMNS", "90")
    item = ReviewItem(id="ins_0e5d3e5f281aaa73", score=18.91, review="proposed",
                      title="Variables from .env files are accessible only during development "
                            "builds, not in vite.config.js", size=9,
                      page="tutorial/dependencies/dependencies-in-path-operation-decorators.md",
                      verdict="covered")
    render_review_items([item], as_json=False)
    lines = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue()).splitlines()  # no colours
    assert max(len(line) for line in lines) == widest
