"""The offline analyzer: deterministic problem extraction with no model and no network.

A conversation carries a problem when the person who started it asks a
question, pastes an error or complains about the docs; greetings, thanks,
"+1", announcements and chit-chat do not, and neither do posts in broadcast
channels (#announcements, #releases, #rules, #welcome, ...). Other participants who say "same
here" count as affected users. Every decision is recorded in
`Problem.signals`, so a docs writer can see why a message was taken.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any

from docloop.backends.analyzers.base import Analyzer
from docloop.backends.analyzers.offline_suggest import offline_suggestion
from docloop.backends.analyzers.quoting import COMPOSED_DASH, excerpt, leans_back
from docloop.backends.analyzers.signals import (
    MessageSignals,
    analyse_message,
    is_joke,
    reply_signals,
)
from docloop.config import Settings
from docloop.models import Conversation, DocChunk, Insight, Message, Problem, Quote, Suggestion
from docloop.quality import SHIPPED, QualitySettings
from docloop.text import TITLE_LIMIT, content_words, sentences, truncate

#: channel names that suggest broadcasts, not requests for help
BROADCAST_CHANNELS = re.compile(
    r"announce|news|release|changelog|rules|welcome|introductions|status", re.I)
#: conversations with replies that make a broadcast-named channel a discussion channel
DISCUSSED_MIN = 3
MAX_QUOTES = 3
PROBLEM_TEXT_LIMIT = 400
#: the verbatim messages an embedding reads (MiniLM reads 256 tokens, about this much code)
BODY_LIMIT = 2000
ANSWER_LIMIT = 150
#: one "@name" ping an answer opens with (a message that mentions someone)
LEADING_PING = re.compile(r"\s*@[^\s@]+[\s,:]+")


class OfflineAnalyzer(Analyzer):
    """Rule-based extraction and evidence-grounded suggestions."""

    name = "offline"

    def __init__(self, quality: QualitySettings = SHIPPED) -> None:
        super().__init__()
        self.quality = quality

    @classmethod
    def from_settings(cls, settings: Settings, **deps: Any) -> OfflineAnalyzer:
        return cls(deps.get("quality", SHIPPED))

    def extract(self, conversations: Sequence[Conversation]) -> list[Problem]:
        broadcast = broadcast_channels(conversations)
        problems = [self._problem(c) for c in conversations if c.channel_id not in broadcast]
        return [p for p in problems if p is not None]

    def suggest(
        self, insight: Insight, chunks: Sequence[DocChunk], source: str | None,
        docs_share: Callable[[str], float] | None = None,
    ) -> Suggestion:
        return offline_suggestion(insight, chunks, source, docs_share)

    def _problem(self, conversation: Conversation) -> Problem | None:
        texts = [m for m in conversation.messages if m.has_text]
        if not texts:
            return None
        asker = texts[0].author_id
        analysed = [(m, self._signals(m, asker)) for m in texts]
        carrying = [(m, s) for m, s in analysed if m.author_id == asker and s.is_problem
                    and not is_joke(m.reactions, s)]
        if not carrying:
            return None
        affected = {asker} | {m.author_id for m, s in analysed if m.author_id != asker
                              and (s.me_too or (s.is_problem and s.errors and not s.question))}
        return Problem(
            id=_problem_id(conversation.id),
            conversation_id=conversation.id,
            channel_name=conversation.channel_name,
            title=_problem_title(conversation, carrying),
            title_in_message=not _thread_titled(conversation),
            text=_problem_text(conversation, carrying),
            body=_problem_body(carrying),
            category=_category([s for _, s in carrying]),
            quotes=[_quote(m, s) for m, s in carrying[:MAX_QUOTES]],
            message_ids=[m.id for m in conversation.messages],
            author_ids=sorted(affected),
            timestamp=carrying[0][0].timestamp,
            signals=sorted({label for _, s in carrying for label in s.labels()}),
            context=_answer(texts, asker),
        )

    def _signals(self, message: Message, asker: str) -> MessageSignals:
        """What `_problem` reads of a message: all of the asker's (the noise kind only
        where a rule found a problem: `is_problem` reads it), a reply's question, errors
        and "me too" (`reply_signals`: whether its author is affected too)."""
        if message.author_id == asker:
            return analyse_message(message.content, self.quality, name_noise=False)
        return reply_signals(message.content, self.quality)


def broadcast_channels(conversations: Sequence[Conversation]) -> set[str]:
    """Channels named like broadcasts (#announcements, #rules, ...) where nobody talks back.

    The name alone misleads: a lint community's #rules is about lint rules and full of
    questions. A named channel stays broadcast unless people talk in it: at least
    DISCUSSED_MIN of its conversations, and a third of them, have more than one author
    (a "congrats!" under a release post does not turn #announcements into a help channel).
    """
    talks: dict[str, list[bool]] = {}
    for conversation in conversations:
        if BROADCAST_CHANNELS.search(conversation.channel_name):
            authors = {m.author_id for m in conversation.messages if m.has_text}
            talks.setdefault(conversation.channel_id, []).append(len(authors) > 1)
    return {channel for channel, replied in talks.items()
            if sum(replied) < DISCUSSED_MIN or sum(replied) * 3 < len(replied)}


def _answer(messages: list[Message], asker: str) -> str:
    """The first reply by someone else with some substance (the likely answer), without
    the pings it opens with: "@Thomas" addresses the asker and says nothing of the
    problem, and one asker's name in the answers to their different questions would read
    as a rare word those problems share."""
    for message in messages:
        if message.author_id == asker:
            continue
        said = _unpinged(message)
        if len(content_words(said)) >= 5:
            return truncate(said, ANSWER_LIMIT)
    return ""


def _unpinged(message: Message) -> str:
    """The message without the `@name` pings it opens with, at most one per user it
    mentions (so `@dataclass` after "@Thomas" stays: it is code, not a person). A reply's
    `mentions` list the author it answers, whom its text does not name (Discord's reply
    ping), so that one is not counted."""
    said = message.content
    written = len(message.mentions) - (1 if message.reply_to and message.mentions else 0)
    for _ in range(written):
        found = LEADING_PING.match(said)
        if found is None:
            break
        said = said[found.end():]
    return said


def _problem_id(conversation_id: str) -> str:
    return "p_" + hashlib.sha256(conversation_id.encode()).hexdigest()[:16]


def _problem_title(
    conversation: Conversation, carrying: list[tuple[Message, MessageSignals]]
) -> str:
    """A headline: the thread title, else the first question, else the first sentence."""
    if _thread_titled(conversation):
        return truncate(conversation.thread_name or "", TITLE_LIMIT)
    for message, signals in carrying:
        if signals.question_sentences:
            return _self_contained(signals.question_sentences[0], message.content)
    first = sentences(carrying[0][0].content) or [carrying[0][0].content]
    return truncate(first[0], TITLE_LIMIT)


def _thread_titled(conversation: Conversation) -> bool:
    """A thread whose name says something (three words or more) is titled by it."""
    return len((conversation.thread_name or "").split()) >= 3


def _self_contained(question: str, content: str) -> str:
    """The question, led by the message's opening when it points back at it.

    "how do I stop leaking that?" means nothing in a ticket list; the sentence
    the user opened with ("my GET /users/{id} returns the hashed_password
    field") says what "that" is, so it leads; a long opening cuts the question off.
    """
    opening = (sentences(content) or [""])[0]
    if not leans_back(question) or not opening or opening == question:
        return truncate(question, TITLE_LIMIT)
    return truncate(f"{opening.rstrip('.:;, ')}{COMPOSED_DASH}{question}", TITLE_LIMIT)


def _problem_text(
    conversation: Conversation, carrying: list[tuple[Message, MessageSignals]]
) -> str:
    """Thread title, then question sentences and error names, then the rest of the prose."""
    parts: list[str] = []
    if conversation.thread_name:
        parts.append(conversation.thread_name.strip())
    for _, signals in carrying:
        parts.extend(signals.question_sentences)
        parts.extend(signals.errors[:2])
    for message, _ in carrying:
        parts.extend(s for s in sentences(message.content) if s not in parts)
    return truncate(" ".join(dict.fromkeys(p for p in parts if p)), PROBLEM_TEXT_LIMIT)


def _problem_body(carrying: list[tuple[Message, MessageSignals]]) -> str:
    """The asker's messages verbatim, when the problem text cannot stand for them.

    `_problem_text` keeps prose only (code blocks dropped) and cuts at
    PROBLEM_TEXT_LIMIT. On real reports the pasted code and the rest of the
    description are what tells two problems of one product apart, so the embedding
    reads the messages as written; a short prose message is its problem text already,
    and keeps no second copy (a million-message run holds every problem).
    """
    verbatim = "\n".join(m.content.strip() for m, _ in carrying)
    if "```" not in verbatim and len(" ".join(verbatim.split())) <= PROBLEM_TEXT_LIMIT:
        return ""
    return verbatim[:BODY_LIMIT]


def _quote(message: Message, signals: MessageSignals) -> Quote:
    """The whole message when short, else the part that says what went wrong (quoting.py)."""
    return Quote(message_id=message.id, author=message.author_name or message.author_id,
                 text=excerpt(message.content, signals.question_sentences))


def _category(signals: list[MessageSignals]) -> str:
    if any(s.docs_complaint for s in signals):
        return "docs-gap"
    if any(s.error for s in signals):
        return "error"
    if any(s.question for s in signals):
        return "how-to"
    return "question"
