"""The labelled sets the ranking and `missing` verdict are calibrated on, and their indexes.

Six sets, each a community with messages labelled by recurring problem (`group`) and
the page that answers it (`page`, None for a problem no page covers):

- `pydantic`, `vite`: real public messages (../shared/realsets), never written for docloop;
- `fastapi`, `fastapi-holdout`, `tseslint`: written chat sets in benchmarks/data;
- `tidepool`: the bundled example.

Each docs corpus is indexed once into benchmarks/.work/rank/<corpus>/ exactly as
`docloop index-docs PATH` does (default excludes only), and reused: re-indexing an
unchanged corpus costs nothing. Sets whose files are absent are skipped; ../shared is
looked up beside the repository, or where DOCLOOP_SHARED says.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from docloop.config import Settings, load_settings
from docloop.stages.index_docs import index_docs

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: ../shared beside the repository; DOCLOOP_SHARED points elsewhere (a git worktree)
SHARED = Path(os.environ.get("DOCLOOP_SHARED") or REPO.parent / "shared")
WORK = HERE / ".work" / "rank"


@dataclass(frozen=True)
class Labelled:
    """One labelled message: its text, its problem group, and the page (None: no page)."""

    id: str
    text: str
    group: str
    page: str | None


@dataclass(frozen=True)
class LabelledSet:
    """A community's labelled problem messages (noise dropped) and its docs folder."""

    name: str
    docs: Path
    messages: list[Labelled]

    def groups(self) -> dict[str, list[Labelled]]:
        """Group id -> its messages, in file order."""
        found: dict[str, list[Labelled]] = {}
        for message in self.messages:
            found.setdefault(message.group, []).append(message)
        return found


def _realset(name: str) -> LabelledSet | None:
    path = SHARED / "realsets" / name / "messages.jsonl"
    docs = SHARED / "corpora" / f"{name}-docs"
    if not path.is_file() or not docs.is_dir():
        return None
    messages = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item["group"] == "noise":
            continue
        page = item["doc_path"].removeprefix("docs/") if item["doc_path"] else None
        messages.append(Labelled(item["id"], item["text"], item["group"], page))
    return LabelledSet(name, docs, messages)


def _conversation_set(name: str, folder: Path, docs: Path) -> LabelledSet | None:
    """A DiscordChatExporter set: labels.json maps message ids to groups, groups to pages."""
    if not (folder / "labels.json").is_file() or not docs.is_dir():
        return None
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    texts: dict[str, str] = {}
    for export in sorted((folder / "discord").glob("*.json")):
        for message in json.loads(export.read_text(encoding="utf-8"))["messages"]:
            texts[message["id"]] = message["content"]
    messages = [Labelled(mid, texts[mid], group, labels["groups"][group]["page"])
                for mid, group in labels["messages"].items()
                if group and texts.get(mid, "").strip()]
    return LabelledSet(name, docs, messages)


LOADERS: dict[str, Callable[[], LabelledSet | None]] = {
    "pydantic": lambda: _realset("pydantic"),
    "vite": lambda: _realset("vite"),
    "fastapi": lambda: _conversation_set("fastapi", HERE / "data" / "fastapi_conv",
                                         SHARED / "corpora" / "fastapi-docs"),
    "fastapi-holdout": lambda: _conversation_set(
        "fastapi-holdout", HERE / "data" / "fastapi_holdout", SHARED / "corpora" / "fastapi-docs"),
    "tseslint": lambda: _conversation_set("tseslint", HERE / "data" / "tseslint_conv",
                                          SHARED / "corpora" / "typescript-eslint-docs"),
    "tidepool": lambda: _conversation_set("tidepool", REPO / "examples" / "tidepool",
                                          REPO / "examples" / "tidepool" / "docs"),
}
REAL = ("pydantic", "vite")


def load_sets(names: list[str] | None = None) -> list[LabelledSet]:
    """The named (default: all) sets that are present on this machine."""
    found = [LOADERS[name]() for name in (names or list(LOADERS))]
    return [s for s in found if s is not None]


def indexed_settings(docs: Path) -> Settings:
    """Settings whose home holds an up-to-date index of `docs` (built once, then reused)."""
    home = WORK / docs.name
    settings = load_settings(overrides={"home": home}, environ={})
    index_docs(settings, docs, [])
    return settings
