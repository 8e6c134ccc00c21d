"""LLM analyzer: extraction, labels and suggestions from an OpenAI-compatible model.

Opt-in only (`analyzer = "llm"`). The model makes judgements; deterministic
checks decide what is kept, claim by claim (see `llm_claims`, `llm_extract`,
`llm_suggest`), and a failed extraction batch is split until it succeeds
(`llm_batches`). Every outcome is cached by content hash, so an unchanged
re-run makes no calls; a spent token budget stops calls and keeps what was
done; a failed suggestion falls back to the offline analyzer's, flagged
`fallback`. What was dropped, and why, goes into the run report.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from docloop import registry
from docloop.backends.analyzers.base import Analyzer
from docloop.backends.analyzers.llm_batches import Extraction, run_extraction
from docloop.backends.analyzers.llm_claims import Claims, parse_claims
from docloop.backends.analyzers.llm_client import LLMClient
from docloop.backends.analyzers.llm_extract import Batch, make_batches
from docloop.backends.analyzers.llm_guard import clean_text, grounded, safe_json, stable_sample
from docloop.backends.analyzers.llm_jobs import Job, JobResult, JobRunner
from docloop.backends.analyzers.llm_schemas import (
    ExtractOut,
    LabelOut,
    SuggestOut,
    strict_schema,
)
from docloop.backends.analyzers.llm_suggest import PageContext, check_suggestion, suggest_data
from docloop.config import Settings
from docloop.models import Conversation, DocChunk, Insight, Problem, Suggestion
from docloop.prompts import load_prompt
from docloop.stores import OutcomeCache

log = logging.getLogger("docloop.llm")
BATCH_TOKENS = 6000
MAX_LABEL_ITEMS = 10


class LLMAnalyzer(Analyzer):
    """The analyzer family's model-backed implementation."""

    name = "llm"

    def __init__(self, client: LLMClient, cache: OutcomeCache, fallback: Analyzer, *,
                 retry_failed: bool = False, concurrency: int = 4,
                 batch_tokens: int = BATCH_TOKENS) -> None:
        super().__init__()
        self.client = client
        self.stats = client.usage.total
        self.fallback = fallback
        self.batch_tokens = batch_tokens
        self.runner = JobRunner(client, cache, retry_failed=retry_failed,
                                concurrency=concurrency)
        self.counts: Counter[str] = Counter()
        self.prompts = {name: load_prompt(name) for name in ("extract", "label", "suggest")}

    @classmethod
    def from_settings(cls, settings: Settings, *, llm_cache: OutcomeCache | None = None,
                      fallback: Analyzer | None = None, retry_failed: bool = False,
                      http_client: Any = None) -> LLMAnalyzer:
        """Build from settings; `llm_cache` is the run's outcome cache (default: the
        configured store's), `fallback` the offline analyzer."""
        client = LLMClient(settings, http_client=http_client)
        cache = llm_cache if llm_cache is not None else registry.open_stores(settings).llm_cache
        if fallback is None:
            fallback = registry.build_analyzer(settings, "offline")
        return cls(client, cache, fallback, retry_failed=retry_failed,
                   concurrency=settings.llm_concurrency)

    def extract(self, conversations: Sequence[Conversation]) -> list[Problem]:
        """Problems from batched model calls, each backed by verified quotes."""
        batches = make_batches([c for c in conversations if any(m.has_text for m in c.messages)],
                               self.batch_tokens)
        found = run_extraction(self.runner, batches, self._extract_job, self.batch_tokens)
        self.counts.update(found.dropped)
        self.stats.conversations_sent += found.sent
        self.stats.conversations_unanalysed += len(found.unanalysed)
        self._record_dropped()
        self._warn_extract(found)
        return found.problems

    def label(self, insight: Insight, problems: Sequence[Problem]) -> tuple[str, str]:
        """A model-written title and summary, kept only when grounded in the evidence."""
        evidence = [q.text for q in insight.quotes] + [p.text for p in problems]
        data = {"problems": stable_sample([p.text for p in problems], MAX_LABEL_ITEMS),
                "quotes": stable_sample([q.text for q in insight.quotes], MAX_LABEL_ITEMS)}
        job = Job("label", self.prompts["label"], "<evidence>\n" + safe_json(data) +
                  "\n</evidence>", "insight_label", strict_schema(LabelOut),
                  LabelOut.model_validate, max_tokens=300)
        result = self.runner.run([job])[0]
        if result.value is None:
            self._note("labels_failed", result, f"insight {insight.id} keeps its label")
            return insight.title, insight.summary
        title = clean_text(result.value.title, 80)
        summary = clean_text(result.value.summary, 400)
        if not grounded(f"{title} {summary}", evidence):
            self.counts["labels_ungrounded"] += 1
            self._record_dropped()
            return insight.title, insight.summary
        return title, summary

    def suggest(self, insight: Insight, chunks: Sequence[DocChunk], source: str | None,
                docs_share: Callable[[str], float] | None = None) -> Suggestion:
        """A checked, anchored edit; the offline suggestion (flagged) when that fails."""
        page = PageContext.build(insight, chunks, source)
        job = Job("suggest", self.prompts["suggest"], suggest_data(insight, page),
                  "doc_suggestion", strict_schema(SuggestOut),
                  lambda data: check_suggestion(data, page), max_tokens=2000)
        result = self.runner.run([job])[0]
        if result.value is not None:
            return result.value
        self._note("suggestions_fallback", result,
                   f"insight {insight.id} uses the offline suggestion")
        self._record_dropped()
        offline = self.fallback.suggest(insight, chunks, source, docs_share)
        return offline.model_copy(update={"fallback": True})

    def _extract_job(self, batch: Batch) -> Job[Claims]:
        return Job("extract", self.prompts["extract"], batch.data, "chat_problems",
                   strict_schema(ExtractOut), parse_claims, max_tokens=4000,
                   splittable=len(batch.conversations) > 1)

    def _record_dropped(self) -> None:
        """The report's `stats.llm.dropped`: model claims refused by a check, by reason."""
        self.stats.dropped = {reason: self.counts[reason] for reason in sorted(DROP_REASONS)
                              if self.counts[reason]}

    def _note(self, what: str, result: JobResult[Any], consequence: str = "") -> None:
        """Count a failure and warn; budget exhaustion is counted (and warned about) once."""
        if result.skipped:
            self.counts["skipped_for_budget"] += 1
            message = f"LLM: {result.error}; work done so far is kept"
            if message not in self.warnings:
                self.warnings.append(message)
            return
        self.counts[what] += 1
        log.warning("LLM %s: %s", what.replace("_", " "), result.error)
        if consequence:
            self.warnings.append(f"LLM: {consequence} ({result.error})")

    def _warn_extract(self, found: Extraction) -> None:
        if found.budget_error:
            self.warnings.append(f"LLM: {found.budget_error}; work done so far is kept")
        failed = len(found.unanalysed)
        if failed:
            self.warnings.append(
                f"LLM extract: {failed} of {found.sent} conversation(s) never analysed "
                f"({'; '.join(found.errors[:3]) or 'token budget'}); run with --retry-failed "
                "to ask again")
        for key, text in DROP_REASONS.items():
            if found.dropped[key]:
                self.warnings.append(f"LLM extract: {found.dropped[key]} {text}")


#: reason -> what the warning says was dropped
DROP_REASONS = {
    "invalid_problem": "problem(s) dropped: not in the answer schema",
    "invalid_quote": "quote(s) dropped: not in the answer schema",
    "problem_without_quote": "problem(s) dropped: no quote given",
    "unknown_conversation_id": "conversation id(s) cited that were not in the batch",
    "quote_not_verbatim": "quote(s) dropped: not verbatim in the cited conversation",
    "quote_injection": "quote(s) dropped: the message reads like an instruction to a model",
    "problem_without_verified_quote": "problem(s) dropped: no verified quote left",
    "problem_ungrounded": "problem(s) dropped: summary not supported by the quotes",
    "labels_ungrounded": "label(s) dropped: not supported by the evidence",
    "suggestions_fallback": "suggestion(s) replaced by the offline one",
}
