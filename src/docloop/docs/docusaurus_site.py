"""What a Docusaurus config says about where its docs pages are published.

The config is JavaScript or TypeScript (`docusaurus.config.*`), which docloop does not run.
It reads only options written as plain strings, each set once, and falls back to
Docusaurus' defaults otherwise (facts from Docusaurus' configuration reference):

* `url` and `baseUrl`: the site's address (`https://typescript-eslint.io` and `/`);
* `routeBasePath` of the docs plugin: the route its pages are served under, `docs` by
  default (`/` serves them at the site's root).

A value built from variables, or set several times (several docs plugin instances), is not
guessed: the site URL is then unknown (tickets name pages by path until `--base-url` is
given) and the route the default, said in a warning.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from docloop.markdown_safe import is_web_url

log = logging.getLogger(__name__)

CONFIG_NAMES = ("docusaurus.config.js", "docusaurus.config.ts", "docusaurus.config.mjs",
                "docusaurus.config.cjs", "docusaurus.config.mts")
DEFAULT_ROUTE = "docs"
_STRING = r"""\s*:\s*(['"`])([^'"`$\n]*)\1"""
_ROUTE_BASE = re.compile(rf"\brouteBasePath{_STRING}")
_URL = re.compile(rf"(?m)^\s*url{_STRING}")
_BASE_URL = re.compile(rf"(?m)^\s*baseUrl{_STRING}")


def docusaurus_config(folder: Path) -> Path | None:
    """The Docusaurus config in `folder`, if there is one."""
    return next((folder / n for n in CONFIG_NAMES if (folder / n).is_file()), None)


def route_base_path(config: Path) -> str:
    """The docs plugin's route (no slashes around it; "" for the site root)."""
    found = _values(_ROUTE_BASE, _read(config))
    if len(found) == 1:
        return found[0].strip("/")
    if found:
        log.warning("%s sets several routeBasePath values (%s); taking the default route "
                    "/%s: index each docs folder with --mount ROUTE=FOLDER instead", config,
                    ", ".join(sorted(found)), DEFAULT_ROUTE)
    return DEFAULT_ROUTE


def site_url(config: Path) -> str | None:
    """`url` joined with `baseUrl` (`https://x.dev/docs-site/`), when both are plain
    strings set once and the URL is http(s)."""
    text = _read(config)
    urls, bases = _values(_URL, text), _values(_BASE_URL, text)
    if len(urls) != 1 or len(bases) > 1 or not is_web_url(urls[0]):
        return None
    base = bases[0].strip("/") if bases else ""
    return f"{urls[0].rstrip('/')}/{base}/" if base else f"{urls[0].rstrip('/')}/"


def _values(pattern: re.Pattern[str], text: str) -> list[str]:
    return list(dict.fromkeys(match.group(2) for match in pattern.finditer(text)))


def _read(config: Path) -> str:
    try:
        return config.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        log.warning("%s: cannot read it (%s); taking Docusaurus' defaults", config, exc)
        return ""
