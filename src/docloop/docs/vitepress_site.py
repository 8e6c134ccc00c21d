"""What a VitePress config says about its pages' URLs.

VitePress publishes `guide/foo.md` at `guide/foo.html` unless the config sets
`cleanUrls: true` (then `guide/foo`); a folder's `index.md` is the folder either way (facts
from VitePress' site config reference). The config is JavaScript or TypeScript
(`.vitepress/config.*` in the pages folder or above it, where `detect_generator` looks),
which docloop does not run: it reads
`cleanUrls` only when written as a literal `true` or `false`. Without a config (a copied
docs folder) pages keep clean URLs, which hosts also serve for `.html` files.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

log = logging.getLogger(__name__)

CONFIG_NAMES = ("config.ts", "config.mts", "config.js", "config.mjs", "config.cts",
                "config.cjs")
_CLEAN_URLS = re.compile(r"\bcleanUrls\s*:\s*(true|false)\b")


def html_pages(root: Path) -> bool:
    """Whether the VitePress site whose pages folder is `root` publishes its pages as
    `.html` files: it has a config that does not set `cleanUrls: true`."""
    config = next((folder / ".vitepress" / n for folder in (root, root.parent)
                   for n in CONFIG_NAMES if (folder / ".vitepress" / n).is_file()), None)
    if config is None:
        return False
    try:
        text = config.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        log.warning("%s: cannot read it (%s); linking pages without .html", config, exc)
        return False
    values = {match.group(1) for match in _CLEAN_URLS.finditer(text)}
    return values != {"true"}
