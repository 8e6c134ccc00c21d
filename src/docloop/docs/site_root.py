"""Where a site's pages are when `index-docs` is given the site's project folder.

Users point `index-docs` at the folder they know, often the project: the folder that holds
`mkdocs.yml` or `docusaurus.config.js`, or the repository root. Indexing that folder whole
reads its README, its tests' and packages' Markdown and `node_modules`, and gives every
page a path and URL that start with `docs/`, which the site does not publish. So a project
folder is read as its generator reads it (facts from each generator's documentation):

* mkdocs: the pages are in `docs_dir`, relative to the config file's folder (default
  `docs`), and the site lives at `site_url`. With no `--base-url`, `site_url` links the
  tickets (a versioned site, such as one deployed with mike, adds a version to the path;
  give `--base-url` for that).
* VitePress: the project is the folder holding `.vitepress/`, the given one or its `docs/`
  (the `vitepress dev docs` layout); its pages are in its `srcDir` (default: the project
  itself), less `srcExclude`; its sitemap `hostname` and `base` link the tickets when
  `--base-url` is not given (vitepress_site.py).
* Docusaurus: the docs plugin reads `docs/` beside `docusaurus.config.*` and publishes it
  under its route base path, `docs` unless the config sets `routeBasePath` to a string
  (docusaurus_site.py). The pages keep `docs/` (or that route) in their paths, as their
  URLs do; the blog, `src/pages` and README are not indexed. Every other docs instance
  whose folder is inside the project is indexed too, under its own route. The config's `url` and
  `baseUrl` link the tickets when `--base-url` is not given, also when `docs/` itself is
  given.

* Hugo: the pages are in `contentDir` beside the config (`hugo.toml`, or a `config.*` with
  a `baseURL`; default `content/`), and the site lives at `baseURL`, which also links the
  tickets when the content folder (or a folder in it) is given (hugo_site.py).

A folder that is not a project is indexed as it is. So is a docs folder copied with its
`mkdocs.yml` inside it: its `docs_dir` does not exist, or is a section of it (the config's
nav names the folder's pages, or the folder has pages of its own beside the config), and a
`docs_dir` outside the folder (`/`, `../x`) is not followed; one linked from elsewhere is.
A folder that holds several mkdocs sites one or two levels down (a site per language) is
refused, naming them, unless the user names the generator; a single one is named in a
warning.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from docloop.docs.docusaurus_site import (
    DEFAULT_INSTANCE,
    DocsInstance,
    docs_instances,
    docusaurus_config,
    route_base_path,
)
from docloop.docs.docusaurus_site import site_url as docusaurus_url
from docloop.docs.hugo_site import base_url as hugo_base_url
from docloop.docs.hugo_site import content_dir, hugo_config, hugo_path, project_above
from docloop.docs.includes import git_root
from docloop.docs.loader import holds_no_pages
from docloop.docs.site_config import CONFIG_NAMES, config_options, mkdocs_config
from docloop.docs.vitepress_site import project_sources, vitepress_config
from docloop.docs.vitepress_site import site_url as vitepress_url
from docloop.errors import InputError
from docloop.markdown_safe import is_web_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SiteFolder:
    """The folder to read pages from, the route its pages are published under (a path
    and URL prefix, "" for none), and the site's own URL when its config names one."""

    pages: Path
    route: str = ""
    site_url: str | None = None
    generator: str | None = None  # known from the project's config; None: detect it
    #: the mkdocs or VitePress config, which may sit above `pages.parent`
    config: Path | None = None
    #: further folders of the same site, each under its route (Docusaurus docs instances)
    mounts: tuple[tuple[str, Path], ...] = ()
    #: globs of files the site does not publish, by folder (a docs instance's `exclude`)
    excluded: tuple[tuple[Path, tuple[str, ...]], ...] = ()

    def excluded_in(self, folder: Path) -> tuple[str, ...]:
        """The globs of files in `folder` (the pages folder or a mount) the site leaves out."""
        return next((globs for where, globs in self.excluded if where == folder), ())


def site_folder(folder: Path, generator: str | None = None,
                mounted: Collection[str] = ()) -> SiteFolder:
    """The pages folder of the project at `folder`, or `folder` itself (module docstring);
    a `generator` the user gave says the folder is one site even when sites are nested in
    it. `mounted` are the routes the caller mounts itself (`--mount`, or remembered): a
    docs instance there that cannot be read needs no warning to mount it."""
    folder = Path(os.path.abspath(folder))  # `.` has no name and no parent to look at
    for name in CONFIG_NAMES:
        if (folder / name).is_file():
            return _mkdocs_project(folder, folder / name)
    project = next((f for f in (folder, folder / "docs") if (f / ".vitepress").is_dir()), None)
    if project is not None:
        return _vitepress_project(folder, project)
    config = docusaurus_config(folder)
    site = _docusaurus_project(folder, config, mounted) if config is not None else None
    if site is not None:
        return site
    hugo = hugo_config(folder)
    content = content_dir(folder, hugo) if hugo is not None else None
    if hugo is not None and content is not None and content.is_dir():
        return SiteFolder(content, site_url=hugo_base_url(hugo), generator="hugo")
    if hugo is not None and content is None:
        log.warning("%s: its contentDir is outside the project, which is not followed; "
                    "indexing %s as it is", hugo, folder)
    if generator is None:
        _refuse_several_sites(folder)
    return SiteFolder(folder, site_url=_site_url(mkdocs_config(folder)) or _docs_url(folder)
                      or vitepress_url(folder) or _hugo_url(folder))


def _vitepress_project(folder: Path, project: Path) -> SiteFolder:
    """The source folder (`srcDir`) of the VitePress project at `project` (`folder` or its
    `docs/`), when it stays inside `folder`; else `project`, said in a warning."""
    sources = project_sources(project)
    config = vitepress_config(project)
    pages = sources.folder
    if not _within(os.path.relpath(pages, folder)):
        log.warning("%s: its pages folder (srcDir) %s is outside %s; indexing %s as it is "
                    "(give the pages folder itself to index it)", config, pages, folder,
                    project)
        pages = project
    if pages != folder:
        log.info("%s: a VitePress project; indexing its pages folder %s", folder, pages)
    return SiteFolder(pages, site_url=vitepress_url(pages, config), generator="vitepress",
                      config=config)


def _docusaurus_project(folder: Path, config: Path,
                        mounted: Collection[str] = ()) -> SiteFolder | None:
    """The docs of the Docusaurus project at `folder`: the instance reading `docs/` (else
    the first one the config sets up) as the pages folder, the others as mounts, each under
    its route (a `community/` folder served under `/community`). None when no instance's
    folder can be read: the folder is then indexed as it is. A folder reached through a
    link is read, as Docusaurus reads it."""
    instances = docs_instances(config)
    reach = git_root(folder) or folder  # how far the config may send docloop for pages
    readable: list[tuple[DocsInstance, Path]] = []
    for instance in instances if instances is not None else [DEFAULT_INSTANCE]:
        pages = _instance_folder(config, folder, reach, instance, mounted)
        if pages is not None and any(pages == p for _, p in readable):
            log.warning("%s: two docs instances read %s; indexing it once", config, pages)
        elif pages is not None:
            readable.append((instance, pages))
    if not readable:
        skipped = [i.route for i in instances or () if i.route in mounted]
        if skipped:
            log.warning("%s: no docs instance of it is read here (/%s mounted or left out "
                        "by this run); indexing %s as it is", config, ", /".join(skipped),
                        folder)
        return None
    main, pages = next(((i, p) for i, p in readable if os.path.normpath(i.path) == "docs"),
                       readable[0])
    route = route_base_path(config, instances, os.path.normpath(main.path))
    log.info("%s: a Docusaurus project; indexing its docs folder %s, published under /%s",
             folder, pages, route)
    mounts = tuple((i.route, p) for i, p in readable if i is not main)
    for instance_route, instance_pages in mounts:
        log.info("%s: also indexing its docs instance %s, published under /%s", config,
                 instance_pages, instance_route)
    return SiteFolder(pages, route, docusaurus_url(config), "docusaurus", mounts=mounts,
                      excluded=tuple((p, i.exclude) for i, p in readable if i.exclude))


def _instance_folder(config: Path, folder: Path, reach: Path,
                     instance: DocsInstance, mounted: Collection[str] = ()) -> Path | None:
    """The folder a docs instance reads: its `path`, relative to the project. One outside
    the project is read when it stays in the project's repository (a monorepo's website
    reading `../../docs`, typescript-eslint's rules at `../eslint-plugin/docs/rules`); one
    that does not, is missing, or is the project itself is named, for --mount."""
    inside = os.path.normpath(instance.path)
    pages = Path(os.path.normpath(folder / inside))
    if inside != "." and _within(os.path.relpath(pages, reach)) and _is_folder(pages):
        return pages
    if instance.route in mounted:
        return None  # the caller mounts this route's folder itself
    log.warning("%s: docs instance %s (route /%s) is not a folder inside %s%s; give it with "
                "--mount %s=FOLDER", config, instance.path, instance.route, folder,
                "" if reach == folder else f" or its repository {reach}",
                instance.route or "ROUTE")
    return None


def _is_folder(path: Path) -> bool:
    """Whether `path` is a folder; a name too long or a folder not readable is none."""
    try:
        return path.is_dir()
    except OSError:
        return False


def _docs_url(folder: Path) -> str | None:
    """The URL of a Docusaurus site's `docs/` folder, given itself: its site URL and route."""
    config = docusaurus_config(folder.parent) if folder.name == "docs" else None
    url = docusaurus_url(config) if config is not None else None
    if config is None or url is None:
        return None
    route = route_base_path(config, docs_instances(config))
    return f"{url}{route}/" if route else url


def _hugo_url(folder: Path) -> str | None:
    """The URL of a Hugo project's content folder, given itself (or a folder inside it):
    the site's `baseURL` and the folder's path inside the content folder."""
    found = project_above(folder)
    url = hugo_base_url(found[1]) if found is not None else None
    content = content_dir(*found) if found is not None else None
    if url is None or content is None:
        return None
    inside = folder.resolve().relative_to(content.resolve())
    return url.rstrip("/") + "/" + "".join(f"{hugo_path(part)}/" for part in inside.parts)


def _refuse_several_sites(folder: Path) -> None:
    """An InputError when `folder` is no site but holds several mkdocs sites, one or two
    folders down (FastAPI's `docs/` at 0.112 held one per language, each with its own
    `mkdocs.yml` and `docs/`, and its repository root held them as `docs/<language>`):
    indexed as one, every language's pages would be searched together under URLs no site
    serves. One such site is only named, in a warning: the folder may be plain Markdown
    beside an example."""
    if mkdocs_config(folder) is not None or _other_site(folder):
        return
    sites = [site.relative_to(folder).as_posix() for site in _nested_sites(folder)]
    if len(sites) > 1:
        example = next((s for s in sites if PurePosixPath(s).name == "en"), sites[0])
        listed = ", ".join(sites[:12]) + (", …" if len(sites) > 12 else "")
        raise InputError(f"{folder} holds {len(sites)} mkdocs sites ({listed}): index one of "
                         f"them, such as docloop index-docs {folder / example} (or give "
                         "--generator to index the folder as one site anyway)")
    if sites:
        log.warning("%s holds an mkdocs site in %s/ but is not one itself: indexing it as "
                    "it is; give %s to index that site", folder, sites[0], folder / sites[0])


def _other_site(folder: Path) -> bool:
    """Whether `folder` is a VitePress or Docusaurus site's pages (their markers in it or
    its parent, as `detect_generator` reads them): mkdocs projects inside are examples."""
    return any((f / ".vitepress").is_dir() or docusaurus_config(f) is not None
               or (f / "sidebars.js").is_file() or (f / "sidebars.ts").is_file()
               for f in (folder, folder.parent))


def _nested_sites(folder: Path) -> list[Path]:
    """Folders one or two levels below `folder` that hold an mkdocs config (hidden,
    `_`-prefixed and `node_modules` folders not entered), sorted."""
    found: list[Path] = []
    level = [folder]
    for _ in range(2):
        level = sorted(child for parent in level for child in _subfolders(parent))
        found.extend(child for child in level if any((child / n).is_file()
                                                     for n in CONFIG_NAMES))
    return sorted(found)


def _subfolders(folder: Path) -> list[Path]:
    try:
        return [child for child in folder.iterdir() if child.is_dir()
                and not holds_no_pages(child.name)]
    except OSError:
        return []


def _within(path: str) -> bool:
    """Whether a normalised relative path a config names stays inside its folder (not
    `/`, not `../x`)."""
    return not os.path.isabs(path) and path != ".." and not path.startswith(("../", "..\\"))


def _mkdocs_project(folder: Path, config: Path) -> SiteFolder:
    """The `docs_dir` of the mkdocs config in `folder`, when it exists; else `folder`."""
    options = config_options(config)
    docs_dir = options.get("docs_dir")
    name = docs_dir if isinstance(docs_dir, str) and docs_dir.strip() else "docs"
    inside = os.path.normpath(name)
    site_url = _site_url(config, options)
    if not _within(inside):
        log.warning("%s: docs_dir %s is outside the folder; indexing %s as it is (give the "
                    "pages folder itself to index it)", config, name, folder)
        return SiteFolder(folder, site_url=site_url)
    pages = folder / inside  # a docs_dir linked from elsewhere is followed, as mkdocs does
    if inside != "." and pages.is_dir() and _nav_fits(options.get("nav"), pages, folder) \
            and not _top_level_pages(folder):
        log.info("%s: indexing its docs_dir %s", config, pages)
        return SiteFolder(pages, site_url=site_url, generator="mkdocs", config=config)
    return SiteFolder(folder, site_url=site_url)


#: the most nav entries read to tell a docs folder from a project (_nav_pages)
NAV_ENTRIES = 10_000
#: Markdown a project keeps beside its docs folder without publishing it (file stems)
PROJECT_FILES = frozenset(("readme", "changelog", "changes", "history", "news", "contributing",
                           "license", "code_of_conduct", "security", "authors", "notice",
                           "maintainers", "governance", "support", "releasing", "todo",
                           "agents", "claude"))


def _top_level_pages(folder: Path) -> list[str]:
    """The Markdown pages beside the config, its README, changelog and like files aside. A
    project keeps none there (mkdocs would not publish them); a docs folder copied with its
    config inside keeps its home page there, and a section of it may be named like
    `docs_dir`."""
    try:
        names = [entry.name for entry in folder.iterdir() if entry.is_file()]
    except OSError:
        return []
    return [name for name in names if name.lower().endswith((".md", ".mdx", ".markdown"))
            and Path(name).stem.lower().replace("-", "_") not in PROJECT_FILES]


def _nav_fits(nav: object, pages: Path, folder: Path) -> bool:
    """Whether the config's `nav` (page paths relative to `docs_dir`) names pages in
    `pages` at least as often as in `folder`: a docs folder copied with its `mkdocs.yml`
    inside it may itself hold a folder named like `docs_dir`, and its nav then names
    pages of the folder. A config without a nav trusts `docs_dir`."""
    named = _nav_pages(nav)
    if not named:
        return True
    inside = sum(1 for path in named if (pages / path).is_file())
    return inside >= sum(1 for path in named if (folder / path).is_file())


def _nav_pages(nav: object) -> list[str]:
    """The page paths a mkdocs `nav` names (nested sections and titles walked; links and
    URLs left out). Each list or mapping is walked once and at most NAV_ENTRIES entries are
    read: YAML aliases can make a nav that refers to itself, or one that names a few
    entries a billion times."""
    found: list[str] = []
    seen: set[int] = set()
    pending = [nav]
    while pending and len(seen) + len(found) < NAV_ENTRIES:
        item = pending.pop()
        if isinstance(item, str):
            if item.lower().endswith((".md", ".markdown")) and "://" not in item:
                found.append(item)
        elif isinstance(item, (list, dict)) and id(item) not in seen:
            seen.add(id(item))
            pending.extend(reversed(list(item.values()) if isinstance(item, dict) else item))
    return found


def _site_url(config: Path | None, options: dict[str, object] | None = None) -> str | None:
    """The config's `site_url` when it is an http(s) URL."""
    if config is None:
        return None
    value = (options if options is not None else config_options(config)).get("site_url")
    return value.strip() if isinstance(value, str) and is_web_url(value.strip()) else None
