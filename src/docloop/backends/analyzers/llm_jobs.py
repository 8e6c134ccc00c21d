"""Run model requests through the cache, a thread pool and a validate-retry loop.

A *job* is one request whose answer must pass a validator (schema, anchors,
quotes...). An invalid answer — bad JSON, a schema violation, output cut off
at `finish_reason: length`, a refusal, a failed check — is sent back once
with the reason; a second invalid answer makes the job fail. A *splittable*
job (an extraction batch of several conversations) is not asked again after
a cut-off or a refusal: its caller splits it, which helps where asking again
would not. Every outcome is cached by content hash; the database is touched
only from the calling thread. With `retry_failed`, cached failures of jobs
that cannot be split are asked again; a failed splittable job stays failed,
so its caller splits it and only the pieces that never succeeded are asked.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from docloop.backends.analyzers.llm_cache import Outcome, cache_key
from docloop.backends.analyzers.llm_client import (
    BudgetExhausted,
    LLMClient,
    Reply,
    RequestRejected,
)
from docloop.errors import TransientError
from docloop.prompts import Prompt
from docloop.stores import OutcomeCache

T = TypeVar("T")
log = logging.getLogger("docloop.llm")
MAX_ECHO_CHARS = 4000


class InvalidOutput(ValueError):
    """The model's answer failed a check; the message says why (sent back on retry).

    `smaller` marks failures a smaller request fixes better than a second try
    (a cut-off answer, a refusal).
    """

    def __init__(self, message: str, smaller: bool = False) -> None:
        super().__init__(message)
        self.smaller = smaller


@dataclass
class Job(Generic[T]):
    """One request: the data message, the schema and the check its answer must pass."""

    stage: str
    prompt: Prompt
    data: str
    schema_name: str
    schema: dict[str, Any]
    validate: Callable[[dict[str, Any]], T]
    max_tokens: int = 2000
    splittable: bool = False


@dataclass
class JobResult(Generic[T]):
    """A job's value, or its error; `skipped` means the token budget ran out first."""

    value: T | None = None
    error: str | None = None
    cached: bool = False
    skipped: bool = False


class JobRunner:
    """Answers jobs from the cache or the model, `concurrency` requests at a time."""

    def __init__(self, client: LLMClient, cache: OutcomeCache, *, retry_failed: bool = False,
                 concurrency: int = 4) -> None:
        self.client = client
        self.cache = cache
        self.retry_failed = retry_failed
        self.concurrency = concurrency

    def run(self, jobs: Sequence[Job[T]]) -> list[JobResult[T]]:
        """Results in job order; a fatal backend error stops the run after saving."""
        results: list[JobResult[T]] = [JobResult() for _ in jobs]
        todo: list[tuple[int, str]] = []
        for index, job in enumerate(jobs):
            key = self._key(job)
            hit = self._from_cache(job, key)
            if hit is None:
                todo.append((index, key))
            else:
                results[index] = hit
        if todo:
            self._ask(jobs, todo, results)
        return results

    def _key(self, job: Job[Any]) -> str:
        content = {"system": job.prompt.text, "data": job.data, "schema": job.schema}
        return cache_key(self.client.model, job.prompt.version, content)

    def _from_cache(self, job: Job[T], key: str) -> JobResult[T] | None:
        stored = self.cache.get(key)
        if stored is None or (not stored.ok and self.retry_failed and not job.splittable):
            return None
        if not stored.ok:
            self.client.usage.record_cached(job.stage)
            return JobResult(error=stored.error, cached=True)
        try:
            value = _parse(Reply(stored.response or "", "stop", 0, 0), job.validate)
        except InvalidOutput:
            return None  # the checks changed since it was stored: ask again
        self.client.usage.record_cached(job.stage)
        return JobResult(value=value, cached=True)

    def _ask(self, jobs: Sequence[Job[T]], todo: list[tuple[int, str]],
             results: list[JobResult[T]]) -> None:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = [(index, key, pool.submit(self._attempt, jobs[index]))
                       for index, key in todo]
            try:
                for index, key, future in futures:
                    results[index] = self._collect(jobs[index], key, future)
            except BaseException:
                for _, _, future in futures:
                    future.cancel()
                raise

    def _collect(self, job: Job[T], key: str,
                 future: Future[tuple[Outcome, T | None]]) -> JobResult[T]:
        try:
            outcome, value = future.result()
        except BudgetExhausted as exc:
            return JobResult(error=str(exc), skipped=True)
        self.cache.put(key, job.stage, self.client.model, job.prompt.version, outcome)
        return JobResult(value=value, error=outcome.error)

    def _attempt(self, job: Job[T]) -> tuple[Outcome, T | None]:
        """Ask, check, and on an invalid answer ask once more with the reason."""
        messages = [{"role": "system", "content": job.prompt.text},
                    {"role": "user", "content": job.data}]
        tokens = [0, 0]
        error = ""
        try:
            for _ in range(2):
                reply = self.client.chat(job.stage, messages, job.schema_name, job.schema,
                                         job.max_tokens)
                tokens = [tokens[0] + reply.prompt_tokens, tokens[1] + reply.completion_tokens]
                try:
                    value = _parse(reply, job.validate)
                except InvalidOutput as exc:
                    error = str(exc)
                    if exc.smaller and job.splittable:
                        break
                    messages = [*messages[:2], *_correction(reply, error)]
                    continue
                return Outcome(True, reply.content, None, *tokens), value
        except (TransientError, RequestRejected) as exc:
            _log_failure(job, f"request failed: {exc}")
            return Outcome(False, None, str(exc), *tokens), None
        _log_failure(job, f"answer invalid: {error}")
        return Outcome(False, None, f"invalid model output: {error}", *tokens), None


def _log_failure(job: Job[Any], what: str) -> None:
    """A warning, or only a note for a job its caller will split and ask again."""
    log.log(logging.INFO if job.splittable else logging.WARNING, "%s %s", job.stage, what)


def _parse(reply: Reply, validate: Callable[[dict[str, Any]], T]) -> T:
    """JSON text -> checked value; InvalidOutput says what was wrong."""
    if reply.refusal:
        raise InvalidOutput(f"the model refused: {reply.refusal[:200]}", smaller=True)
    if reply.finish_reason == "length":
        raise InvalidOutput("the answer was cut off (finish_reason: length); answer more "
                            "briefly", smaller=True)
    try:
        data = json.loads(reply.content)
    except json.JSONDecodeError as exc:
        raise InvalidOutput(f"the answer is not valid JSON ({exc.msg} at char {exc.pos})") \
            from None
    if not isinstance(data, dict):
        raise InvalidOutput("the answer must be a JSON object")
    try:
        return validate(data)
    except ValidationError as exc:
        raise InvalidOutput(f"the answer does not match the schema: {_brief(exc)}") from None


def _brief(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
    return "; ".join(parts)


def _correction(reply: Reply, error: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": reply.content[:MAX_ECHO_CHARS]},
            {"role": "user", "content": f"Your answer was rejected: {error}. Answer again "
             "with one JSON object that matches the schema, nothing else."}]
