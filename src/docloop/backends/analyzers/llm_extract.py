"""Extraction: conversations -> model batches -> problems with verified quotes.

Batches stay under a token budget and never split a conversation; one that
is too big on its own is trimmed with a visible `[… trimmed …]` marker.
Authors are sent as per-conversation pseudonyms (u1, u2): the model needs to
tell people apart, not know who they are. What the model answers is only a
claim: quotes are checked against the stored messages and anything the
evidence does not support is dropped and counted.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from docloop.backends.analyzers.llm_client import estimate_tokens
from docloop.backends.analyzers.llm_guard import (
    clean_text,
    grounded,
    locate_quote,
    looks_like_injection,
    normalise,
    safe_json,
)
from docloop.backends.analyzers.llm_schemas import ProblemOut
from docloop.models import Conversation, Message, Problem, Quote

TRIM_MARKER = "[… trimmed …]"
MIN_MESSAGE_CHARS = 200
SUMMARY_LIMIT = 200
BOUNDARY_TOKENS = 150  # a content-defined boundary every ~batch_tokens/150 conversations


@dataclass
class Batch:
    """Conversations sent together, the data message, and its short references.

    The model sees batch-local references (`c1`, `m7`) instead of Discord ids:
    shorter, and a model can only cite what is in front of it.
    """

    conversations: list[Conversation]
    data: str
    refs: dict[str, Conversation] = field(default_factory=dict)
    message_refs: dict[str, Message] = field(default_factory=dict)


def make_batches(conversations: Sequence[Conversation], batch_tokens: int) -> list[Batch]:
    """Pack conversations in order into batches of at most ~`batch_tokens` tokens."""
    return [_batch(group, batch_tokens) for group in _groups(conversations, batch_tokens)]


def _groups(conversations: Sequence[Conversation], batch_tokens: int
            ) -> list[list[Conversation]]:
    """Consecutive groups under the token cap, cut at content-defined boundaries.

    Besides the size cap, a group also ends after a conversation whose id
    hashes to a boundary. Boundaries then depend on the conversations, not on
    where the window starts, so when a weekly window slides most batches are
    byte-identical and come from cache (a minimum length keeps tiny batches
    out; the grouping resynchronises within a batch or two after a change).
    """
    groups: list[list[Conversation]] = []
    group: list[Conversation] = []
    size = 0
    every = max(2, batch_tokens // BOUNDARY_TOKENS)
    for conversation in conversations:
        record, _ = conversation_record(conversation, "c0", 0, batch_tokens)
        cost = estimate_tokens(safe_json(record))
        if group and size + cost > batch_tokens:
            groups.append(group)
            group, size = [], 0
        group.append(conversation)
        size += cost
        if len(group) >= every // 4 and _is_boundary(conversation.id, every):
            groups.append(group)
            group, size = [], 0
    if group:
        groups.append(group)
    return groups


def _is_boundary(conversation_id: str, every: int) -> bool:
    digest = hashlib.sha256(conversation_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") % every == 0


def _batch(group: list[Conversation], max_tokens: int) -> Batch:
    batch = Batch(conversations=group, data="")
    records = []
    for number, conversation in enumerate(group, start=1):
        ref = f"c{number}"
        record, messages = conversation_record(conversation, ref, len(batch.message_refs),
                                               max_tokens)
        records.append(record)
        batch.refs[ref] = conversation
        batch.message_refs.update(messages)
    batch.data = _data(records)
    return batch


def conversation_record(conversation: Conversation, ref: str, numbered: int,
                        max_tokens: int) -> tuple[dict[str, Any], dict[str, Message]]:
    """What the model sees for one conversation (trimmed to `max_tokens`): messages as
    `[ref, author, text]` rows; and the message references it uses."""
    aliases: dict[str, str] = {}
    refs: dict[str, Message] = {}
    rows: list[list[str]] = []
    for message in (m for m in conversation.messages if m.has_text):
        message_ref = f"m{numbered + len(refs) + 1}"
        refs[message_ref] = message
        author = aliases.setdefault(message.author_id, f"u{len(aliases) + 1}")
        rows.append([message_ref, author, message.content])
    record: dict[str, Any] = {"id": ref, "channel": conversation.channel_name}
    if conversation.thread_name:
        record["thread"] = conversation.thread_name
    record["messages"] = rows
    if estimate_tokens(safe_json(record)) > max_tokens:
        record["messages"] = _trim(rows, max_tokens)
    return record, refs


def _trim(rows: list[list[str]], max_tokens: int) -> list[list[str]]:
    """Cut long messages, then drop trailing ones, marking every cut."""
    budget_chars = max_tokens * 4 * 3 // 4  # leave room for the JSON around the texts
    cap = max(MIN_MESSAGE_CHARS, budget_chars // max(1, len(rows)))
    cut = [[ref, author, text[:cap] + f" {TRIM_MARKER}" if len(text) > cap else text]
           for ref, author, text in rows]
    kept: list[list[str]] = []
    used = 0
    for row in cut:
        used += len(row[2]) + 20
        if kept and used > budget_chars:
            kept.append(["", "", f"{TRIM_MARKER} ({len(cut) - len(kept)} more messages not "
                                 "shown)"])
            break
        kept.append(row)
    return kept


def split_batch(batch: Batch, max_tokens: int) -> list[Batch]:
    """The batch's conversations in two halves, each a batch of its own."""
    middle = len(batch.conversations) // 2
    halves = (batch.conversations[:middle], batch.conversations[middle:])
    return [_batch(list(half), max_tokens) for half in halves if half]


def _data(records: list[dict[str, Any]]) -> str:
    return "<conversations>\n" + safe_json(records) + "\n</conversations>"


@dataclass
class Verifier:
    """Turns a batch's claimed problems into problems backed by verbatim evidence."""

    counts: Counter[str] = field(default_factory=Counter)

    def problems(self, batch: Batch, claims: Sequence[ProblemOut]) -> list[Problem]:
        found: dict[str, Problem] = {}
        for claim in claims:
            for problem in self._claim(claim, batch):
                known = found.get(problem.id)
                found[problem.id] = _merge(known, problem) if known else problem
        return list(found.values())

    def _claim(self, claim: ProblemOut, batch: Batch) -> list[Problem]:
        by_ref = batch.refs
        cited = [by_ref[c] for c in dict.fromkeys(claim.conversation_ids) if c in by_ref]
        self.counts["unknown_conversation_id"] += len(set(claim.conversation_ids)) - len(cited)
        summary = clean_text(claim.summary, SUMMARY_LIMIT)
        quotes: dict[str, list[tuple[Message, str]]] = {}
        for quote in claim.quotes:
            named = batch.message_refs.get(quote.message_id)
            located = self._locate(named.id if named else "", quote.text, cited)
            if located is None:
                continue
            conversation, message, text = located
            quotes.setdefault(conversation.id, []).append((message, text))
        evidence = [text for pairs in quotes.values() for _, text in pairs]
        if not quotes or not grounded(summary, evidence):
            reason = "problem_without_verified_quote" if not quotes else "problem_ungrounded"
            self.counts[reason] += 1
            return []
        by_id = {c.id: c for c in cited}
        return [_problem(by_id[cid], pairs, summary, claim.category)
                for cid, pairs in quotes.items()]

    def _locate(self, message_id: str, text: str, cited: list[Conversation]
                ) -> tuple[Conversation, Message, str] | None:
        """The cited message (or, failing that, any message of a cited conversation)
        containing `text` verbatim; None (counted) for no such message, or for one
        that reads like an instruction to the model."""
        for conversation in cited:
            ordered = sorted(conversation.messages, key=lambda m: m.id != message_id)
            for message in ordered:
                exact = locate_quote(text, message.content)
                if exact is None:
                    continue
                if looks_like_injection(message.content):
                    self.counts["quote_injection"] += 1
                    return None
                return conversation, message, exact
        self.counts["quote_not_verbatim"] += 1
        return None


def _problem(conversation: Conversation, pairs: list[tuple[Message, str]], summary: str,
             category: str) -> Problem:
    authors = sorted({m.author_id for m, _ in pairs})
    quoted = {m.id for m, _ in pairs}
    carrying = [m.id for m in conversation.messages
                if m.id in quoted or (m.author_id in authors and m.has_text
                                      and not looks_like_injection(m.content))]
    key = f"{conversation.id}\n{normalise(summary).lower()}"
    return Problem.model_validate({
        "id": "p_" + hashlib.sha256(key.encode()).hexdigest()[:16],
        "conversation_id": conversation.id,
        "channel_name": conversation.channel_name,
        "title": clean_text(summary, 100),
        "text": summary,
        "category": category,
        "quotes": [Quote(message_id=m.id, author=m.author_name or m.author_id, text=text)
                   for m, text in _unique(pairs)],
        "message_ids": carrying,
        "author_ids": authors,
        "timestamp": min(m.timestamp for m, _ in pairs),
        "signals": ["llm"],
    })


def _merge(first: Problem, second: Problem) -> Problem:
    """One problem claimed twice (same conversation, same summary): pool the evidence."""
    quotes = list({(q.message_id, q.text): q for q in first.quotes + second.quotes}.values())
    return first.model_copy(update={
        "quotes": quotes,
        "message_ids": list(dict.fromkeys(first.message_ids + second.message_ids)),
        "author_ids": sorted(set(first.author_ids) | set(second.author_ids)),
        "timestamp": min(first.timestamp, second.timestamp),
    })


def _unique(pairs: list[tuple[Message, str]]) -> list[tuple[Message, str]]:
    seen: set[tuple[str, str]] = set()
    out = []
    for message, text in pairs:
        if (message.id, text) not in seen:
            seen.add((message.id, text))
            out.append((message, text))
    return out
