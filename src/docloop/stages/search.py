"""The `docs search` stage: one query, or a JSONL batch, against the docs index."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from docloop import registry
from docloop.config import Settings
from docloop.errors import InputError, UserError
from docloop.jsonl import finite, named, parse_line, read_lines
from docloop.models import PageHit
from docloop.sanitize import whole_characters
from docloop.stages.index_docs import open_index

log = logging.getLogger("docloop.search")

#: a query line's id as the file gives it: echoed back unchanged, so a caller that keys its
#: queries by number finds its numbers (`7`, not `"7"`) in the results
QueryId = str | int | float


@dataclass
class QueryResult:
    """The hits of one query; `id` is the JSONL line's id (None for a single query)."""

    id: QueryId | None
    text: str
    hits: list[PageHit]


def run_search(settings: Settings, query: str | None, queries_file: Path | None,
               top_k: int) -> list[QueryResult]:
    """Search one query or every line of `queries_file`."""
    if (query is None) == (queries_file is None):
        raise UserError("give either a QUERY or --queries FILE.jsonl (one of them)")
    if query is not None and not query.strip():
        raise UserError("the query is empty: give the words to search for")
    queries = read_queries(queries_file) if queries_file else [(None, whole_characters(
        query or ""))]
    if settings.docs_index == "sqlite" and not settings.db_path.is_file():
        raise UserError("the docs index is empty: run docloop index-docs first")
    with registry.open_stores(settings) as stores:
        index = open_index(settings, stores)
        index.check_embedder()  # a remote index proves its key, host and dimension first
        if index.page_count() == 0:
            raise UserError(f"the docs index is empty: {index.empty_hint()}")
        asked = [text for _, text in queries if text.strip()]
        found = iter(index.search_many(asked, top_k) if asked else [])
    blank = [qid for qid, text in queries if not text.strip()]
    if blank:
        log.warning("%d queries have no text (ids %s): they get no results", len(blank),
                    ", ".join(json.dumps(qid) for qid in blank[:10])
                    + (" …" if len(blank) > 10 else ""))
    return [QueryResult(qid, text, next(found) if text.strip() else [])
            for qid, text in queries]


def read_queries(path: Path) -> list[tuple[QueryId | None, str]]:
    """`{"id", "text"}` lines; InputError naming the file and line otherwise. A lone
    surrogate in a text (half of a broken emoji) reads as U+FFFD, as `docloop run` reads
    an export; an id must come back as given, so one that cannot be written is refused."""
    queries: list[tuple[QueryId | None, str]] = []
    lines_of: dict[str, list[int]] = {}
    for number, line in enumerate(read_lines(path, "queries file"), start=1):
        if not line.strip():
            continue
        where = f"{named(path)}:{number}"
        item = parse_line(where, line)
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise InputError(f'{where}: expected an object with a "text" string')
        if "id" not in item:
            raise InputError(f'{where}: missing "id"')
        query_id = item["id"]
        if isinstance(query_id, bool) or not isinstance(query_id, str | int | float):
            raise InputError(f'{where}: "id" must be a string or a number, '
                             f"not {json.dumps(query_id)}")
        if not finite(query_id) or (isinstance(query_id, str)
                                    and whole_characters(query_id) != query_id):
            raise InputError(f'{where}: "id" {query_id!r} cannot be written back as JSON text; '
                             "give a finite number or a string of whole characters")
        queries.append((query_id, whole_characters(item["text"])))
        lines_of.setdefault(json.dumps(query_id), []).append(number)
    _warn_repeated_ids(path, lines_of)
    return queries


def _warn_repeated_ids(path: Path, lines_of: dict[str, list[int]]) -> None:
    """Say which ids repeat: each line is still answered, in file order, but a caller
    that keys the results by id keeps only one of them."""
    repeated = {qid: lines for qid, lines in lines_of.items() if len(lines) > 1}
    if repeated:
        qid, lines = next(iter(repeated.items()))
        log.warning("%s: %d ids repeat (%s on lines %s); every line is answered in file "
                    "order, so key the results by line, or make the ids unique", named(path),
                    len(repeated), qid, ", ".join(map(str, lines[:5])))


def result_json(result: QueryResult) -> dict[str, object]:
    """The DESIGN §5 batch line for one query."""
    return {"id": result.id, "results": [
        {"path": h.path, "url": h.url, "heading": h.heading, "score": h.score}
        for h in result.hits]}
