"""Typed records passed between pipeline stages.

Every model is JSON-serialisable so a stage can run in another process (a
Lambda, a worker) from the previous stage's output. Ids are the source's own
strings (Discord snowflakes) so they can be linked back to the original chat.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Status = Literal["open", "in_progress", "done", "canceled", "regressed"]
STATUSES: tuple[str, ...] = ("open", "in_progress", "done", "canceled", "regressed")
Verdict = Literal["covered", "partial", "missing"]
SuggestionKind = Literal["edit", "new-section", "new-page"]
TicketAction = Literal["created", "updated", "unchanged"]
#: an insight's review state (review before filing), separate from its ticket's Status
ReviewState = Literal["proposed", "accepted", "rejected"]
REVIEW_STATES: tuple[str, ...] = ("proposed", "accepted", "rejected")


class Message(BaseModel):
    """One chat message after normalisation and redaction.

    `reply_to` is the id of the message this one answers (Discord
    `message_reference`); `thread_id` is set for messages posted inside a thread
    (the thread's channel id, equal to its starter message id); `forwarded`
    marks a Discord forward, whose `content` is the forwarded message's text;
    `reactions` maps each emoji (unicode, or a custom emoji's name) to its count
    when the message was read; `mentions` holds the ids of the users it pings by
    name (an "@asker try ..." answer without Discord's reply).
    """

    id: str
    source: str = "discord"
    guild_id: str | None = None
    channel_id: str
    channel_name: str = ""
    thread_id: str | None = None
    thread_name: str | None = None
    author_id: str
    author_name: str = ""
    content: str = ""
    timestamp: datetime
    edited_at: datetime | None = None
    reply_to: str | None = None
    attachments: int = 0
    has_sticker: bool = False
    forwarded: bool = False
    reactions: dict[str, int] = Field(default_factory=dict)
    mentions: list[str] = Field(default_factory=list)

    @property
    def has_text(self) -> bool:
        return bool(self.content.strip())


class Conversation(BaseModel):
    """A root message plus its thread or reply chain, oldest first."""

    id: str
    channel_id: str
    channel_name: str = ""
    thread_name: str | None = None
    messages: list[Message] = Field(default_factory=list)

    @property
    def author_ids(self) -> set[str]:
        return {m.author_id for m in self.messages}


class Quote(BaseModel):
    """A verbatim excerpt of a stored (redacted) message."""

    message_id: str
    author: str
    text: str
    url: str | None = None


class Problem(BaseModel):
    """One distinct problem a user hit, found in one conversation."""

    id: str
    conversation_id: str
    channel_name: str = ""
    title: str = ""
    text: str
    category: str = "question"
    quotes: list[Quote] = Field(default_factory=list)
    message_ids: list[str] = Field(default_factory=list)
    author_ids: list[str] = Field(default_factory=list)
    timestamp: datetime
    signals: list[str] = Field(default_factory=list)
    #: the first substantial reply by someone else (usually the answer); it names the
    #: concept behind differently-worded questions, so it helps place the problem among
    #: others, but it is never shown as the problem
    context: str = ""
    #: the asker's messages verbatim (pasted code included) when `text` had to leave
    #: something out (a code block, or more than its length limit); empty otherwise
    body: str = ""
    #: the title is the messages' own text (the offline analyzer's first question or
    #: sentence, or its "opening — question"), not a thread title or a model's summary:
    #: an insight's title weighs it with the members' sentences (stages/headline.py)
    title_in_message: bool = False

    @property
    def embedding_text(self) -> str:
        """What clustering reads (embedding, shared code terms, shared words).

        The verbatim messages when `text` dropped code or length, else `text`, plus the
        answer. Real reports tell problems apart by the code they paste
        (`benchmarks/separation_bench.py`: same-group pair AUC on Pydantic 0.885 -> 0.930,
        Vite 0.862 -> 0.916)."""
        return f"{self.body or self.text} {self.context}".strip()

    @property
    def with_answer(self) -> str:
        """The text plus the answer it got: what the match stage embeds and searches
        with (clustering reads `embedding_text`)."""
        return f"{self.text} {self.context}".strip()


class DocChunk(BaseModel):
    """A heading-aware slice of one documentation page."""

    id: str
    path: str
    url: str
    title: str
    heading: str
    heading_path: list[str] = Field(default_factory=list)
    anchor: str = ""
    text: str
    start_line: int = 0
    end_line: int = 0


def page_text(chunks: Sequence[DocChunk]) -> str:
    """A page as its chunks hold it, each section under its heading (`## Alternative Events
    (deprecated)`): a chunk's text leaves its heading out (the index keeps it apart), and a
    page that says "deprecated" only in a heading still says it to a reader."""
    parts: list[str] = []
    shown: list[str] | None = None
    for chunk in chunks:
        if chunk.heading and chunk.heading_path != shown:
            parts.append(f"{'#' * max(1, min(6, len(chunk.heading_path)))} {chunk.heading}")
            shown = chunk.heading_path
        parts.append(chunk.text)
    return "\n\n".join(parts)


class PageHit(BaseModel):
    """One page in search results, represented by its best section."""

    path: str
    url: str
    title: str = ""
    heading: str
    anchor: str = ""
    score: float
    similarity: float = 0.0
    keyword: float = 0.0
    chunk_id: str = ""
    text: str = ""

    @property
    def section_url(self) -> str:
        """The page's URL at this section (what a ticket links to)."""
        return at_section(self.url, self.anchor)

    @property
    def label(self) -> str:
        return section_label(self.path, self.heading)


def at_section(url: str, anchor: str | None) -> str:
    """`url` at the section `anchor` names (as it is when it already holds an anchor: a
    match's URL is its section's)."""
    if url and anchor and "#" not in url:
        return f"{url}#{anchor}"
    return url


def section_label(path: str, heading: str | None) -> str:
    """How tickets and the desk name a docs section: `guide/build.md › Chunking Strategy`."""
    return f"{path} › {heading}" if heading else path


#: the pages after the chosen one that a ticket names (DocMatch.runners_up)
RUNNERS_UP = 2
#: the nearest pages a `missing` ticket names, where a new page would be linked from
NEAREST = 3


class DocMatch(BaseModel):
    """Where an insight belongs in the docs, and how well the page covers it."""

    path: str | None = None
    url: str | None = None
    heading: str | None = None
    anchor: str | None = None
    score: float = 0.0
    verdict: Verdict = "missing"
    passage: str = ""
    alternatives: list[PageHit] = Field(default_factory=list)

    @property
    def section_url(self) -> str:
        """The page's URL at the matched section ('' without a URL)."""
        return at_section(self.url or "", self.anchor)

    def runners_up(self, limit: int = RUNNERS_UP) -> list[PageHit]:
        """The next pages the match ranked after the chosen one (one hit per page, never the
        chosen page; the nearest pages when it is `missing`). A ticket names them because
        the right page is often second: on the real sets, unseen, the chosen page is the
        labelled one for 16 of Pydantic's 28 problems and 13 of Vite's 26, and one of the
        three pages the ticket names for 21 and 19 (benchmarks/results/loco_eval.md)."""
        seen = {self.path}
        found: list[PageHit] = []
        for hit in self.alternatives:
            if len(found) == limit:
                break
            if hit.path not in seen:
                seen.add(hit.path)
                found.append(hit)
        return found


class Suggestion(BaseModel):
    """A concrete documentation change a writer can act on."""

    kind: SuggestionKind
    text: str
    patch: str | None = None
    fallback: bool = False
    anchor: str | None = None


class TicketRef(BaseModel):
    """What the run report says about an insight's ticket."""

    tracker: str
    id: str
    external_id: str | None = None
    url: str | None = None
    status: Status = "open"
    action: TicketAction
    #: docloop ids of the other open tickets on the same docs section (TicketLink)
    related: list[str] = Field(default_factory=list)


class TicketLink(BaseModel):
    """A filed ticket as another ticket names it: docloop's id, the tracker's id,
    identifier and link, its title and status (a `TicketRecord` without its evidence).

    A ticket names the other open tickets on its docs section: two insights matched
    to one section are often one problem the clustering split (on the labelled sets,
    three of four such pairs share a labelled problem), or two problems one edit
    answers, and the writer who takes one should see the other.
    """

    id: str
    external_id: str | None = None
    identifier: str | None = None
    url: str | None = None
    status: Status = "open"
    title: str


class ScoreBreakdown(BaseModel):
    """Inputs and result of the significance formula, kept so it can be shown."""

    users: int
    conversations: int
    channels: int
    messages: int
    recency_days: float
    growth: float
    score: float
    reasons: list[str] = Field(default_factory=list)


class ThreadLink(BaseModel):
    """A Discord thread or conversation root that is evidence for an insight."""

    id: str
    name: str = ""
    url: str


class Insight(BaseModel):
    """A recurring problem: a cluster of problems with a stable fingerprint."""

    id: str
    title: str
    summary: str
    category: str = "question"
    problem_ids: list[str] = Field(default_factory=list)
    conversation_ids: list[str] = Field(default_factory=list)
    message_ids: list[str] = Field(default_factory=list)
    author_ids: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    users: int = 0
    score: float = 0.0
    significance: ScoreBreakdown | None = None
    quotes: list[Quote] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list)
    threads: list[ThreadLink] = Field(default_factory=list)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    doc: DocMatch | None = None
    suggestion: Suggestion | None = None
    ticket: TicketRef | None = None
    #: the other open tickets on the same docs section, found when its ticket is filed and
    #: handed to the tracker with it; never serialised (the report's `ticket.related` has
    #: their ids), so a stored or reported insight carries no list that was never filled
    related: list[TicketLink] = Field(default_factory=list, exclude=True)
    error: str | None = None
    #: with `review` on: the insight's review state after this run, and why it changed
    review: ReviewState | None = None
    review_note: str = ""


class StatusChange(BaseModel):
    """One entry of a ticket's status history.

    `at` is when docloop recorded it; `changed_at` when it happened at its
    source (what orders changes, `stages.regression`; None for the filing).
    `applied` is False for a change docloop received but ignored as stale.
    """

    status: Status
    at: datetime
    source: str = "docloop"
    note: str = ""
    changed_at: datetime | None = None
    applied: bool = True


class TicketRecord(TicketLink):
    """The stored state of one filed ticket (the records backend's unit)."""

    tracker: str
    insight_id: str
    doc_path: str | None = None
    doc_url: str | None = None
    suggestion: str = ""
    conversations: int = 0
    users: int = 0
    message_ids: list[str] = Field(default_factory=list)
    conversation_ids: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    history: list[StatusChange] = Field(default_factory=list)


class LLMStats(BaseModel):
    """Model usage of one run; `by_stage` splits it per stage (extract, label, suggest, embed).

    `conversations_sent` counts the conversations given to the model for
    extraction (answered now or from the cache), `conversations_unanalysed`
    those no answer covers (failed down to a single conversation, or the
    token budget ran out); `dropped` counts model claims that failed a check,
    by reason (e.g. `quote_not_verbatim`, `unknown_conversation_id`).
    """

    calls: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    conversations_sent: int = 0
    conversations_unanalysed: int = 0
    dropped: dict[str, int] = Field(default_factory=dict)
    by_stage: dict[str, LLMStats] = Field(default_factory=dict)


class ReviewCounts(BaseModel):
    """Review states of a group of insights; the rate is accepted / decided (None if none)."""

    proposed: int = 0
    accepted: int = 0
    rejected: int = 0
    acceptance_rate: float | None = None


class ReviewStats(ReviewCounts):
    """Review before filing, as the run leaves it: every reviewed insight's state, and
    per category and verdict; `proposed_now` counts insights this run (re)proposed."""

    proposed_now: int = 0
    suppressed: int = 0
    by_category: dict[str, ReviewCounts] = Field(default_factory=dict)
    by_verdict: dict[str, ReviewCounts] = Field(default_factory=dict)


class InsightImpact(BaseModel):
    """Questions per week before and after an insight's ticket was done (`docloop.impact`)."""

    insight_id: str
    done_at: datetime | None = None
    weeks: int
    before: list[int] = Field(default_factory=list)
    after: list[int] = Field(default_factory=list)

    @property
    def change(self) -> float | None:
        """Mean questions per week after minus before (None until the ticket is done)."""
        if self.done_at is None or not self.before:
            return None
        return sum(self.after) / len(self.after) - sum(self.before) / len(self.before)


class RunStats(BaseModel):
    messages: int = 0
    window_messages: int = 0
    conversations: int = 0
    problems: int = 0
    insights: int = 0
    embedded: int = 0
    embedding_cache_hits: int = 0
    llm: LLMStats = Field(default_factory=LLMStats)
    #: why the last run's analysis stood in for this run's (None: analysed afresh)
    analysis_reused: str | None = None
    review: ReviewStats | None = None


class RunReport(BaseModel):
    """The result of one `docloop run` (DESIGN §5)."""

    run_id: str
    started_at: datetime
    finished_at: datetime | None = None
    stats: RunStats = Field(default_factory=RunStats)
    insights: list[Insight] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    #: questions per week around the fix, for insights whose ticket is done
    impact: list[InsightImpact] = Field(default_factory=list)


class ReviewOutcome(BaseModel):
    """Why an insight is in its review state, and who put it there (stored and shown).

    `rejected_size` is the insight's conversation count when it was rejected: the
    fingerprint is proposed again only when it grows to `review_regrow_factor`
    times that. `merged_into` names the insight that absorbed this one; `note`
    says why docloop proposed it again.
    """

    reason: str = ""
    rejected_size: int | None = None
    note: str = ""
    decided_by: str | None = None
    decided_at: datetime | None = None
    merged_into: str | None = None


#: a reviewer's page choice meaning "no page covers this" (ReviewRecord.page)
NO_PAGE = "none"


class ReviewRecord(ReviewOutcome):
    """The stored review of one insight: its state and a person's edits."""

    insight_id: str
    state: ReviewState = "proposed"
    title: str | None = None
    suggestion: str | None = None
    #: the page the reviewer moved the insight to (a candidate page's path, another page of
    #: the docs index, or NO_PAGE); None keeps docloop's page (review_doc.py)
    page: str | None = None
    #: that page's URL (the list views link the page by it)
    page_url: str | None = None
    #: on a page the match did not rank, the section the search names there for the
    #: insight (review.indexed_pages); a candidate page brings its own section
    page_heading: str | None = None
    page_anchor: str | None = None
    updated_at: datetime


class Decision(BaseModel):
    """One entry of the append-only decisions log: who did what to an insight, when."""

    insight_id: str
    actor: str
    at: datetime
    action: str
    detail: str = ""


ReplyState = Literal["queued", "sending", "sent", "failed"]


class Reply(BaseModel):
    """One reply docloop owes a Discord conversation once its ticket is done.

    Recorded before sending (`queued`, then `sending` with the time of the
    attempt: the intent) and after (`sent` with Discord's message id), so a
    crash between the two is resumed by looking for the message, never by
    posting twice. `channel_id` is where it is posted (the thread, or the
    conversation's channel), `reply_to` the message it answers (channel
    conversations only). `failed` holds a permanent refusal (e.g. 403).
    """

    id: str
    ticket_id: str
    insight_id: str
    conversation_id: str
    channel_id: str
    reply_to: str | None = None
    content: str
    nonce: str
    state: ReplyState = "queued"
    message_id: str | None = None
    error: str = ""
    queued_at: datetime
    attempted_at: datetime | None = None
    sent_at: datetime | None = None
