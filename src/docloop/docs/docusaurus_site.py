"""What a Docusaurus config says about where its docs pages are published.

The config is JavaScript or TypeScript (`docusaurus.config.*`), which docloop does not run.
It reads only options written as plain strings, each set once, and falls back to
Docusaurus' defaults otherwise (facts from Docusaurus' configuration reference):

* `url` and `baseUrl`, options of the config object itself: the site's address
  (`https://typescript-eslint.io` and `/`); both are required, so without either there is
  no address;
* `routeBasePath` of the docs plugin (inside the preset's `docs: {…}` or a
  `plugin-content-docs` entry): the route its pages are served under, `docs` by default
  (`/` serves them at the site's root). The blog's and the pages plugin's `routeBasePath`
  are their own.

A value built from variables or expressions, or set several times (several docs plugin
instances), is not guessed (js_config.py): the site URL is then unknown (tickets name
pages by path until `--base-url` is given) and the route the default, said in a warning.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from docloop.docs.js_config import JsConfig, read_config, site_address
from docloop.docs.site_config import config_globs
from docloop.markdown_safe import is_web_url

log = logging.getLogger(__name__)

CONFIG_NAMES = ("docusaurus.config.js", "docusaurus.config.ts", "docusaurus.config.mjs",
                "docusaurus.config.cjs", "docusaurus.config.mts")
DEFAULT_ROUTE = "docs"
#: docs instances read at most (a real site has a handful; thousands are a hostile config)
MAX_INSTANCES = 32
_NAMED_ENTRY = re.compile(r"plugin-content-docs['\"]\s*,\s*([A-Za-z_$][\w$]*)\s*\]")
_NO_DOCS = re.compile(r"(?<![\w$.])docs\s*:\s*false\b")


def docusaurus_config(folder: Path) -> Path | None:
    """The Docusaurus config in `folder`, if there is one."""
    return next((folder / n for n in CONFIG_NAMES if (folder / n).is_file()), None)


@dataclass(frozen=True)
class DocsInstance:
    """One docs plugin instance: the folder it reads (relative to the site) and the route
    it serves the pages under (no slashes around it; "" for the site root)."""

    path: str
    route: str
    #: the instance's `exclude` globs (relative to its folder): files it does not publish
    exclude: tuple[str, ...] = ()


#: the classic preset's docs, when the config sets up none docloop can read
DEFAULT_INSTANCE = DocsInstance(DEFAULT_ROUTE, DEFAULT_ROUTE)


def docs_instances(config: Path) -> list[DocsInstance] | None:
    """Every docs plugin instance the config sets up: the preset's `docs: {…}` and each
    `plugin-content-docs` entry, in the order written, with their `path` and
    `routeBasePath` (default `docs` both); one when the config names none (the classic
    preset's default). None when an instance's `path` or `routeBasePath` is not a plain
    string: which folder goes where cannot be told. The blog and pages plugins have a
    `routeBasePath` of their own, which says nothing about the docs."""
    js = read_config(config, "taking Docusaurus' defaults")
    theme = _theme_spans(js)
    spans = sorted([span for span in js.objects(r"(?<![\w$.])docs\s*:\s*")
                    if not any(t[0] < span[0] < t[1] for t in theme)]
                   + js.objects(r"plugin-content-docs['\"]\s*,\s*", in_text=True)
                   + _named_options(config, js))
    if len(spans) > MAX_INSTANCES:
        log.warning("%s: more than %d docs instances; reading none of them", config,
                    MAX_INSTANCES)
        return None
    found = []
    for start, end, inside in spans:
        paths = js.properties("path", inside, (start, end))
        routes = js.properties("routeBasePath", inside, (start, end))
        if len(paths) > 1 or len(routes) > 1 or any(p.value is None for p in paths + routes):
            return None
        path = paths[0].value if paths and paths[0].value is not None else DEFAULT_ROUTE
        route = routes[0].value if routes and routes[0].value is not None else DEFAULT_ROUTE
        found.append(DocsInstance(path.strip().rstrip("/") or ".", route.strip("/"),
                                  config_globs(config, js, "exclude", inside, (start, end),
                                               "a docs instance's exclude")))
    if not found and _NO_DOCS.search(js.code):
        return []  # `docs: false`: a site without docs (a blog)
    return found or [DEFAULT_INSTANCE]


def _named_options(config: Path, js: JsConfig) -> list[tuple[int, int, int]]:
    """The options object of each `plugin-content-docs` entry that names it by a variable
    (`['@docusaurus/plugin-content-docs', pluginContentDocsOptions]`, as typescript-eslint
    writes it): the `{…}` that variable is declared with in the same file. A variable not
    declared so, or declared more than once, is said in a warning."""
    names = list(dict.fromkeys(
        entry.group(1) for entry in _NAMED_ENTRY.finditer(js.text)
        if js.code[entry.start(1)] == entry.group(1)[0]))  # code, not a comment's
    spans = []
    for name in names[:MAX_INSTANCES + 1]:
        starts = _declared(js, name)
        if len(starts) != 1:
            log.warning("%s: the docs instance options %s are not one object literal declared "
                        "in the config; that instance is not read", config, name)
            continue
        spans.append(js.object_at(starts[0]))
    return spans


def _theme_spans(js: JsConfig) -> list[tuple[int, int, int]]:
    """The `themeConfig` object, written inline or named by a variable: its `docs: {…}`
    (the sidebar's settings) is not a docs instance."""
    spans = js.objects(r"(?<![\w$.])themeConfig\s*:\s*")
    names = {found.group(1) or "themeConfig" for found in re.finditer(
        r"(?<![\w$.])themeConfig\s*(?::\s*([A-Za-z_$][\w$]*)\s*(?=[,}\n])|(?=\s*[,}]))",
        js.code)}
    for name in sorted(names)[:2]:
        spans += [js.object_at(start) for start in _declared(js, name)[:1]]
    return spans


def _declared(js: JsConfig, name: str) -> list[int]:
    """Where the object literal each `const|let|var name … = {` declares opens."""
    pattern = rf"(?<![\w$.])(?:const|let|var)\s+{re.escape(name)}(?![\w$])" \
              r"(?:\s*:[^=;{}\n]{0,200})?\s*=\s*\{"
    return [match.end() - 1 for match in re.finditer(pattern, js.code)]


def route_base_path(config: Path, instances: list[DocsInstance] | None,
                    folder: str = DEFAULT_ROUTE) -> str:
    """The route of the docs instance reading `folder` (relative to the site), among the
    config's `instances` (`docs_instances`), when one instance reads it; else Docusaurus'
    default, `docs`, said in a warning when the config sets docs routes docloop cannot
    tell apart."""
    reading = [i for i in instances or [] if os.path.normpath(i.path) == folder]
    if instances is not None and len(reading) == 1:
        return reading[0].route
    if instances is None or len(reading) > 1:
        log.warning("%s: cannot tell the docs route from its routeBasePath (set several "
                    "times, or not as a plain string); taking the default route /%s: give "
                    "the docs folder with --mount ROUTE=FOLDER instead", config, DEFAULT_ROUTE)
    return DEFAULT_ROUTE


def site_url(config: Path) -> str | None:
    """`url` joined with `baseUrl` (`https://x.dev/docs-site/`), both options of the config
    object itself, each set once to a plain string (Docusaurus requires both; there is no
    default to fall back on), the URL http(s)."""
    js = read_config(config, "taking Docusaurus' defaults")
    urls, bases = js.properties("url", 1), js.properties("baseUrl", 1)
    if len(urls) != 1 or len(bases) != 1 or urls[0].value is None or bases[0].value is None \
            or not is_web_url(urls[0].value):
        return None
    return site_address(urls[0].value, bases[0].value)
