"""The docs' own pointers: which pages a passage sends its reader to.

Catch-all pages (troubleshooting, a feature tour, a migration guide) often hold
the passage closest to a user's question, and that passage often says where the
answer lives: "Vite cannot watch file changes in some conditions. See
[`server.watch` option](/config/server-options.md#server-watch)". A maintainer
reading the search results would follow that link. The re-ranker's `pointed`
feature does the same: a candidate page earns the relative hybrid score of the
strongest other candidate whose best passage links to it.

Links are resolved as the docs sites resolve them: a leading `/` from the docs
root, anything else from the linking page's folder; `.md`, `.mdx`, `.html` or no
extension, a folder meaning its `index` page; anchors and queries dropped.
Links to other sites are not followed (the docs' base URL is not known here).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

#: a Markdown link's target: `[text](target)` or `[text](<target>)`, title ignored
_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_EXTENSIONS = (".md", ".mdx", ".html")


class LinkTable:
    """Each stored chunk's links to other indexed pages, resolved once per index read."""

    def __init__(self, links: Mapping[str, tuple[str, ...]]) -> None:
        self.links = links  # chunk id -> indexed page paths it links to

    @classmethod
    def build(cls, chunks: Iterable[tuple[str, str, str]], paths: Iterable[str]) -> LinkTable:
        """From (chunk id, page path, text) rows and every indexed page path."""
        pages = page_keys(paths)
        found: dict[str, tuple[str, ...]] = {}
        for chunk_id, path, text in chunks:
            targets = linked_pages(text, path, pages)
            if targets:
                found[chunk_id] = targets
        return cls(found)

    def of(self, chunk_id: str) -> tuple[str, ...]:
        return self.links.get(chunk_id, ())


def page_keys(paths: Iterable[str]) -> dict[str, str]:
    """How a link can name each page: its path without the extension, and a folder for
    its `index` page (`guide/index.md` is also `guide`)."""
    keys: dict[str, str] = {}
    for path in paths:
        stem = _strip_extension(path)
        keys.setdefault(stem, path)
        if posixpath.basename(stem) == "index":
            keys.setdefault(posixpath.dirname(stem), path)
    return keys


def linked_pages(text: str, from_path: str, pages: Mapping[str, str]) -> tuple[str, ...]:
    """The indexed pages `text` (a passage of `from_path`) links to, in order, once each,
    the page itself left out."""
    found: list[str] = []
    for match in _LINK.finditer(text):
        target = resolve(match.group(1), from_path, pages)
        if target is not None and target != from_path and target not in found:
            found.append(target)
    return tuple(found)


def resolve(target: str, from_path: str, pages: Mapping[str, str]) -> str | None:
    """The indexed page a link target names, or None (another site, an anchor on the
    same page, a file that is not a page)."""
    if "://" in target or target.startswith(("mailto:", "#")):
        return None
    address = target.split("#", 1)[0].split("?", 1)[0]
    if not address:
        return None
    if address.startswith("/"):
        joined = address.lstrip("/")
    else:
        joined = posixpath.join(posixpath.dirname(from_path), address)
    key = _strip_extension(posixpath.normpath(joined).rstrip("/"))
    if key.startswith(".."):
        return None
    return pages.get(key) or pages.get(posixpath.join(key, "index"))


def pointed_scores(paths: Sequence[str], best_chunks: Sequence[str], fused: Sequence[float],
                   table: LinkTable) -> np.ndarray:
    """Per candidate: the largest share of the best candidate's hybrid score held by
    another candidate whose best passage links to it (0 when none does)."""
    scores = np.zeros(len(paths))
    top = max(fused, default=0.0)
    if top <= 0:
        return scores
    position = {path: i for i, path in enumerate(paths)}
    for source, (chunk_id, score) in enumerate(zip(best_chunks, fused, strict=True)):
        for target in table.of(chunk_id):
            i = position.get(target)
            if i is not None and i != source:
                scores[i] = max(scores[i], score / top)
    return scores


def _strip_extension(path: str) -> str:
    for extension in _EXTENSIONS:
        if path.endswith(extension):
            return path[: -len(extension)]
    return path
