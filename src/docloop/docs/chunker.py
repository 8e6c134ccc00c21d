"""Heading-aware chunks of a page.

A chunk is one section (the text under a heading, up to the next heading),
so a search hit can point at a real anchor. Sections longer than
`max_chars` are split at paragraph boundaries; code blocks are kept whole
unless a single block alone exceeds twice the limit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from docloop.docs.loader import DocPage
from docloop.docs.markdown import Line, parse_heading
from docloop.models import DocChunk

MAX_CHARS = 1200


@dataclass
class Section:
    """Lines under one heading, with the path of headings above it."""

    heading_path: list[str]
    anchor: str
    lines: list[Line]


def chunk_page(page: DocPage, max_chars: int = MAX_CHARS) -> list[DocChunk]:
    """The page's chunks in document order (sections without text are skipped)."""
    chunks: list[DocChunk] = []
    for section in sections(page.lines):
        for part in split_blocks(paragraphs(section.lines), max_chars):
            text = "\n".join(line.text for line in part).strip()
            if text:
                chunks.append(_chunk(page, section, part, text, len(chunks)))
    return chunks


def sections(lines: list[Line]) -> list[Section]:
    """Split cleaned lines at ATX headings outside code blocks."""
    stack: list[tuple[int, str]] = []
    current = Section([], "", [])
    found = [current]
    for line in lines:
        heading = None if line.code else parse_heading(line.text)
        if heading is None:
            current.lines.append(line)
            continue
        while stack and stack[-1][0] >= heading.level:
            stack.pop()
        stack.append((heading.level, heading.text))
        current = Section([text for _, text in stack], heading.anchor, [])
        found.append(current)
    return found


def paragraphs(lines: list[Line]) -> list[list[Line]]:
    """Blocks separated by blank lines; a fenced code block is one block."""
    blocks: list[list[Line]] = []
    current: list[Line] = []
    for line in lines:
        in_code_block = bool(current) and current[-1].code and _open_fence(current)
        if not line.text.strip() and not in_code_block:
            if current:
                blocks.append(current)
            current = []
            continue
        current.append(line)
    if current:
        blocks.append(current)
    return blocks


def split_blocks(blocks: list[list[Line]], max_chars: int) -> list[list[Line]]:
    """Pack consecutive blocks into parts of at most `max_chars` (blocks stay whole)."""
    parts: list[list[Line]] = []
    current: list[Line] = []
    size = 0
    for block in blocks:
        for piece in _cut_oversized(block, max_chars):
            length = sum(len(line.text) + 1 for line in piece)
            if current and size + length > max_chars:
                parts.append(current)
                current, size = [], 0
            current.extend(piece)
            size += length
    if current:
        parts.append(current)
    return parts


def _cut_oversized(block: list[Line], max_chars: int) -> list[list[Line]]:
    """A block beyond twice the limit (a huge code listing) is cut by lines."""
    if sum(len(line.text) + 1 for line in block) <= 2 * max_chars:
        return [block]
    pieces: list[list[Line]] = [[]]
    size = 0
    for line in block:
        if pieces[-1] and size + len(line.text) > max_chars:
            pieces.append([])
            size = 0
        pieces[-1].append(line)
        size += len(line.text) + 1
    return pieces


def _open_fence(current: list[Line]) -> bool:
    """Whether the code lines at the end of `current` are inside an unclosed fence."""
    fences = 0
    for line in reversed(current):
        if not line.code:
            break
        if line.text.lstrip().startswith(("```", "~~~")):
            fences += 1
    return fences % 2 == 1


def _chunk(page: DocPage, section: Section, part: list[Line], text: str, n: int) -> DocChunk:
    heading = section.heading_path[-1] if section.heading_path else page.title
    digest = hashlib.sha1(f"{page.path}#{n}".encode()).hexdigest()[:16]
    return DocChunk(
        id=digest,
        path=page.path,
        url=page.url + (f"#{section.anchor}" if section.anchor else ""),
        title=page.title,
        heading=heading,
        heading_path=section.heading_path,
        anchor=section.anchor,
        text=text,
        start_line=part[0].number,
        end_line=part[-1].number,
    )
