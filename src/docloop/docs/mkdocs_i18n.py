"""Translations in an mkdocs site built with the i18n plugin (mkdocs-static-i18n).

The plugin keeps every language's pages in one `docs_dir` (facts from its 1.x source and
README): with `docs_structure: suffix` (the default) a translation sits beside its page as
`foo.fr.md`; with `docs_structure: folder` each language has its folder, `fr/foo.md`. The
default language (the one with `default: true`) is published at the site's root: its
`foo.en.md` or `en/foo.md` at `foo/`, the others under `fr/`. A suffix or top folder counts
as a language when the config names it or it looks like a locale code (`fr`, `pt-BR`,
`zh_CN`), as the plugin guesses unconfigured ones.

docloop matches chat against one language: the default one. Searched as one site, the
translations would answer a problem with a translated copy of the right page (the same
code, the same option names), and link it under a folder the default site does not have.
So the default language's pages are indexed at the URLs the site publishes them at, and
the translations are left out and named (`index-docs` on one language's folder indexes
that language).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

#: the plugin's own test for a locale code
LOCALE = re.compile(r"(^[a-z]{2}(-[A-Za-z]{4})?(-[A-Z]{2})?$)|(^[a-z]{2}_[A-Z]{2}$)")


@dataclass(frozen=True)
class Languages:
    """The site's default language and how its translations are laid out."""

    default: str
    folders: bool  # `docs_structure: folder`; else suffixes
    configured: frozenset[str]

    def language(self, rel: str) -> str:
        """The language of the file at `rel` (a path inside the docs folder)."""
        path = PurePosixPath(rel)
        mark = path.parts[0] if self.folders and len(path.parts) > 1 else \
            None if self.folders else _suffix(path)
        return mark if mark is not None and self._is_locale(mark) else self.default

    def translated(self, rel: str) -> str | None:
        """The language of the file at `rel` when it is a translation, else None."""
        language = self.language(rel)
        return language if language != self.default else None

    def published(self, rel: str) -> str:
        """The path the default language's file at `rel` is published at: without its
        language folder or suffix (`en/foo.md`, `foo.en.md` -> `foo.md`)."""
        path = PurePosixPath(rel)
        if self.folders:
            marked = len(path.parts) > 1 and path.parts[0] == self.default
            return PurePosixPath(*path.parts[1:]).as_posix() if marked else rel
        if _suffix(path) == self.default:
            return path.with_name(PurePosixPath(path.stem).stem + path.suffix).as_posix()
        return rel

    def _is_locale(self, mark: str) -> bool:
        return mark in self.configured or bool(LOCALE.match(mark))


def plugin_languages(options: Mapping[str, object]) -> Languages | None:
    """The i18n plugin's languages from an mkdocs config's options, or None when the
    site does not use the plugin (or names no default language docloop can tell)."""
    settings = _plugin_settings(options.get("plugins"))
    if settings is None:
        return None
    languages = settings.get("languages")
    folders = settings.get("docs_structure") == "folder"
    if isinstance(languages, list):  # 1.x: `- locale: en` items, one `default: true`
        entries = [item for item in languages if isinstance(item, dict)]
        locales = [str(item.get("locale")) for item in entries if item.get("locale")]
        default = next((str(item["locale"]) for item in entries
                        if item.get("default") is True and item.get("locale")), None)
        default = default or (locales[0] if len(locales) == 1 else None)
    elif isinstance(languages, dict):  # 0.x: `default_language: en`, `languages: {fr: …}`
        locales = [str(key) for key in languages]
        value = settings.get("default_language")
        default = str(value) if value else None
    else:
        return None
    if default is None:
        return None
    return Languages(default, folders, frozenset([*locales, default]))


def _plugin_settings(plugins: object) -> dict[str, object] | None:
    """The `i18n` entry of the config's `plugins` (a list of names and one-key mappings,
    or a mapping), as a mapping; None when it is not there."""
    entries = plugins.items() if isinstance(plugins, dict) else [
        next(iter(item.items())) if isinstance(item, dict) and len(item) == 1 else (item, {})
        for item in plugins] if isinstance(plugins, list) else []
    for name, settings in entries:
        if name == "i18n":
            return settings if isinstance(settings, dict) else {}
    return None


def _suffix(path: PurePosixPath) -> str | None:
    """The language suffix of a file name (`foo.fr.md` -> `fr`), if it has one."""
    inner = PurePosixPath(path.stem).suffix
    return inner[1:] if inner else None
