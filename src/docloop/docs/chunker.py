"""Heading-aware chunks of a page.

A chunk is one section (the text under a heading, up to the next heading),
so a search hit can point at a real anchor. Sections longer than
`max_chars` are split between the parser's blocks (paragraphs, lists, code
blocks, tables); a block is kept whole unless it alone exceeds twice the
limit. A page yields at most its `max_chunks` chunks (the loader warns).
"""

from __future__ import annotations

import hashlib

from docloop.docs.loader import DocPage
from docloop.docs.markdown import Line, Section
from docloop.models import DocChunk

MAX_CHARS = 1200


def chunk_page(page: DocPage, max_chars: int = MAX_CHARS) -> list[DocChunk]:
    """The page's chunks in document order, at most `page.max_chunks` of them
    (0 = no cap; sections without text are skipped)."""
    chunks = all_chunks(page, max_chars)
    return chunks[: page.max_chunks] if page.max_chunks else chunks


def all_chunks(page: DocPage, max_chars: int = MAX_CHARS) -> list[DocChunk]:
    """Every chunk of the page, before the per-page cap."""
    chunks: list[DocChunk] = []
    for section in page.sections:
        for part in split_blocks(section.blocks, max_chars):
            text = "\n".join(line.text for line in part).strip()
            if text:
                chunks.append(_chunk(page, section, part, text, len(chunks)))
    return chunks


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
