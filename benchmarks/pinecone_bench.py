"""The docs index on Pinecone against the SQLite index: agreement, requests, time.

Run: PYTHONPATH=src python benchmarks/pinecone_bench.py [SET ...]
Writes benchmarks/results/pinecone_bench.md and prints it.

For each set, the same docs are indexed by `index-docs` into SQLite and into
Pinecone (the local data-plane stand-in, tests/fake_pinecone.py, speaking the
real wire format to the real SDK; no network cost is modelled) with MiniLM,
then every question is searched in both. Reported: how often both put the
same page first (the issue's target: >= 90%) and the same three pages in the
same order; Pinecone requests and vectors upserted for a cold index, an
unchanged re-index and a re-index after one page changed; search time per
query for both (query embeddings from the cache, so the model's time is in neither),
measured in the same run. Homes live in
benchmarks/.work/pinecone/<set>/ and are reused, so the MiniLM chunk
embeddings (the slow part) are computed once; the Pinecone namespace is
fresh each run. Sets: the Tidepool example with its labelled questions, and
with ../shared present the Vite and Pydantic docs with their real community
messages and the FastAPI docs with benchmarks/data/fastapi_search.jsonl.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from docloop.config import load_settings
from docloop.stages.index_docs import index_docs

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the stand-in and the comparison live in tests/

from tests.fake_pinecone import FakePinecone  # noqa: E402
from tests.pinecone_support import (  # noqa: E402
    TIDEPOOL,
    Agreement,
    compare,
    realset_questions,
    tidepool_questions,
)

SHARED = Path(os.environ.get("DOCLOOP_SHARED") or HERE.parent.parent / "shared")
WORK = HERE / ".work" / "pinecone"
RESULT = HERE / "results" / "pinecone_bench.md"
COMMAND = "PYTHONPATH=src python benchmarks/pinecone_bench.py"


def _fastapi() -> list[str]:
    lines = (HERE / "data" / "fastapi_search.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


#: set -> (docs folder, questions)
SETS: dict[str, tuple[Path, Callable[[], list[str]]]] = {
    "tidepool": (TIDEPOOL / "docs", tidepool_questions),
    "vite": (SHARED / "corpora" / "vite-docs", lambda: realset_questions(SHARED, "vite")),
    "pydantic": (SHARED / "corpora" / "pydantic-docs",
                 lambda: realset_questions(SHARED, "pydantic")),
    "fastapi": (SHARED / "corpora" / "fastapi-docs", _fastapi),
}


def measure(name: str) -> list[str]:
    """One set's table row, plus the re-index rows."""
    docs, questions = SETS[name]
    with FakePinecone(dimension=384) as fake:
        result = compare(docs, questions(), WORK / name, fake, dict(os.environ))
        unchanged, one_page = _reindex(docs, WORK / name, fake)
    return [_row(name, result), *(f"| {name} | {label} | {value} |" for label, value in
                                  (("unchanged re-index", unchanged),
                                   ("one page changed", one_page)))]


def _reindex(docs: Path, home: Path, fake: FakePinecone) -> tuple[str, str]:
    """Requests of an unchanged re-index, then of one where one page changed (a copy of the
    docs with a line added to the first page)."""
    settings = load_settings(overrides={"home": home, "docs_index": "pinecone",
                                        "pinecone_host": fake.host,
                                        "pinecone_namespace": docs.name},
                             environ={**os.environ, "PINECONE_API_KEY": fake.api_key})
    before = fake.upserted, sum(fake.calls.values())
    stats = index_docs(settings, docs, [])
    unchanged = (f"{sum(fake.calls.values()) - before[1]} requests "
                 f"({stats.sync.write_requests} writes), {fake.upserted - before[0]} vectors")
    copy = home / "docs-copy" / docs.name
    _copy_tree(docs, copy)
    first = next(p for p in sorted(copy.rglob("*.md"))
                 if not any(word in p.name.lower() for word in ("changelog", "release")))
    first.write_text(first.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    index_docs(settings, copy, [])  # the copy at another root: same relative paths
    before = fake.upserted, sum(fake.calls.values())
    first.write_text(first.read_text(encoding="utf-8") + "\nAnd another.\n", encoding="utf-8")
    stats = index_docs(settings, copy, [])
    changed = (f"{sum(fake.calls.values()) - before[1]} requests "
               f"({stats.sync.write_requests} writes), {fake.upserted - before[0]} vectors "
               f"upserted, {stats.sync.vectors_deleted} deleted")
    return unchanged, changed


def _copy_tree(source: Path, target: Path) -> None:
    for path in source.rglob("*"):
        if path.is_file():
            dest = target / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(path.read_bytes())


def _row(name: str, r: Agreement) -> str:
    sync = r.pinecone_index.sync
    per_query = {k: 1000 * v / r.queries for k, v in
                 (("pinecone", r.pinecone_search_seconds), ("sqlite", r.sqlite_search_seconds))}
    return (f"| {name} | cold index | {r.same_top}/{r.queries} same top page "
            f"({100 * r.top1:.1f}%), {r.same_top3}/{r.queries} same top 3; {sync.chunks} chunks, "
            f"{sync.vectors_upserted} vectors in {sync.write_requests} upserts, "
            f"{r.requests.get('/query', 0)} queries; search {per_query['pinecone']:.0f} ms/query "
            f"vs SQLite {per_query['sqlite']:.0f} ms/query "
            f"({per_query['pinecone'] / max(per_query['sqlite'], 1e-9):.2f}x) |")


def main(names: list[str]) -> int:
    chosen = [n for n in names or list(SETS) if SETS[n][0].is_dir()]
    rows = [row for name in chosen for row in measure(name)]
    report = "\n".join([
        "## Docs index on Pinecone vs SQLite",
        "",
        f"Command: `{COMMAND}`",
        "",
        "Same docs, same MiniLM vectors, every labelled question searched in both indexes "
        "(Pinecone: the local data-plane stand-in through the real SDK, so times are local "
        "HTTP, not the service's latency; query embeddings cached for both). Target: the same "
        "top page for >= 90% of queries.",
        "",
        "| set | what | result |",
        "| --- | --- | --- |",
        *rows,
        "",
    ])
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
