"""Turn clusters of problems into reportable insights.

Input: `Cluster`s with their member `Problem`s and embeddings, the stored
messages (for links and channels). Output: `Insight`s with a title a docs
writer understands at a glance (`headline`: the members' own sentence that best
names what they share), a
summary, evidence (conversations, messages, users, quotes from different
users, links) and a significance breakdown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

import numpy as np

from docloop.models import Insight, Message, Problem, Quote, ThreadLink
from docloop.redact import without_placeholders
from docloop.stages.cluster import Cluster
from docloop.stages.headline import conversation_name, headline, link_name
from docloop.stages.significance import significance
from docloop.text import (
    CONTRACTION_PARTS,
    NOT_TERMS,
    SAYS_IT_FAILS,
    TITLE_LIMIT,
    content_words,
    truncate,
)

MAX_QUOTES = 6
#: words that say nothing of what an insight is about, however many of its members write
#: them: abbreviations (but `vs` and `cf`, also names members share: VS Code, Cloudflare),
#: that something failed (`error`, `problem`), and chat's filler (real tickets' key terms
#: read "problem, around, property, …", "defined, circular, import, longer, sure")
NOT_KEY_TERMS = (NOT_TERMS - {"vs", "cf"}) | SAYS_IT_FAILS | frozenset(
    "see seem seems sure around longer expect expected details appear appears exist exists "
    "anymore".split())

#: a word more than this share of a run's problems use is the community's own vocabulary:
#: the product's name (`vite` in 43 % of the Vite realset's problems, `pydantic` in 44 %,
#: `eslint` in 38 % of typescript-eslint's), while the next words (`error`, `field`) are
#: at 26-27 % and FastAPI's most used word at 19 %
COMMON_SHARE = 1 / 3
#: ... judged over at least this many problems: in a small run any shared word is common
COMMON_MIN_PROBLEMS = 30


def build_insight(
    cluster: Cluster, problems: Sequence[Problem], vectors: np.ndarray,
    messages: Mapping[str, Message], reference: datetime, idf: Mapping[str, float],
    common: frozenset[str],
) -> Insight:
    """Describe one cluster; problems are ordered most representative first (`common`:
    the run's `community_words`, never a key term)."""
    ranked = sorted(cluster.members, key=lambda i: -float(vectors[i] @ cluster.centroid))
    members = [problems[i] for i in ranked]
    channels = sorted({p.channel_name or "unknown" for p in members})
    message_ids = sorted({m for p in members for m in p.message_ids}, key=_snowflake_key)
    authors = sorted({a for p in members for a in p.author_ids})
    breakdown = significance(members, len(channels), len(message_ids), reference)
    words = member_words(members)
    return Insight(
        id=cluster.id,
        title=headline(members, idf, words),
        summary=_summary(members, channels, key_phrases(words, len(members), idf,
                                                        common=common)),
        category=Counter(p.category for p in members).most_common(1)[0][0],
        problem_ids=[p.id for p in members],
        conversation_ids=sorted({p.conversation_id for p in members}, key=_snowflake_key),
        message_ids=message_ids,
        author_ids=authors,
        channels=channels,
        users=len(authors),
        score=breakdown.score,
        significance=breakdown,
        quotes=_quotes(members, messages),
        questions=list(dict.fromkeys(conversation_name(p, TITLE_LIMIT) for p in members
                                     if p.title))[:5],
        threads=_threads(members, messages),
        first_seen=min(p.timestamp for p in members),
        last_seen=max(p.timestamp for p in members),
    )


def document_frequencies(problems: Sequence[Problem]) -> dict[str, float]:
    """Inverse document frequency of words over all problems of the run."""
    counts: Counter[str] = Counter()
    for problem in problems:
        counts.update(set(content_words(problem.text)))
    total = max(1, len(problems))
    return {w: float(np.log((1 + total) / (1 + n))) + 1.0 for w, n in counts.items()}


def member_words(problems: Sequence[Problem]) -> Counter[str]:
    """How many of `problems` use each content word (placeholders left out); read once
    per insight by its key phrases and its title."""
    counts: Counter[str] = Counter()
    for problem in problems:
        counts.update(set(content_words(without_placeholders(problem.text))))
    return counts


def community_words(problems: Sequence[Problem]) -> frozenset[str]:
    """The words more than COMMON_SHARE of a run's problems use, in a run of at least
    COMMON_MIN_PROBLEMS: the community's own vocabulary, which names no one problem.
    Real tickets read "key terms: model, pydantic" and "…, page, vite"."""
    if len(problems) < COMMON_MIN_PROBLEMS:
        return frozenset()
    counts = member_words(problems)
    return frozenset(w for w, n in counts.items() if n > COMMON_SHARE * len(problems))


def key_phrases(counts: Counter[str], problems: int, idf: Mapping[str, float],
                limit: int = 5, common: frozenset[str] = frozenset()) -> list[str]:
    """Words that are frequent in these problems and rare elsewhere (`counts` from
    `member_words` over the `problems` members); never what is left of a contraction or
    an abbreviation ("e.g"), nor one of the run's `common` words (`community_words`)."""
    scored = {w: n * idf.get(w, 1.0) for w, n in _shared(counts, problems)
              if w not in NOT_KEY_TERMS and w not in common}
    return [w for w, _ in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


def shared_words(problems: Sequence[Problem]) -> int:
    """How many words could be the members' key terms (`key_phrases` before the ranking):
    0 for members that share no word at all."""
    return sum(1 for _ in _shared(member_words(problems), len(problems)))


def _shared(counts: Counter[str], problems: int) -> Iterator[tuple[str, int]]:
    """The words (with their counts) at least two members use, every word of a lone
    member; never what is left of a contraction."""
    need = min(2, problems)
    return ((w, n) for w, n in counts.items() if n >= need and w not in CONTRACTION_PARTS)


def _summary(members: Sequence[Problem], channels: list[str], phrases_found: list[str]) -> str:
    users = len({a for p in members for a in p.author_ids})
    terms = f"; key terms: {', '.join(phrases_found)}" if phrases_found else ""
    where = ", ".join(f"#{c}" for c in channels)
    first = min(p.timestamp for p in members).date().isoformat()
    last = max(p.timestamp for p in members).date().isoformat()
    span = first if first == last else f"{first} to {last}"
    return (f"{users} user{'s' if users != 1 else ''} in {len(members)} "
            f"conversation{'s' if len(members) != 1 else ''} ({where}, {span}) hit this"
            f"{terms}. Most representative: \"{truncate(members[0].text, 200)}\"")


def _quotes(members: Sequence[Problem], messages: Mapping[str, Message]) -> list[Quote]:
    """Quotes from as many different users as possible, representative first."""
    chosen: list[Quote] = []
    seen_authors: set[str] = set()
    candidates = [(p, q) for p in members for q in p.quotes]
    for prefer_new_author in (True, False):
        for _, quote in candidates:
            if len(chosen) >= MAX_QUOTES or any(c.message_id == quote.message_id for c in chosen):
                continue
            author = messages[quote.message_id].author_id if quote.message_id in messages else ""
            if prefer_new_author and author in seen_authors:
                continue
            seen_authors.add(author)
            chosen.append(quote.model_copy(update={"url": _message_url(quote.message_id,
                                                                        messages)}))
    return chosen


def _threads(members: Sequence[Problem], messages: Mapping[str, Message]) -> list[ThreadLink]:
    links: list[ThreadLink] = []
    for problem in members:
        root = messages.get(problem.conversation_id)
        url = _message_url(problem.conversation_id, messages)
        if root is None or url is None:
            continue
        name = root.thread_name or link_name(problem, 80)
        links.append(ThreadLink(id=problem.conversation_id, name=name, url=url))
    return links


def _message_url(message_id: str, messages: Mapping[str, Message]) -> str | None:
    message = messages.get(message_id)
    if message is None or not message.guild_id:
        return None
    channel = message.thread_id or message.channel_id
    if message.thread_id == message.id:
        channel = message.channel_id
    return f"https://discord.com/channels/{message.guild_id}/{channel}/{message.id}"


def _snowflake_key(value: str) -> tuple[int, str]:
    return (int(value), value) if value.isdigit() else (0, value)
