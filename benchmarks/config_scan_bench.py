"""Hostile site configs: what reading them costs, against scanning their text once.

Run: PYTHONPATH=src python benchmarks/config_scan_bench.py [--compare REV ...]

`index-docs` reads a site's JavaScript config (Docusaurus, VitePress) and globs from it
without running it. A config is the project's own file, but a hostile or generated one
must not make `index-docs` take minutes: each read here is expected to cost a small
multiple of one scan of the text (`JsConfig(text)`, the linear baseline measured in the
same run). The inputs are the shapes the session-19 reviews found quadratic or worse.

Only entry points older code has too are called (docs_instances, project_sources,
load_pages), so the same script measures older commits in the same run: each `--compare`
revision (default: the VitePress and the Docusaurus work before their review mends) is
checked out in a scratch git worktree and measured by this script run on its `src/`.
Writes benchmarks/results/config_scan.md and prints it.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from docloop.docs.docusaurus_site import docs_instances
from docloop.docs.js_config import JsConfig
from docloop.docs.loader import load_pages
from docloop.docs.vitepress_site import project_sources

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "config_scan.md"
#: the VitePress and the Docusaurus work of session 19 before their review mends
BEFORE = ("fdc037a", "28e3c29")
HEADER = """## Hostile site configs (config_scan_bench.py)

Command: `PYTHONPATH=src python benchmarks/config_scan_bench.py` (it checks out each
`--compare` revision in a scratch worktree and measures it in the same run). Each row times
one read of a hostile config (`docs_instances`, `project_sources`, or `load_pages` for the
glob) against one scan of its text (`JsConfig(text)`); a ratio near 1 is linear. The glob
row's scan is of a few bytes, so its time says more than its ratio.

| code | input | size | one scan (s) | read (s) | read / scan |
| --- | --- | ---: | ---: | ---: | ---: |
"""
NESTED = 5000
ENTRIES = 2000
DECLARATION = 20_000
BLANK_LINES = 20_000
SPACES = 20_000
NAME_LENGTH = 26


def docusaurus(folder: Path, text: str) -> Callable[[], object]:
    config = folder / "docusaurus.config.js"
    config.write_text(text, encoding="utf-8")
    return lambda: docs_instances(config)


def vitepress(folder: Path, text: str) -> Callable[[], object]:
    (folder / ".vitepress").mkdir()
    (folder / ".vitepress" / "config.ts").write_text(text, encoding="utf-8")
    (folder / "index.md").write_text("# Home\n", encoding="utf-8")
    return lambda: project_sources(folder)


def costly_glob(folder: Path, text: str) -> Callable[[], object]:
    vitepress(folder, text)
    (folder / ("a" * NAME_LENGTH + ".md")).write_text("# A\n", encoding="utf-8")
    return lambda: load_pages(folder, None, generator="vitepress")


CASES: list[tuple[str, str, Callable[[Path, str], Callable[[], object]]]] = [
    (f"{NESTED:,} nested `docs: {{`", "module.exports = {" + "docs: { " * NESTED
     + "}" * NESTED + "};", docusaurus),
    (f"{NESTED:,} nested `themeConfig: {{`", "module.exports = {" + "themeConfig: { " * NESTED
     + "}" * NESTED + "};", docusaurus),
    (f"{ENTRIES:,} docs entries naming one variable", "const opts = { path: 'x' };\n"
     "module.exports = { plugins: [\n" + "['@docusaurus/plugin-content-docs', opts],\n"
     * ENTRIES + "] };\n", docusaurus),
    (f"an entry and a {DECLARATION * 8 // 1000} KB declaration",
     "module.exports = { plugins: [['@docusaurus/plugin-content-docs', x]] };\n"
     + "const x " * DECLARATION, docusaurus),
    (f"`locales` of {BLANK_LINES:,} blank lines", "export default {\n  locales: {"
     + "\n" * BLANK_LINES + "root: {} },\n}\n", vitepress),
    (f"`srcExclude` of {SPACES:,} spaces", "export default {\n  srcExclude: [" + " " * SPACES
     + "x],\n}\n", vitepress),
    (f"glob `a*…*b` (12 wildcards), a {NAME_LENGTH}-letter file name",
     "export default {\n  srcExclude: ['a*a*a*a*a*a*a*a*a*a*a*a*b'],\n}\n", costly_glob),
]


def seconds(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def measure(label: str) -> list[str]:
    """One table row per case, for the code this process imported."""
    logging.disable(logging.WARNING)  # each case is warned about, by design
    rows = []
    for name, text, build in CASES:
        with tempfile.TemporaryDirectory() as scratch:
            read = build(Path(scratch), text)
            scan = seconds(partial(JsConfig, text))
            took = seconds(read)
        rows.append(f"| {label} | {name} | {len(text) / 1000:.0f} KB | {scan:.3f} | {took:.3f} "
                    f"| {took / scan:.1f} |")
    return rows


def measure_revision(revision: str) -> list[str]:
    """The rows of `revision`, measured by this script on a scratch checkout of it."""
    with tempfile.TemporaryDirectory() as scratch:
        checkout = Path(scratch) / "checkout"
        subprocess.run(["git", "-C", str(HERE), "worktree", "add", "-q", "--detach",
                        str(checkout), revision], check=True)
        try:
            env = {**os.environ, "PYTHONPATH": str(checkout / "src")}
            done = subprocess.run([sys.executable, __file__, "--rows-of", revision],
                                  env=env, check=True, capture_output=True, text=True)
        finally:
            subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force",
                            str(checkout)], check=True)
    return done.stdout.splitlines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", nargs="*", default=list(BEFORE), metavar="REV")
    parser.add_argument("--rows-of", help=argparse.SUPPRESS)  # a revision's own run
    args = parser.parse_args()
    if args.rows_of:
        print("\n".join(measure(f"{args.rows_of} (before)")))
        return
    rows = measure("this checkout")
    for revision in args.compare:
        rows += measure_revision(revision)
    RESULTS.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    print(RESULTS.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
