"""Markdown that shows untrusted text as text, in every viewer.

Reports and tickets are Markdown, and many viewers (GitHub, Linear, editors'
previews) pass raw HTML through. Whatever a Discord user, a docs page or a
model wrote must therefore reach the page as characters, never as a tag, a
link target or structure. Three shapes cover every place docloop renders:

- `inline`: one line of untrusted text (a title, a name, a reason);
- `block`: multi-line Markdown that docloop composed around untrusted pieces
  (a suggestion): its structure stays, raw HTML outside code is neutralised;
- `link`: a label and a URL, where only http(s) URLs (and relative paths)
  become links and every character that could end the link is encoded.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from docloop.sanitize import clean_line, clean_text
from docloop.text import escape_markdown

_CODE = re.compile(r"(```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)|`[^`\n]*`)", re.S)
#: characters left as they are in a URL (RFC 3986 reserved + unreserved, minus parentheses)
_URL_SAFE = ":/?#[]@!$&'*+,;=%~-._"


def inline(text: str) -> str:
    """One line of untrusted text: no markup, HTML, links or mentions survive."""
    return escape_markdown(clean_line(text))


def code(text: str) -> str:
    """Untrusted text as an inline code span (a path, an id)."""
    flat = clean_line(text).replace("`", "'")
    return f"`{flat}`"


def block(text: str) -> str:
    """Composed Markdown with untrusted parts: HTML outside code is shown as text."""
    parts = _CODE.split(clean_text(text))
    return "".join(part if index % 2 else _neutral_html(part)
                   for index, part in enumerate(parts))


def safe_url(url: str | None) -> str | None:
    """The URL percent-encoded so it cannot end a Markdown link, or None if not http(s)/relative."""
    if not url:
        return None
    url = clean_line(url)
    scheme = urlsplit(url).scheme.lower()
    if scheme not in {"", "http", "https"}:
        return None
    return quote(url, safe=_URL_SAFE)


def is_web_url(url: str | None) -> bool:
    """An absolute http(s) URL: what a docs link in a ticket or on the desk must be (a
    page route without the site, `guide/build/`, resolves against the tracker's own
    site or the outbox folder, and leads nowhere)."""
    if not url:
        return False
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in {"http", "https"} and bool(parts.netloc)


def link(label: str, url: str | None) -> str:
    """`[label](url)` with both made inert; just the label when the URL is not safe."""
    target = safe_url(url)
    text = inline(label)
    return f"[{text}]({target})" if target else text


def _neutral_html(text: str) -> str:
    """Every `<` outside code as an entity: no tag, comment or autolink can open."""
    return text.replace("<", "&lt;")
