"""Test doubles shared by the docs tests."""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

import numpy as np

from docloop.backends.embedders.base import Embedder
from docloop.docs.loader import DocPage
from docloop.docs.markdown import parser


class HashingEmbedder(Embedder):
    """Bag-of-words hashed into 384 dims: deterministic, instant, similar texts stay close."""

    name = "hashing-test"
    dim = 384

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    @classmethod
    def from_settings(cls, settings: Any, **deps: Any) -> HashingEmbedder:
        """Registry hook, so a test can stand this in for the `local` embedder."""
        return cls()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    @property
    def embedded(self) -> int:
        return sum(len(c) for c in self.calls)


def write_docs(root, files: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Create a docs folder from {relative path: text}."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def search_json(runner: Any, query: str, top: int = 4) -> list[dict[str, str]]:
    """`docloop docs search QUERY --json` through a CliRunner: the hits, best first."""
    from docloop.cli import main

    result = runner.invoke(main, ["docs", "search", query, "--json", "--top", str(top)])
    assert result.exit_code == 0, result.output
    hits: list[dict[str, str]] = json.loads(result.stdout)
    return hits


def anchor_links(page: DocPage, root: Path) -> list[tuple[str, str]]:
    """(target page path, anchor) of every `page.md#anchor` link in a page's Markdown.

    Links are read by the CommonMark parser, so a link inside a code block is not
    one; relative targets resolve from the page's folder, `/x.md` from `root`."""
    body = page.source.splitlines()
    links: list[tuple[str, str]] = []
    for token in parser().parse("\n".join(body)):
        for child in token.children or []:
            href = str(child.attrGet("href") or "") if child.type == "link_open" else ""
            target, _, anchor = unquote(href).partition("#")
            if not anchor or not target.endswith((".md", ".mdx")) or "://" in target:
                continue
            base = PurePosixPath("/") if target.startswith("/") else \
                PurePosixPath("/", page.path).parent
            resolved = posixpath.normpath(str(base / target.lstrip("/")))
            links.append((resolved.lstrip("/"), anchor))
    return links
