"""Extraction rounds: ask per batch, split what fails, down to one conversation.

A batch of fifty conversations can fail as a whole — invalid JSON twice, an
answer cut off at `finish_reason: "length"`, a refusal, a 5xx after its
retries — for a reason that lies in one conversation or in the batch's
size. Rather than drop fifty conversations, a failed batch is split in two
and both halves are asked (all failed batches of a round together, so the
thread pool stays busy), down to single conversations; only a single
conversation that still fails is given up, and counted as never analysed.
Every request's outcome is cached (`JobRunner`), so a re-run replays the
same splits from the cache without a call, and `--retry-failed` asks again
for exactly the single conversations that failed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from docloop.backends.analyzers.llm_claims import Claims
from docloop.backends.analyzers.llm_extract import Batch, Verifier, split_batch
from docloop.backends.analyzers.llm_jobs import Job, JobResult, JobRunner
from docloop.models import Problem


@dataclass
class Extraction:
    """What the model found in a run's conversations, and what it did not analyse."""

    sent: int = 0
    problems: list[Problem] = field(default_factory=list)
    unanalysed: list[str] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    budget_error: str | None = None


def run_extraction(runner: JobRunner, batches: Sequence[Batch],
                   job_for: Callable[[Batch], Job[Claims]], batch_tokens: int) -> Extraction:
    """Ask every batch; split failed ones and ask again until each is answered or single."""
    found = Extraction(sent=sum(len(b.conversations) for b in batches))
    verifier = Verifier(counts=found.dropped)
    pending = list(batches)
    while pending:
        answers = runner.run([job_for(batch) for batch in pending])
        pending = [half for batch, answer in zip(pending, answers, strict=True)
                   for half in _settle(batch, answer, found, verifier, batch_tokens)]
    return found


def _settle(batch: Batch, answer: JobResult[Claims], found: Extraction, verifier: Verifier,
            batch_tokens: int) -> list[Batch]:
    """Record one batch's outcome; return the halves still to ask."""
    if answer.value is not None:
        found.dropped.update(answer.value.dropped)
        found.problems.extend(verifier.problems(batch, answer.value.problems))
        return []
    if answer.skipped:  # the token budget ran out: splitting would not help
        found.budget_error = answer.error
    elif len(batch.conversations) > 1:
        return split_batch(batch, batch_tokens)
    elif answer.error and answer.error not in found.errors:
        found.errors.append(answer.error)
    found.unanalysed.extend(c.id for c in batch.conversations)
    return []
