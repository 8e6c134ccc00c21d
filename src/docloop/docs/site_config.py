"""Which files of an mkdocs docs folder the site publishes, as its `mkdocs.yml` says.

A ticket that sends a writer to a page the site never builds sends them nowhere. mkdocs
leaves out of the built site (facts from mkdocs' own `structure/files.py` and config
options):

* files matching `exclude_docs`, gitignore-style lines relative to the docs folder, on top
  of mkdocs' defaults `.*` and `/templates/`;
* files matching `draft_docs` (served by `mkdocs serve`, never built);
* a `README.md` beside a published `index.md`: both would be the folder's index page, and mkdocs
  keeps `index.md` (only `README` in that case is an index; `readme.md` is a page).

Its `use_directory_urls: false` publishes `foo.md` at `foo.html` instead of `foo/`.

The config file may hold tags only mkdocs resolves: `!ENV` is resolved as mkdocs resolves
it (a `site_url` is often `!ENV [SITE_URL, 'https://…']`); others (`!relative`,
`!!python/name:…`) are read as empty values, since only the pattern options, `docs_dir`,
`site_url` and `use_directory_urls` matter here (site_root.py). `INHERIT` is followed, as
mkdocs follows it. A config that cannot be read at all is logged and read as no options:
the folder is then indexed whole, as before.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import pathspec
import yaml

from docloop.docs.globs import tame_glob
from docloop.docs.mkdocs_i18n import Languages, plugin_languages

if TYPE_CHECKING:
    from docloop.docs.js_config import JsConfig

log = logging.getLogger(__name__)

CONFIG_NAMES = ("mkdocs.yml", "mkdocs.yaml")
#: what mkdocs always leaves out, whatever `exclude_docs` says
DEFAULT_EXCLUDE = (".*", "/templates/")


class _TolerantLoader(yaml.SafeLoader):
    """A safe loader that reads any tag it does not know as an empty value."""


def _unknown_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> None:
    return None


def _env_tag(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """mkdocs' `!ENV VAR` and `!ENV [VAR, OTHER, default]` (pyyaml_env_tag): the first of
    the variables that is set, read as a YAML value, else the list's last item (more than
    one item), else None."""
    if isinstance(node, yaml.ScalarNode):
        names, default = [loader.construct_scalar(node)], None
    elif isinstance(node, yaml.SequenceNode) and node.value:
        items = node.value
        default = loader.construct_object(items[-1]) if len(items) > 1 else None
        names = [loader.construct_object(item) for item in items[:-1] or items]
    else:
        return None
    for name in names:
        if isinstance(name, str) and name in os.environ:  # typed as YAML types it: `false`
            value = os.environ[name]
            tag = loader.resolve(yaml.ScalarNode, value, (True, False))
            return loader.construct_object(yaml.ScalarNode(tag, value))
    return default


_TolerantLoader.add_constructor("!ENV", _env_tag)
_TolerantLoader.add_multi_constructor("!", _unknown_tag)
_TolerantLoader.add_multi_constructor("tag:yaml.org,2002:python/", _unknown_tag)


@dataclass(frozen=True)
class SitePages:
    """The site's rule for which files under the docs folder are published pages."""

    excluded: pathspec.GitIgnoreSpec
    drafts: pathspec.GitIgnoreSpec | None = None
    #: `use_directory_urls`: `foo.md` is published at `foo/` (True, mkdocs' default) or at
    #: `foo.html`
    directory_urls: bool = True
    #: the i18n plugin's languages, when the site uses it (mkdocs_i18n.py)
    languages: Languages | None = None

    def translated(self, rel: str) -> str | None:
        """The language of the file at `rel` when it is a translation, else None."""
        return self.languages.translated(rel) if self.languages else None

    def published(self, rel: str) -> str:
        """The path the site publishes the file at `rel` at (without its language)."""
        return self.languages.published(rel) if self.languages else rel

    def leaves_out(self, rel: str) -> str | None:
        """Why the site does not publish the file at `rel` (a path inside the docs folder),
        or None when it does."""
        if self.excluded.match_file(rel):
            return "exclude_docs"
        if self.drafts is not None and self.drafts.match_file(rel):
            return "draft_docs"
        return None

    def shadowed_readme(self, rel: str, present: set[str]) -> bool:
        """A `README.md` that a published `index.md` in the same folder displaces
        (`present`: every file path under the docs folder); beside an excluded index, the
        README is the folder's page."""
        path = PurePosixPath(rel)
        if path.stem != "README":
            return False
        indexes = (str(path.with_name(f"index{suffix}")) for suffix in (".md", ".markdown"))
        return any(index in present and self.leaves_out(index) is None for index in indexes)

    def unpublished(self, rel: str, present: set[str]) -> bool:
        """A file the site leaves out of the built site (`present`: every file path in the
        docs folder): excluded, a README beside an index, a default-language copy beside
        its page."""
        return self.leaves_out(rel) is not None or self.shadowed_readme(rel, present) \
            or self.shadowed_copy(rel, present)

    def shadowed_copy(self, rel: str, present: set[str]) -> bool:
        """A default-language copy (`foo.en.md`) beside its page (`foo.md`): one page, indexed
        once (the i18n plugin refuses to build both when several languages build)."""
        published = self.published(rel)
        return published != rel and published in present and self.languages is not None \
            and not self.languages.folders


def mkdocs_config(root: Path) -> Path | None:
    """The mkdocs config beside or above the docs folder `root` (where `detect_generator`
    looks), if there is one."""
    return next((folder / name for folder in (root, root.parent) for name in CONFIG_NAMES
                 if (folder / name).is_file()), None)


def mkdocs_pages(root: Path, config: Path | None = None) -> SitePages:
    """The publishing rule of the mkdocs site whose docs folder is `root`, from `config`
    (default: the config beside or above it)."""
    config = config or mkdocs_config(root)
    options = config_options(config) if config else {}
    excluded = pathspec.GitIgnoreSpec.from_lines(
        [*DEFAULT_EXCLUDE, *_pattern_lines(options.get("exclude_docs"))])
    drafts = _pattern_lines(options.get("draft_docs"))
    directory_urls = options.get("use_directory_urls", True) is not False
    return SitePages(excluded, pathspec.GitIgnoreSpec.from_lines(drafts) if drafts else None,
                     directory_urls, plugin_languages(options))


def config_options(config: Path, _inherited: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The options of an mkdocs config, those of the config it names in `INHERIT` (a path
    relative to it) merged under its own as mkdocs merges them (mappings key by key, any
    other value replaced); a config that cannot be read is logged (once per version of the
    file: finding the pages folder and the publishing rule both read it) and read as none."""
    try:
        loaded = yaml.load(config.read_text(encoding="utf-8-sig"), Loader=_TolerantLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        warn_once(config, f"{config}: cannot read it ({' '.join(str(exc).split())}); "
                   "reading it as no options: its docs_dir, site_url, exclude_docs and "
                   "draft_docs are not applied")
        return {}
    options = loaded if isinstance(loaded, dict) else {}
    parent = options.pop("INHERIT", None)
    if not isinstance(parent, str) or len(_inherited) >= MAX_INHERIT:
        return options
    base = Path(os.path.normpath(config.parent / parent))
    if base in _inherited or base == config:
        warn_once(config, f"{config}: INHERIT {parent} comes back to itself; not followed")
        return options
    return _merged(config_options(base, (*_inherited, config)), options)


#: configs followed through INHERIT at most (a chain longer than this is someone's mistake)
MAX_INHERIT = 8


def _merged(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """`child` over `parent`: mappings merged key by key, any other value replaced."""
    merged = dict(parent)
    for key, value in child.items():
        below = merged.get(key)
        merged[key] = _merged(below, value) if isinstance(below, dict) and isinstance(
            value, dict) else value
    return merged


_WARNED: set[tuple[str, int, str]] = set()


def config_globs(config: Path, js: JsConfig, name: str, depth: int,
                 within: tuple[int, int] | None = None, said: str | None = None
                 ) -> tuple[str, ...]:
    """A JS config's exclude option `name` (at `depth`, inside `within`) as its globs: an
    array of plain strings; one written any other way is said once in a warning (as
    `said`, default the option's name) and leaves no page out."""
    globs = js.strings(name, depth, within)
    if globs is None:
        warn_once(config, f"{config}: {said or name} is not an array of plain strings; no "
                  "page is left out for it")
    return tuple(globs or ())


def warn_once(config: Path, message: str) -> None:
    """Log `message` about `config` once per version of the file: `index-docs` reads a
    site's config both to find its pages folder and to read its publishing rule."""
    try:
        version = config.stat().st_mtime_ns
    except OSError:
        version = 0
    if (str(config), version, message) not in _WARNED:
        _WARNED.add((str(config), version, message))
        log.warning("%s", message)


def _pattern_lines(value: object) -> list[str]:
    """The gitignore lines of an option: mkdocs takes a multi-line string; a list of
    strings is read line by line too, anything else as nothing."""
    if isinstance(value, str):
        lines = value.splitlines()
    elif isinstance(value, list):
        lines = [line for item in value if isinstance(item, str) for line in item.splitlines()]
    else:
        return []
    return [line for line in lines if tame_glob(line)]
