"""Which files of an mkdocs docs folder the site publishes, as its `mkdocs.yml` says.

A ticket that sends a writer to a page the site never builds sends them nowhere. mkdocs
leaves out of the built site (facts from mkdocs' own `structure/files.py` and config
options):

* files matching `exclude_docs`, gitignore-style lines relative to the docs folder, on top
  of mkdocs' defaults `.*` and `/templates/`;
* files matching `draft_docs` (served by `mkdocs serve`, never built);
* a `README.md` beside a published `index.md`: both would be the folder's index page, and mkdocs
  keeps `index.md` (only `README` in that case is an index; `readme.md` is a page).

The config file may hold tags only mkdocs resolves (`!ENV`, `!relative`,
`!!python/name:…`); they are read as empty values, since only the two pattern options
matter here. A config that cannot be read at all is logged and ignored: the folder is then
indexed whole, as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pathspec
import yaml

log = logging.getLogger(__name__)

CONFIG_NAMES = ("mkdocs.yml", "mkdocs.yaml")
#: what mkdocs always leaves out, whatever `exclude_docs` says
DEFAULT_EXCLUDE = (".*", "/templates/")


class _TolerantLoader(yaml.SafeLoader):
    """A safe loader that reads any tag it does not know as an empty value."""


def _unknown_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> None:
    return None


_TolerantLoader.add_multi_constructor("!", _unknown_tag)
_TolerantLoader.add_multi_constructor("tag:yaml.org,2002:python/", _unknown_tag)


@dataclass(frozen=True)
class SitePages:
    """The site's rule for which files under the docs folder are published pages."""

    excluded: pathspec.GitIgnoreSpec
    drafts: pathspec.GitIgnoreSpec | None = None

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


def mkdocs_pages(root: Path) -> SitePages:
    """The publishing rule of the mkdocs site whose docs folder is `root`, from the config
    beside or above it (where `detect_generator` looks)."""
    config = next((folder / name for folder in (root, root.parent) for name in CONFIG_NAMES
                   if (folder / name).is_file()), None)
    options = _options(config) if config else {}
    excluded = pathspec.GitIgnoreSpec.from_lines(
        [*DEFAULT_EXCLUDE, *_pattern_lines(options.get("exclude_docs"))])
    drafts = _pattern_lines(options.get("draft_docs"))
    return SitePages(excluded, pathspec.GitIgnoreSpec.from_lines(drafts) if drafts else None)





def _options(config: Path) -> dict[str, Any]:
    try:
        loaded = yaml.load(config.read_text(encoding="utf-8-sig"), Loader=_TolerantLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        log.warning("%s: cannot read it (%s); indexing every page of the folder, "
                    "exclude_docs and draft_docs not applied", config,
                    " ".join(str(exc).split()))
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _pattern_lines(value: object) -> list[str]:
    """The gitignore lines of an option: mkdocs takes a multi-line string; a list of
    strings is read line by line too, anything else as nothing."""
    if isinstance(value, str):
        return value.splitlines()
    if isinstance(value, list):
        return [line for item in value if isinstance(item, str) for line in item.splitlines()]
    return []
