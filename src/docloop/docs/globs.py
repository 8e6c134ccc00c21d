"""Globs a JavaScript site config writes (VitePress' `srcExclude`, a Docusaurus docs
instance's `exclude`), matched as the config's glob library matches them.

Both generators match their globs against a page's path inside its folder, picomatch-style:
`*.md` is a top-level file only, `**/README.md` every README (the top one too), `{md,mdx}`
alternatives. docloop reads each glob as an anchored gitignore line (`/*.md`), which pathspec
matches the same way, with `{a,b}` spelled out first. A negated glob (`!x`) is not read, and
a glob costly to match (`tame_glob`; mkdocs' `exclude_docs` lines too) is dropped, said in a
warning.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import pathspec

log = logging.getLogger(__name__)

#: globs one `{a,b}` glob spells out to at most
MAX_SPELLED = 64
#: wildcards one exclude pattern may hold: the regular expression a pattern becomes
#: backtracks over a file name once per wildcard (`a*a*a*…b` against `aaaa…` takes minutes)
MAX_WILDCARDS = 8
_BRACE = re.compile(r"\{([^{},]*,[^{}]*)\}")


def glob_spec(globs: Iterable[str]) -> pathspec.GitIgnoreSpec:
    """The globs as one matcher of paths inside their folder (`match_file`)."""
    lines = [f"/{line.removeprefix('./').lstrip('/')}" for glob in globs
             if not glob.startswith("!") and tame_glob(glob) for line in spelled_out(glob)]
    return pathspec.GitIgnoreSpec.from_lines(lines)


def tame_glob(pattern: str) -> bool:
    """Whether an exclude pattern is cheap to match; one that is not is said and dropped."""
    if pattern.count("*") - 2 * pattern.count("**") <= MAX_WILDCARDS:
        return True
    log.warning("exclude pattern %r has more than %d wildcards; not applied", pattern[:80],
                MAX_WILDCARDS)
    return False


def spelled_out(glob: str) -> list[str]:
    """`{md,mdx}` alternatives spelled out (`{md}`, without a comma, is literal, as in
    picomatch); a glob that would spell out to more than MAX_SPELLED globs (a config's
    mistake, or a hostile one) is left out, said in a warning."""
    spelled = [glob]
    while (found := _BRACE.search(spelled[0])) is not None:
        choices = found.group(1).split(",")
        if len(spelled) * len(choices) > MAX_SPELLED:
            log.warning("glob %r spells out to more than %d globs; not applied", glob[:80],
                        MAX_SPELLED)
            return []
        spelled = [g[:m.start()] + choice + g[m.end():] for g in spelled
                   if (m := _BRACE.search(g)) is not None for choice in choices]
    return spelled
