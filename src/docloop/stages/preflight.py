"""Preflight: prove a run's external settings before anything is written.

DESIGN §5 promises that bad configuration is exit 2 with nothing written. A
rejected Linear key, a wrong team id, a refused OpenAI key or an unknown
model would otherwise surface only after ingest stored the messages (or, for
the tracker, as the same error recorded on every insight). So a run first
asks each backend it will use one cheap question — Linear's `team(id:)`,
the LLM server's `GET /models`, the Pinecone docs index's
`describe_index_stats` — before the database is opened. Only the
backends the run uses are asked: no tracker check for `--tracker none` or a
dry run (which files nothing). A service that stays unavailable after the
clients' retries is exit 1, also with nothing written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from docloop import db, registry
from docloop.backends.trackers.base import Tracker
from docloop.config import Settings
from docloop.errors import TransientError


def preflight_run(settings: Settings, dry_run: bool) -> Tracker | None:
    """Check the model server and the tracker this run will use; raise before any write.

    Returns the checked tracker (None when the run files nothing), so filing uses the
    instance whose settings were proven instead of building and resolving them again.
    """
    check_models(settings)
    check_docs_index(settings)
    if dry_run or settings.tracker == "none":
        return None
    return checked_tracker(settings)


def check_models(settings: Settings) -> None:
    """One `GET /models` proving OPENAI_API_KEY and every model name the run will ask for."""
    models: dict[str, str] = {}
    if settings.analyzer == "llm":
        models["llm_model"] = settings.llm_model
    if settings.embedder == "openai":
        models["embedding_model"] = settings.embedding_model
    if not models:
        return
    from docloop.backends.analyzers.llm_client import LLMClient

    with _unavailable("the LLM server"):
        LLMClient(settings, token_budget=0).check_models(models)


def check_docs_index(settings: Settings) -> None:
    """One `describe_index_stats` proving PINECONE_API_KEY, the index's host and that its
    dimension is the embedder's (the local SQLite index needs no check)."""
    if settings.docs_index != "pinecone":
        return
    index = registry.build_docs_index(settings, registry.sqlite_stores(db.memory()))
    with _unavailable("the Pinecone docs index"):
        index.check_embedder()


def checked_tracker(settings: Settings) -> Tracker:
    """The configured tracker, its settings proven (`Tracker.preflight`)."""
    tracker = registry.build_tracker(settings)
    with _unavailable(f"the {settings.tracker} tracker"):
        tracker.preflight()
    return tracker


@contextmanager
def _unavailable(what: str) -> Iterator[None]:
    """Re-raise a transient failure (after the client's retries) as one clear line."""
    try:
        yield
    except TransientError as exc:
        raise TransientError(f"could not check {what} before the run ({exc}); "
                             "nothing was written, try again later") from exc
