"""What a VitePress config says about its pages' URLs.

VitePress publishes `guide/foo.md` at `guide/foo.html` unless the config sets
`cleanUrls: true` (then `guide/foo`); a folder's `index.md` is the folder either way (facts
from VitePress' site config reference). The config is JavaScript or TypeScript
(`.vitepress/config.*` in the pages folder or above it, where `detect_generator` looks),
which docloop does not run: it reads
`cleanUrls` only when written as a literal `true` or `false`. Without a config (a copied
docs folder) pages keep clean URLs, which hosts also serve for `.html` files.

The site's address is its sitemap's `hostname` (`sitemap: { hostname: 'https://vite.dev' }`)
joined with `base`, when each is a plain string set once; it links the tickets when
`--base-url` is not given.
"""

from __future__ import annotations

import re
from pathlib import Path

from docloop.docs.js_config import read_config, site_address
from docloop.markdown_safe import is_web_url

CONFIG_NAMES = ("config.ts", "config.mts", "config.js", "config.mjs", "config.cts",
                "config.cjs")
#: what a config that cannot be read leaves the pages with
UNREADABLE = "linking pages without .html and without the site's address"
_CLEAN_URLS = re.compile(r"\bcleanUrls\s*:\s*(true|false)\b")


def html_pages(root: Path) -> bool:
    """Whether the VitePress site whose pages folder is `root` publishes its pages as
    `.html` files: it has a config that does not set `cleanUrls: true`."""
    config = _config(root)
    if config is None:
        return False
    text = read_config(config, UNREADABLE).text
    values = {match.group(1) for match in _CLEAN_URLS.finditer(text)}
    return values != {"true"}


def site_url(root: Path) -> str | None:
    """The site's address: the `hostname` of its `sitemap: {…}` joined with the config's
    own `base` (default `/`), each set once to a plain string (js_config.py), the hostname
    an http(s) URL. A `base` written any other way, or a sidebar item's `base` (another
    option), gives no address rather than a wrong one."""
    config = _config(root)
    if config is None:
        return None
    js = read_config(config, UNREADABLE)
    hosts = [prop for start, end, inside in js.objects(r"(?<![\w$.])sitemap\s*:\s*")
             for prop in js.properties("hostname", inside, (start, end))]
    bases = js.properties("base", 1)
    if len(hosts) != 1 or hosts[0].value is None or not is_web_url(hosts[0].value) \
            or len(bases) > 1 or (bases and bases[0].value is None):
        return None
    return site_address(hosts[0].value, (bases[0].value or "") if bases else "")


def _config(root: Path) -> Path | None:
    return next((folder / ".vitepress" / n for folder in (root, root.parent)
                 for n in CONFIG_NAMES if (folder / ".vitepress" / n).is_file()), None)
