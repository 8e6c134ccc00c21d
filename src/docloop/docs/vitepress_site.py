"""What a VitePress config says about its pages: where they are and their URLs.

VitePress publishes `guide/foo.md` at `guide/foo.html` unless the config sets
`cleanUrls: true` (then `guide/foo`); a folder's `index.md` is the folder either way (facts
from VitePress' site config reference). The config is JavaScript or TypeScript
(`.vitepress/config.*` or `.vitepress/config/index.*` in the pages folder or above it,
where `detect_generator` looks), which docloop does not run: it reads options only when
written as literals (js_config.py). Without a config (a copied docs folder) pages keep
clean URLs, which hosts also serve for `.html` files.

The site's address is its sitemap's `hostname` (`sitemap: { hostname: 'https://vite.dev' }`)
joined with `base`, when each is a plain string set once; it links the tickets when
`--base-url` is not given.

Which files are pages (VitePress' routing guide and site config reference): every `.md`
under the source folder, `srcDir` relative to the project (the folder holding
`.vitepress/`; default the project itself), except `node_modules/`, `dist/` and the
`srcExclude` globs, which are relative to the source folder (`**/README.md` leaves out
every README, the top one too). `rewrites` publish pages at other paths than their files'
(vitepress_rewrites.py); translations, the folders of the `locales` other than `root`, are
left out.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import pathspec

from docloop.docs.globs import glob_spec
from docloop.docs.js_config import JsConfig, read_config, site_address
from docloop.docs.site_config import config_globs, warn_once
from docloop.docs.vitepress_rewrites import Rule, publish, read_rewrites
from docloop.markdown_safe import is_web_url

log = logging.getLogger(__name__)

#: where VitePress looks for its config inside `.vitepress/`, in its order
CONFIG_NAMES = tuple(name for ext in ("js", "ts", "mjs", "mts")
                     for name in (f"config/index.{ext}", f"config.{ext}"))
#: what VitePress never reads as pages, whatever `srcExclude` says
ALWAYS_EXCLUDED = ("**/node_modules/**", "**/dist/**")
#: what a config that cannot be read leaves the pages with
UNREADABLE = "linking pages without .html and without the site's address"
#: a key of an object literal, `zh:` or `'pt-BR':`, read from the text (the scanned code
#: blanks strings); its colon must be code, not a comment's
_LOCALE_KEY = re.compile(r"""(?:^|[{,])\s*+(['"]?)([A-Za-z][\w-]*+)\1\s*+:""", re.M)
_CLEAN_URLS = re.compile(r"\bcleanUrls\s*:\s*(true|false)\b")


@dataclass(frozen=True)
class Sources:
    """A VitePress site's pages folder, and the rule for which files in it are not pages
    (`inside`: where the folder sits in the source folder, "" or `guide/`)."""

    folder: Path
    excluded: pathspec.GitIgnoreSpec
    inside: str = ""
    #: the folders of the site's other locales (`zh`, `fr`): translations of its pages
    translations: frozenset[str] = frozenset()
    #: the config's `rewrites` (vitepress_rewrites.py), for the source folder itself
    rewrites: tuple[Rule, ...] = ()
    #: pages are published as `foo.html`: the config does not set `cleanUrls: true`
    html: bool = False

    def leaves_out(self, rel: str) -> bool:
        """Whether the file at `rel` (a path inside `folder`) is not one of the pages."""
        return self.excluded.match_file(self.inside + rel)

    def unpublished(self, rel: str, present: set[str]) -> bool:
        """The loader's question to every generator's rule (site_config.SitePages)."""
        return self.leaves_out(rel)

    def published(self, rel: str) -> str:
        """The path the site publishes the file at `rel` at: its path in the source
        folder, moved by the `rewrites`."""
        return publish(self.rewrites, self.inside + rel)

    def translated(self, rel: str) -> str | None:
        """The locale of the file at `rel` when it is not the root one (told by where it is
        published, as VitePress tells it), else None."""
        locale = self.published(rel).split("/", 1)[0]
        return locale if locale in self.translations else None


def vitepress_config(project: Path) -> Path | None:
    """The config of the VitePress project whose root (holding `.vitepress/`) is `project`."""
    return next((project / ".vitepress" / n for n in CONFIG_NAMES
                 if (project / ".vitepress" / n).is_file()), None)


def project_sources(project: Path) -> Sources:
    """The pages of the VitePress project at `project`: its `srcDir` when the config sets
    it to a plain string naming a folder (else the project itself, said in a warning), less
    `srcExclude` when the config sets it to an array of plain strings."""
    config = vitepress_config(project)
    if config is None:
        return Sources(project, _spec(()))
    js = read_config(config, UNREADABLE)
    rules, unread = read_rewrites(js)
    if unread:
        warn_once(config, f"{config}: some of its rewrites cannot be read (a function, a "
                  "value that is not a plain string, or a pattern beyond :name and (.*)); "
                  "the pages they move are linked by their file paths")
    excluded = _spec(config_globs(config, js, "srcExclude", 1))
    return Sources(_source_folder(project, config, js), excluded,
                   translations=_translations(config, js), rewrites=tuple(rules),
                   html=_html_pages(js))


def pages_sources(root: Path, config: Path | None = None) -> Sources:
    """The `Sources` of the VitePress site whose pages folder is `root` (`config`: its
    config, default the one in `root` or above it). `srcExclude` applies to the project's
    source folder and the folders inside it."""
    config = config or _config(root)
    if config is None:
        return Sources(root, _spec(()))
    sources = project_sources(_project(config))
    inside = os.path.relpath(root, sources.folder).replace(os.sep, "/")
    if inside == ".":
        return replace(sources, folder=root)
    if inside == ".." or inside.startswith("../"):
        return Sources(root, _spec(()))
    # a folder inside the source folder given itself (a translation's) is indexed whole,
    # its pages linked where the site publishes them (`zh/guide/…`)
    return replace(sources, folder=root, inside=f"{inside}/", translations=frozenset())


def _html_pages(js: JsConfig) -> bool:
    """Whether the site publishes its pages as `.html` files: its config does not set
    `cleanUrls: true` (a comment saying so is no setting)."""
    return {match.group(1) for match in _CLEAN_URLS.finditer(js.code)} != {"true"}


def site_url(root: Path, config: Path | None = None) -> str | None:
    """The site's address: the `hostname` of its `sitemap: {…}` joined with the config's
    own `base` (default `/`), each set once to a plain string (js_config.py), the hostname
    an http(s) URL. A `base` written any other way, or a sidebar item's `base` (another
    option), gives no address rather than a wrong one."""
    config = config or _config(root)
    if config is None:
        return None
    js = read_config(config, UNREADABLE)
    sitemaps = js.properties("sitemap", 1)
    sitemap = js.value_object(sitemaps[0]) if len(sitemaps) == 1 else None
    hosts = js.properties("hostname", sitemap[2], sitemap[:2]) if sitemap else []
    bases = js.properties("base", 1)
    if len(hosts) != 1 or hosts[0].value is None or not is_web_url(hosts[0].value) \
            or len(bases) > 1 or (bases and bases[0].value is None):
        return None
    return site_address(hosts[0].value, (bases[0].value or "") if bases else "")


def _source_folder(project: Path, config: Path, js: JsConfig) -> Path:
    """`srcDir`, when set once to a plain string naming a folder; else `project`."""
    found = js.properties("srcDir", 1)
    if not found:
        return project
    value = found[0].value if len(found) == 1 else None
    folder = Path(os.path.normpath(project / value)) if value is not None else None
    if folder is None or not folder.is_dir():
        what = f"srcDir {value!r} is not a folder" if value is not None else \
            "srcDir is not a plain string set once"
        warn_once(config, f"{config}: {what}; reading the pages from {project}")
        return project
    return folder


def _translations(config: Path, js: JsConfig) -> frozenset[str]:
    """The folder of every locale but `root` in the config's `locales: {…}` (VitePress'
    i18n guide: `fr: {…}` serves `fr/`). Chat is searched against one language's pages,
    the root locale's; translations matched like pages would send a writer to a
    translated copy. A `locales` written any other way is said in a warning."""
    found = js.properties("locales", 1)  # the config's own: a search provider's is deeper
    if not found:
        return frozenset()
    span = js.value_object(found[0]) if len(found) == 1 else None
    if span is None:
        warn_once(config, f"{config}: its locales cannot be read; translations are indexed "
                  "as pages of the site")
        return frozenset()
    start, end, depth = span
    keys = {match.group(2) for match in _LOCALE_KEY.finditer(js.text, start, end)
            if js.code[match.end() - 1] == ":" and js.depth[match.end() - 1] == depth}
    return frozenset(keys - {"root"})


def _spec(globs: tuple[str, ...] | list[str]) -> pathspec.GitIgnoreSpec:
    """What VitePress never reads as pages, and the config's `srcExclude` globs."""
    return glob_spec((*ALWAYS_EXCLUDED, *globs))


def _project(config: Path) -> Path:
    """The project folder of a config (`.vitepress/config.ts` or `.vitepress/config/index.ts`)."""
    vitepress = config.parent if config.parent.name == ".vitepress" else config.parent.parent
    return vitepress.parent


def _config(root: Path) -> Path | None:
    return next((config for folder in (root, root.parent)
                 if (config := vitepress_config(folder)) is not None), None)
