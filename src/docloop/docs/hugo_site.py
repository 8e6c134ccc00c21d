"""Hugo sites: where the pages are, where Hugo publishes them, and its shortcodes.

Facts from Hugo's documentation (content organization, URL management, front matter,
shortcodes):

* A Hugo project holds its config at its root or in `config/_default/`: `hugo.toml`
  (`.yaml`, `.yml`, `.json`), or the older `config.toml` (`.yaml`, `.yml`), whose keys
  include `baseURL` (Zola's `config.toml` says `base_url`; `config.json` is too common a
  name to go by). Its pages are in `contentDir` (default `content/`; one outside the
  project is not followed), and the site lives at `baseURL`.
* `foo.md` is published at `foo/` (pretty URLs; the path lower-cased, spaces as `-`), a
  section's `_index.md` and a leaf bundle's `index.md` at their folder; a leaf bundle's
  other files are its resources, not pages. Front matter `slug` replaces the file name (a
  bundle's, its folder's name), `url` sets the whole path (from the site root, read here
  from the indexed folder's URL); `draft: true`, `headless: true` and `build: {render:
  never}` keep a page out of a default build. Front matter may be YAML (`---`) or TOML
  (`+++`, frontmatter.py).
* Shortcodes are template calls in the Markdown: `{{< name args >}}` and `{{% name args %}}`,
  closed by `{{< /name >}}`. The text between an opening and a closing one is the page's
  own and stays; the calls themselves are not text a reader sees, so they are dropped
  (machinery.py). An aside's call (Docsy's `{{% alert title="Note" %}}`, `note`, `warning`
  …) labels its block as an admonition does, and the body of a `highlight` call alone on
  its line is code up to its own closing call (Hugo refuses a page that never closes it).
* Not read: `permalinks`, `uglyURLs`, `disablePathToLower`, `autoHeadingIDType` other than
  the default, translations by file name (`foo.fr.md`), a call spread over several lines.

A docs folder inside a Hugo project (`content/`, or `content/en/` of a multilingual site)
is recognised by the config up to three folders above it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from docloop.docs.config_files import read_mapping

ABOVE = 3  # folders above a content folder searched for its project's config
HUGO_NAMES = tuple(f"hugo.{ext}" for ext in ("toml", "yaml", "yml", "json"))
#: the older names, Hugo's only when they set `baseURL` (`config.json` is too common a name)
OLD_NAMES = tuple(f"config.{ext}" for ext in ("toml", "yaml", "yml"))
#: a shortcode call: `{{< name ... >}}`, `{{% /name %}}`, `{{</* escaped */>}}` excepted;
#: possessive runs, so a long line that never closes a call costs linear time
SHORTCODE = re.compile(r"\{\{([<%])(?!/\*)[ \t]*+(/?+)[ \t]*+([\w./-]++)([^{}]*?)[>%]\}\}")
#: a line that holds only shortcode calls
SHORTCODE_LINE = re.compile(
    r"^[ \t]*+(?:\{\{[<%](?!/\*)(?:[^{}>%]|[>%](?!\}\}))*+[>%]\}\}[ \t]*+)++$")
_TITLE = re.compile(r"""\btitle=(?:"([^"]*)"|'([^']*)'|(\S+))""")
#: shortcodes that set a block of prose apart, labelled as admonitions are (Docsy's
#: `alert`, the common themes' `callout`, `notice`, `hint` …)
ASIDES = frozenset({"alert", "callout", "note", "notice", "tip", "warning", "caution",
                    "danger", "info", "important", "hint", "admonition"})
#: the fence a `highlight` body is read in: longer than any fence the body may show
CODE_FENCE = "`" * 16


def hugo_config(folder: Path) -> Path | None:
    """The Hugo config at the root of the project `folder` (or in its `config/_default/`
    folder, the split layout), or None."""
    for place in (folder, folder / "config" / "_default"):
        for name in HUGO_NAMES:
            if (place / name).is_file():
                return place / name
    for place in (folder, folder / "config" / "_default"):
        for name in OLD_NAMES:
            config = place / name
            if config.is_file() and setting(options(config), "baseURL") is not None:
                return config
    return None


def options(config: Path) -> dict[str, Any]:
    """The config's top-level keys; {} when it cannot be read as a mapping."""
    return read_mapping(config)


def setting(values: dict[str, Any], key: str) -> Any:
    """A config value, its key matched case-insensitively as Hugo does."""
    return next((value for name, value in values.items() if name.lower() == key.lower()), None)


def content_dir(project: Path, config: Path) -> Path | None:
    """The project's pages folder (`contentDir`, default `content`); None when it is not
    inside the project (`/`, `../x`, or a link out of it), which is not followed."""
    named = setting(options(config), "contentDir")
    content = project / (named.strip() if isinstance(named, str) and named.strip()
                         else "content")
    return content if content.resolve().is_relative_to(project.resolve()) else None


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
        content = content_dir(project, config) if config is not None else None
        if config is not None and content is not None and \
                folder.is_relative_to(content.resolve()):
            return project, config
    return None


@dataclass(frozen=True)
class HugoSite:
    """Which files of a Hugo content folder are pages (the loader's `rule`)."""

    def translated(self, rel: str) -> str | None:
        """Languages are folders a run is given one of (README); none is left out here."""
        return None

    def unpublished(self, rel: str, present: set[str]) -> bool:
        """A leaf bundle's resource: a file below a folder (under the content folder) that
        has an `index.md`, whose page the bundle is; the `index.md` itself is the page."""
        folders = [str(f) for f in PurePosixPath(rel).parents if str(f) != "."]
        return any(index in present and index != rel
                   for f in folders for index in (f"{f}/index.md", f"{f}/index.markdown"))

    def published(self, rel: str) -> str:
        return rel

    @staticmethod
    def rendered(front: dict[str, Any]) -> bool:
        """False for a page Hugo writes no page for: a headless bundle's (`headless: true`),
        or `build: {render: never}` or `link` (`_build`, and `render: false`, in older front
        matter). Keys as `hugo_front` gives them (lower case)."""
        if front.get("headless") is True:
            return False
        build = front.get("build") or front.get("_build")
        render = build.get("render") if isinstance(build, dict) else None
        return render not in ("never", "link", False)


def hugo_front(front: dict[str, Any]) -> dict[str, Any]:
    """Front matter with its keys in lower case, as Hugo reads them (`Draft`, `Slug`)."""
    return {str(key).lower(): value for key, value in front.items()}


def hugo_path(segment: str) -> str:
    """A path segment as Hugo publishes it by default: lower case, spaces as `-`."""
    return "-".join(segment.lower().split(" "))


def opening(line: str) -> re.Match[str] | None:
    """The first shortcode call on the line when it opens a block (not a closing call)."""
    found = SHORTCODE.search(line)
    return found if found is not None and not found.group(2) else None


def aside(line: str) -> tuple[str, str | None] | None:
    """(name, title) of an aside's opening call (`{{% alert title="Warning" %}}`, whose
    block is labelled as an admonition's); None for any other call."""
    found = opening(line)
    if found is None or found.group(3).lower() not in ASIDES:
        return None
    title = _TITLE.search(found.group(4))
    return found.group(3), next((g for g in title.groups() if g), None) if title else None


def code_opening(line: str) -> str | None:
    """The language of a `highlight` call that opens a body as the last call of a line of
    calls (`{{< highlight go >}}`, `{{< tab "sh" >}}{{< highlight bash >}}` -> "go",
    "bash"), else None (self-closed, closing, or not highlight)."""
    calls = list(SHORTCODE.finditer(line))
    last = calls[-1] if calls else None
    if last is None or last.group(2) or last.group(3).lower() != "highlight" \
            or last.group(4).rstrip().endswith("/"):
        return None
    words = last.group(4).split()
    language = words[0].strip("\"'") if words and "=" not in words[0] else ""
    return language if "`" not in language else ""


def closes(line: str, name: str) -> bool:
    """Whether the line holds the closing call of shortcode `name` (`{{< /highlight >}}`),
    alone or beside other calls or text (`{{< /highlight >}}{{< /tab >}}`)."""
    return any(found.group(2) and found.group(3).lower() == name
               for found in SHORTCODE.finditer(line))


def without_shortcodes(line: str) -> str:
    """The line without its shortcode calls (their inner text is on other lines, or is
    the text between an opening and a closing call on this one, which stays)."""
    return SHORTCODE.sub("", line)
