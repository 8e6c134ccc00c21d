"""Ticket bodies in Markdown, shared by every tracker.

A ticket must let a docs writer act without opening Discord: what the
problem is, why it matters (significance and its reasons), what users said
(quotes with links), where in the docs it belongs, and the suggested change.
Message text is untrusted: it is only ever shown as an escaped quote, so
nothing a user wrote can become a link, a mention, HTML or Markdown structure
in the ticket.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from docloop.backends.trackers.base import EvidenceDelta
from docloop.docs.machinery import FENCE, closes_fence
from docloop.markdown_safe import block, code, is_web_url, link, safe_url
from docloop.markdown_safe import inline as escape
from docloop.models import NEAREST, Insight, PageHit, Quote, section_label
from docloop.sanitize import clean_text
from docloop.text import code_fence

#: a code block's language tag as a fence may carry it (`python`, `ts`, `c++`)
_LANGUAGE = re.compile(r"[\w+#.-]{1,20}")


def render_ticket(insight: Insight) -> str:
    """The full ticket body."""
    parts = [f"## {escape(insight.title)}", "", escape(insight.summary), ""]
    parts += _significance(insight) + _doc(insight) + _related(insight)
    parts += _quotes(insight.quotes)
    parts += _suggestion(insight) + _threads(insight)
    parts += ["---", f"docloop insight {code(insight.id)} · category: {escape(insight.category)}",
              ""]
    return "\n".join(parts)


def render_update(insight: Insight, delta: EvidenceDelta) -> str:
    """A comment for new evidence on an existing ticket."""
    lines = []
    if delta.regression:
        lines += ["**Regression:** this problem came back after the ticket was done.", ""]
    lines.append(f"{len(delta.new_conversation_ids)} new conversation(s), "
                 f"{len(delta.new_message_ids)} new message(s); now {insight.users} users in "
                 f"{len(insight.conversation_ids)} conversations (score {insight.score:.2f}).")
    lines.append("")
    lines += _quotes(delta.new_quotes, heading=None)
    return "\n".join(lines)


def _significance(insight: Insight) -> list[str]:
    breakdown = insight.significance
    if breakdown is None:
        return []
    lines = [f"**Significance:** {breakdown.score:.2f}"]
    lines += [f"- {escape(reason)}" for reason in breakdown.reasons]
    return [*lines, ""]


def _doc(insight: Insight) -> list[str]:
    doc = insight.doc
    if doc is None:
        return ["**Docs:** no documentation index was available.", ""]
    if not doc.path:
        near = ", ".join(_page_link(hit) for hit in doc.runners_up(NEAREST)) or "none"
        return [f"**Docs:** no page covers this (verdict: missing). Nearest pages: {near}.", ""]
    label = section_label(doc.path, doc.heading)
    lines = [f"**Docs:** {_docs_link(label, doc.section_url)} — verdict: **{doc.verdict}** "
             f"(similarity {doc.score:.2f})", ""]
    others = doc.runners_up()
    if others:
        lines += [f"**Next candidates** (if the page above is not where this belongs): "
                  f"{', '.join(_page_link(hit) for hit in others)}", ""]
    return lines


def _page_link(hit: PageHit) -> str:
    """`path › heading` linked to the section (as text when the docs have no site URL)."""
    return _docs_link(hit.label, hit.section_url)


def _docs_link(label: str, url: str | None) -> str:
    """A docs page linked only by an absolute http(s) URL: indexed without `--base-url`, a
    page's URL is a route (`guide/build/`) that would resolve against the tracker's site."""
    return link(label, url) if is_web_url(url) else escape(label)


def _related(insight: Insight) -> list[str]:
    """The other open tickets on this section: maybe the same problem split in two, or
    two problems one edit answers (stages.file.related_tickets)."""
    if not insight.related:
        return []
    lines = ["**Also open on this section** (one edit may answer both; merge them if they "
             "are one problem):", ""]
    for other in insight.related:
        lines.append(f"- {link(other.identifier or other.id, _ticket_link(other.url))} — "
                     f"{escape(other.title)} ({other.status.replace('_', ' ')})")
    return [*lines, ""]


def _ticket_link(url: str | None) -> str | None:
    """A tracker's ticket URL; a local ticket's file URI as its file name, the sibling it
    is in the outbox (a relative link any Markdown viewer follows, no absolute path)."""
    if url and urlsplit(url).scheme == "file":
        return PurePosixPath(urlsplit(url).path).name
    return url


def _quotes(quotes: list[Quote], heading: str | None = "**What users said:**") -> list[str]:
    lines = [heading, ""] if heading else []
    for quote in quotes:
        url = safe_url(quote.url)
        source = f" ([message]({url}))" if url else ""
        lines += _quoted(quote.text)
        lines.append(f"> — {escape(quote.author)}{source}")
        lines.append("")
    return lines


def _quoted(text: str) -> list[str]:
    """A quote as blockquote lines: its prose escaped line by line (no markup, link or
    mention of a user's survives), and the code it pasted in fenced blocks kept as a
    fenced block, line for line, behind a fence longer than any backtick run inside (code
    renders no markup). Flattened to one line, a pasted traceback or config read as
    "```python app.add_middleware( CORSMiddleware, allow_origins=[ …". Fences are read as
    Discord renders them: a block opened and closed on one line is prose with code in
    it, words after an opening fence are code unless they are a language tag, and a
    block may close at the end of its last code line."""
    lines: list[str] = []
    block: _Block | None = None  # the user's code block while inside one
    for line in clean_text(text).strip().splitlines():
        if block is not None:
            if block.take(line):
                lines += block.render()
                block = None
            continue
        opening = FENCE.match(line)
        rest = line[opening.end():] if opening else ""
        if opening is None or opening.group(1) in rest:
            lines.append(f"> {escape(line)}" if line.strip() else ">")
            continue
        block = _Block(opening.group(1))
        if _LANGUAGE.fullmatch(rest.strip()):
            block.language = rest.strip()
        elif rest.strip():
            block.code.append(rest)
    if block is not None:  # a block the message never closed
        lines += block.render()
    return lines or [">"]


class _Block:
    """A user's fenced code block in a quote, as it is read."""

    def __init__(self, fence: str) -> None:
        self.fence = fence
        self.language = ""
        self.code: list[str] = []

    def take(self, line: str) -> bool:
        """Read one more line; True when it closes the block (a fence line, or a code line
        ending with the fence, as Discord closes ```py\nprint(1)```)."""
        if closes_fence(line, self.fence):
            return True
        if line.rstrip().endswith(self.fence):
            self.code.append(line.rstrip()[: -len(self.fence)])
            return True
        self.code.append(line)
        return False

    def render(self) -> list[str]:
        """Blockquoted fenced code holding the block's lines as written."""
        fence = code_fence("\n".join(self.code))
        return [f"> {fence}{self.language}", *(f"> {line}" for line in self.code),
                f"> {fence}"]


def _suggestion(insight: Insight) -> list[str]:
    suggestion = insight.suggestion
    if suggestion is None:
        return []
    flag = " (offline fallback)" if suggestion.fallback else ""
    lines = [f"**Suggested change ({suggestion.kind}){flag}:**", "", block(suggestion.text), ""]
    if suggestion.patch:
        fence = code_fence(suggestion.patch)
        lines += [f"{fence}diff", clean_text(suggestion.patch).rstrip("\n"), fence, ""]
    return lines


def _threads(insight: Insight) -> list[str]:
    if not insight.threads:
        return []
    lines = ["**Conversations:**", ""]
    lines += [f"- {link(t.name, t.url)}" for t in insight.threads]
    return [*lines, ""]
