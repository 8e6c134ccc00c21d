"""Hugo sites: where the pages are, where Hugo publishes them, and its shortcodes.

Facts from Hugo's documentation (content organization, URL management, front matter,
shortcodes):

* A Hugo project holds its config at its root: `hugo.toml` (`.yaml`, `.yml`, `.json`), or
  the older `config.toml` (and the same extensions), whose keys include `baseURL`. Its
  pages are in `contentDir` (default `content/`), and the site lives at `baseURL`.
* `foo.md` is published at `foo/` (pretty URLs), a section's `_index.md` and a leaf
  bundle's `index.md` at their folder. Front matter `slug` replaces the file name, `url`
  sets the whole path (from the site root, read here from the indexed folder's URL), and
  `draft: true` keeps a page out of a default build. Front matter may be YAML (`---`) or
  TOML (`+++`, frontmatter.py).
* Shortcodes are template calls in the Markdown: `{{< name args >}}` and `{{% name args %}}`,
  closed by `{{< /name >}}`. The text between an opening and a closing one is the page's
  own and stays; the calls themselves are not text a reader sees, so they are dropped
  (machinery.py; Docsy's `{{% alert title="Note" %}}` keeps its title as a label).

A docs folder inside a Hugo project (`content/`, or `content/en/` of a multilingual site)
is recognised by the config up to three folders above it.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

MAX_CONFIG_BYTES = 1_000_000
ABOVE = 3  # folders above a content folder searched for its project's config
HUGO_NAMES = tuple(f"hugo.{ext}" for ext in ("toml", "yaml", "yml", "json"))
OLD_NAMES = tuple(f"config.{ext}" for ext in ("toml", "yaml", "yml", "json"))
#: a shortcode call: `{{< name ... >}}`, `{{% /name %}}`, `{{</* escaped */>}}` excepted
SHORTCODE = re.compile(r"\{\{([<%])(?!/\*)[ \t]*(/?)[ \t]*([\w./-]+)([^{}]*?)[>%]\}\}")
#: a line that holds only shortcode calls
SHORTCODE_LINE = re.compile(r"^[ \t]*(?:\{\{[<%](?!/\*)[^{}]*[>%]\}\}[ \t]*)+$")
_TITLE = re.compile(r"""\btitle=(?:"([^"]*)"|'([^']*)'|(\S+))""")


def hugo_config(folder: Path) -> Path | None:
    """The Hugo config at the root of the project `folder`, or None."""
    for name in HUGO_NAMES:
        if (folder / name).is_file():
            return folder / name
    for name in OLD_NAMES:
        config = folder / name
        if config.is_file() and any(key.lower() == "baseurl" for key in options(config)):
            return config
    return None


def options(config: Path) -> dict[str, Any]:
    """The config's top-level keys; {} when it cannot be read as a mapping."""
    try:
        if config.stat().st_size > MAX_CONFIG_BYTES:
            return {}
        text = config.read_text(encoding="utf-8")
        if config.suffix == ".toml":
            data = tomllib.loads(text)
        elif config.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def setting(values: dict[str, Any], key: str) -> Any:
    """A config value, its key matched case-insensitively as Hugo does."""
    return next((value for name, value in values.items() if name.lower() == key.lower()), None)


def content_dir(project: Path, config: Path) -> Path:
    """The project's pages folder (`contentDir`, default `content`)."""
    named = setting(options(config), "contentDir")
    return project / (named if isinstance(named, str) and named.strip() else "content")


def base_url(config: Path) -> str | None:
    """The site's `baseURL`, when it is an http(s) URL."""
    value = setting(options(config), "baseURL")
    if isinstance(value, str) and value.strip().lower().startswith(("http://", "https://")):
        return value.strip()
    return None


def project_above(folder: Path) -> tuple[Path, Path] | None:
    """(project, config) of the Hugo project whose content holds `folder`: `folder` itself
    or up to `ABOVE` folders up."""
    folder = folder.resolve()
    for project in [folder, *folder.parents][: ABOVE + 1]:
        config = hugo_config(project)
        if config is not None and folder.is_relative_to(content_dir(project, config).resolve()):
            return project, config
    return None


def shortcode_label(line: str) -> str | None:
    """The title an opening shortcode gives its block (`{{% alert title="Warning" %}}`)."""
    found = SHORTCODE.search(line)
    if found is None or found.group(2):
        return None
    title = _TITLE.search(found.group(4))
    return next((g for g in title.groups() if g), None) if title else None


def without_shortcodes(line: str) -> str:
    """The line without its shortcode calls (their inner text is on other lines, or is
    the text between an opening and a closing call on this one, which stays)."""
    return SHORTCODE.sub("", line)
