"""Suggestion checks: the model's edit must fit the page it is about.

An edit is anchored to a passage copied from the page; the anchor must occur
exactly once. For local docs the edit is applied to the Markdown source, a
unified diff is built with `make_patch`, and `apply_patch` must reproduce
the edited page from the diff. Links the page does not already contain are
refused (a chat message must not be able to plant a link in the docs).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from docloop.backends.analyzers.llm_guard import clean_text, safe_json, stable_sample, urls
from docloop.backends.analyzers.llm_jobs import InvalidOutput
from docloop.backends.analyzers.llm_schemas import SuggestOut
from docloop.errors import StageError
from docloop.models import DocChunk, Insight, Suggestion, SuggestionKind, page_text
from docloop.patching import apply_patch, make_patch

NO_PAGE = "(no documentation page covers this problem)"
PAGE_CHARS = 12_000  # ≈3,000 tokens of page text per suggestion request
PAGE_CUT = "[… page continues …]"
MAX_QUOTES = 8


@dataclass(frozen=True)
class PageContext:
    """The matched page as the model sees it, and the source a patch applies to."""

    path: str | None
    text: str
    source: str | None

    @classmethod
    def build(cls, insight: Insight, chunks: Sequence[DocChunk],
              source: str | None) -> PageContext:
        path = insight.doc.path if insight.doc else None
        text = source if source is not None else page_text(chunks)
        return cls(path=path, text=text, source=source if path else None)

    @property
    def exists(self) -> bool:
        return bool(self.text.strip())

    def excerpt(self, heading: str | None) -> str:
        """The page, or for a long page a window starting near the matched section.

        Anchors are still checked against the whole page, so an excerpt only
        limits what the model reads, never what a patch may touch.
        """
        if len(self.text) <= PAGE_CHARS:
            return self.text
        at = _heading_offset(self.text, heading)
        start = max(0, min(at - PAGE_CHARS // 5, len(self.text) - PAGE_CHARS))
        start = self.text.rfind("\n", 0, start) + 1 if start else 0
        window = self.text[start:start + PAGE_CHARS]
        window = window[: window.rfind("\n") + 1] or window
        before = f"{PAGE_CUT}\n" if start else ""
        after = f"\n{PAGE_CUT}" if start + len(window) < len(self.text) else ""
        return before + window + after


def suggest_data(insight: Insight, page: PageContext) -> str:
    """The data message: the page text, then the evidence as JSON."""
    doc = insight.doc
    excerpt = page.excerpt(doc.heading if doc else None)
    body = excerpt.replace("</page", "<\\/page") if page.exists else NO_PAGE
    evidence = {
        "title": insight.title, "summary": insight.summary,
        "verdict": doc.verdict if doc else "missing",
        "closest_section": doc.heading if doc else None,
        "quotes": stable_sample([q.text for q in insight.quotes], MAX_QUOTES),
        "questions": stable_sample(insight.questions, MAX_QUOTES),
    }
    return (f"<page path={safe_json(page.path)}>\n{body}\n</page>\n"
            f"<evidence>\n{safe_json(evidence)}\n</evidence>")


def check_suggestion(data: dict[str, Any], page: PageContext) -> Suggestion:
    """Validate a model answer against the page; InvalidOutput says what to fix."""
    answer = SuggestOut.model_validate(data)
    text = answer.text.strip()
    foreign = sorted(urls(text) - urls(page.text))
    if foreign:
        raise InvalidOutput(f"the text adds links that are not on the page: {foreign[:3]}")
    if not page.exists and answer.action != "new-page":
        raise InvalidOutput("no page covers this problem, so the action must be 'new-page'")
    after = _edited(answer, text, page)
    patch = None
    if page.source is not None and page.path and after is not None:
        patch = _checked_patch(page.path, page.source, after)
    kind: SuggestionKind = "edit" if answer.action in ("replace", "insert_after") else \
        answer.action  # type: ignore[assignment]
    anchor = answer.anchor.strip() if kind == "edit" and answer.anchor else None
    return Suggestion(kind=kind, text=_render(answer, text), patch=patch, anchor=anchor)


def _edited(answer: SuggestOut, text: str, page: PageContext) -> str | None:
    """The page after the edit (None for a new page)."""
    if answer.action == "new-page":
        if not text.startswith("# "):
            raise InvalidOutput("a new page must start with a '# ' title line")
        return None
    if answer.action == "new-section":
        if not text.startswith("#"):
            raise InvalidOutput("a new section must start with a Markdown heading")
        return page.text.rstrip("\n") + "\n\n" + text + "\n"
    anchor = (answer.anchor or "").strip()
    occurrences = page.text.count(anchor) if anchor else 0
    if occurrences != 1:
        raise InvalidOutput(f"the anchor must be an exact passage occurring once in the page; "
                            f"it occurs {occurrences} times: {anchor[:120]!r}")
    start = page.text.index(anchor)
    if answer.action == "replace":
        return page.text[:start] + text + page.text[start + len(anchor):]
    line_end = page.text.find("\n", start + len(anchor))
    cut = len(page.text) if line_end == -1 else line_end
    return page.text[:cut] + "\n\n" + text + "\n" + page.text[cut:]


def _checked_patch(path: str, source: str, after: str) -> str:
    patch = make_patch(path, source, after)
    try:
        applied = apply_patch(source, patch)
    except StageError as exc:
        raise InvalidOutput(f"the edit does not produce a clean patch: {exc}") from None
    if applied.rstrip("\n") != after.rstrip("\n"):
        raise InvalidOutput("the edit does not produce a clean patch")
    return patch


def _render(answer: SuggestOut, text: str) -> str:
    why = clean_text(answer.rationale, 400)
    lead = f"{why}\n\n" if why else ""
    if answer.action == "replace":
        return f"{lead}Replace:\n\n{_quoted(answer.anchor or '')}\n\nwith:\n\n{text}"
    if answer.action == "insert_after":
        return f"{lead}Insert after:\n\n{_quoted(answer.anchor or '')}\n\n{text}"
    heading = "Add a section:" if answer.action == "new-section" else "Write a new page:"
    return f"{lead}{heading}\n\n{text}"


def _heading_offset(text: str, heading: str | None) -> int:
    """Where the matched section's heading line starts (0 when not found)."""
    if not heading:
        return 0
    for match in re.finditer(r"^#{1,6}[ \t]+(.+)$", text, re.M):
        if heading.strip().lower() in match.group(1).lower():
            return match.start()
    return 0


def _quoted(passage: str) -> str:
    return "\n".join(f"> {line}" for line in passage.strip().splitlines())
