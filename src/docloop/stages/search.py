"""The `docs search` stage: one query, or a JSONL batch, against the docs index."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from docloop import registry
from docloop.config import Settings
from docloop.errors import InputError, UserError
from docloop.models import PageHit
from docloop.stages.index_docs import open_index

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
    queries = read_queries(queries_file) if queries_file else [(None, query or "")]
    if settings.docs_index == "sqlite" and not settings.db_path.is_file():
        raise UserError("the docs index is empty: run docloop index-docs first")
    with registry.open_stores(settings) as stores:
        index = open_index(settings, stores)
        index.check_embedder()  # a remote index proves its key, host and dimension first
        if index.page_count() == 0:
            raise UserError(f"the docs index is empty: {index.empty_hint()}")
        hits = index.search_many([text for _, text in queries], top_k)
    return [QueryResult(qid, text, h) for (qid, text), h in zip(queries, hits, strict=True)]


def read_queries(path: Path) -> list[tuple[QueryId | None, str]]:
    """`{"id", "text"}` lines; InputError naming the file and line otherwise."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # drops a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read queries file {path}: {exc}") from None
    queries: list[tuple[QueryId | None, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise InputError(f'{path}:{number}: expected an object with a "text" string')
        if "id" not in item:
            raise InputError(f'{path}:{number}: missing "id"')
        query_id = item["id"]
        if isinstance(query_id, bool) or not isinstance(query_id, str | int | float):
            raise InputError(f'{path}:{number}: "id" must be a string or a number, '
                             f"not {json.dumps(query_id)}")
        queries.append((query_id, item["text"]))
    return queries


def result_json(result: QueryResult) -> dict[str, object]:
    """The DESIGN §5 batch line for one query."""
    return {"id": result.id, "results": [
        {"path": h.path, "url": h.url, "heading": h.heading, "score": h.score}
        for h in result.hits]}
