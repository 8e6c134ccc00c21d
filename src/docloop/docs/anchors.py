"""Heading anchors the way each site generator makes them.

A search hit links to `page#anchor`, so the anchor must be the one the
published page really has. Each generator slugs the heading's visible text
(inline code kept, markup and tags dropped) by its own documented rules:

* **mkdocs** — Python-Markdown's `toc` extension `slugify`: NFKD, drop
  non-ASCII, drop everything but word characters, spaces and hyphens, lower
  case, runs of spaces/hyphens become one `-`. `{ #id }` (attr_list) sets the
  id; explicit ids are reserved first, then a repeated slug gets `_1`, `_2`
  (an empty slug becomes `_1`). Emoji shortcodes (`:rocket:`) render as
  images, so they add no text. A custom `toc.slugify` in mkdocs.yml is not
  followed.
* **docusaurus** — github-slugger: lower case, drop every character that is
  not a letter, mark, decimal/letter number, `_`, `-` or space, and turn each
  space into `-` (runs are not collapsed). `{#id}` sets the id; a repeated
  slug gets `-1`, `-2`.
* **vitepress** — VitePress's own slugify for markdown-it-anchor: NFKD,
  drop combining marks and control characters, turn each run of whitespace
  and ASCII punctuation (`~`!@#$%^&*()-_+=[]{}|\\;:"'<>,.?/` and curly
  quotes) into one `-`, trim `-` at both ends, prefix a leading digit with
  `_`, lower case. `{#id}` (markdown-it-attrs) sets the id; a repeated slug
  gets `-1`, `-2`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

GENERATORS = ("mkdocs", "docusaurus", "vitepress", "hugo")

#: `{ #id .class key=value }` at the end of a heading (attr_list / markdown-it-attrs)
MKDOCS_ATTRS = re.compile(r"[ \t]+\{:?[ \t]*([^}\n]*?)[ \t]*\}[ \t]*$")
CURLY_ID = re.compile(r"[ \t]*\{#([^\s{}]+)[^{}]*\}[ \t]*$")
EMOJI_SHORTCODE = re.compile(r":[a-z0-9_+-]+:")
_IDCOUNT = re.compile(r"^(.*)_([0-9]+)$")
_VITEPRESS_SPECIAL = re.compile(r"[\s~`!@#$%^&*()\-_+=\[\]{}|\\;:\"'“”‘’<>,.?/]+")
_VITEPRESS_CONTROL = re.compile(r"[\u0000-\u001f]")
_GITHUB_KEEP = ("L", "M", "Nd", "Nl", "Pc")


def split_custom_id(text: str, generator: str) -> tuple[str, str | None]:
    """Heading text without its `{#id}` attribute block, and that id (or None)."""
    if generator == "mkdocs":
        match = MKDOCS_ATTRS.search(text)
        if not match:
            return text, None
        ids = [part[1:] for part in match.group(1).split() if part.startswith("#")]
        return text[: match.start()], (ids[-1] if ids else None)
    match = CURLY_ID.search(text)
    if not match:
        return text, None
    return text[: match.start()], match.group(1)


def mkdocs_slug(text: str) -> str:
    """Python-Markdown toc `slugify(value, '-')`."""
    text = EMOJI_SHORTCODE.sub("", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def github_slug(text: str) -> str:
    """github-slugger's `slug(value)` (Docusaurus)."""
    kept = []
    for char in text.lower():
        if char == " ":
            kept.append("-")
        elif char == "-" or unicodedata.category(char).startswith(_GITHUB_KEEP):
            kept.append(char)
    return "".join(kept)


def vitepress_slug(text: str) -> str:
    """VitePress's `slugify` (from @mdit-vue/shared) used by markdown-it-anchor."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _VITEPRESS_CONTROL.sub("", text)
    text = _VITEPRESS_SPECIAL.sub("-", text)
    text = re.sub(r"-{2,}", "-", text).strip("-")
    return re.sub(r"^(\d)", r"_\1", text).lower()


SLUGGERS: dict[str, Callable[[str], str]] = {
    "mkdocs": mkdocs_slug, "docusaurus": github_slug, "vitepress": vitepress_slug,
    "hugo": github_slug,  # Goldmark's default autoHeadingIDType, "github"
}


@dataclass
class AnchorMaker:
    """Unique anchors for one page's headings, in document order."""

    generator: str
    used: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    last: dict[str, str] = field(default_factory=dict)

    def assign(self, headings: list[tuple[str, str | None]]) -> list[str]:
        """Anchors for (visible text, explicit id) pairs in document order.

        Explicit ids win. mkdocs reserves all of them before slugging the rest,
        VitePress registers each as it comes, Docusaurus does not register them.
        """
        if self.generator == "mkdocs":
            self.used.update(custom for _, custom in headings if custom)
        anchors = []
        for text, custom in headings:
            if custom and self.generator == "vitepress":
                self.used.add(custom)
            anchors.append(custom or self.make(text))
        return anchors

    def make(self, text: str) -> str:
        """The anchor for a heading whose visible text is `text`."""
        slug = SLUGGERS[self.generator](text)
        if self.generator == "mkdocs":
            return self._mkdocs_unique(slug)
        return self._counter_unique(slug)

    def _mkdocs_unique(self, slug: str) -> str:
        # Python-Markdown's `unique`, resuming where the last repeat of `slug` stopped
        # (the set only grows), so 20,000 equal headings do not cost 20,000² lookups
        anchor = self.last.get(slug, slug)
        while anchor in self.used or not anchor:
            match = _IDCOUNT.match(anchor)
            anchor = f"{match.group(1)}_{int(match.group(2)) + 1}" if match else f"{anchor}_1"
        self.used.add(anchor)
        self.last[slug] = anchor
        return anchor

    def _counter_unique(self, slug: str) -> str:
        anchor = slug
        while anchor in self.used:
            self.counts[slug] = self.counts.get(slug, 0) + 1
            anchor = f"{slug}-{self.counts[slug]}"
        self.used.add(anchor)
        return anchor
