"""Builders for test data (messages, conversations, insights)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from docloop.cli import main
from docloop.models import Conversation, DocMatch, Insight, Message, Quote

BASE = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def msg(mid: str, author: str, content: str, minutes: int = 0, **extra: object) -> Message:
    """A message in #help of guild 1, `minutes` after BASE."""
    fields: dict[str, object] = {
        "id": mid, "guild_id": "1", "channel_id": "10", "channel_name": "help",
        "author_id": author, "author_name": f"user{author}", "content": content,
        "timestamp": BASE + timedelta(minutes=minutes),
    }
    fields.update(extra)
    return Message.model_validate(fields)


def conv(cid: str, *messages: Message, thread: str | None = None) -> Conversation:
    return Conversation(id=cid, channel_id="10", channel_name="help", thread_name=thread,
                        messages=list(messages))


def insight(iid: str = "ins_a", conversations: tuple[str, ...] = ("1", "2"),
            messages: tuple[str, ...] = ("1", "2"), verdict: str = "covered",
            path: str | None = "guide/cors.md", heading: str | None = "Allowed origins",
            quotes: tuple[str, ...] = ("CORS error: No 'Access-Control-Allow-Origin' header",),
            ) -> Insight:
    doc = DocMatch(path=path, url=f"https://docs.example/{path}" if path else None,
                   heading=heading, anchor="allowed-origins", score=0.6,
                   verdict=verdict)  # type: ignore[arg-type]
    return Insight(
        id=iid, title="How do I allow my frontend origin?", summary="Users hit CORS errors.",
        conversation_ids=list(conversations), message_ids=list(messages), users=2,
        quotes=[Quote(message_id=m, author="u", text=t) for m, t in zip(messages, quotes,
                                                                         strict=False)],
        questions=["How do I allow my frontend origin?"], doc=doc,
    )


def run_json(source: Path, out: Path) -> dict[str, Any]:
    """`docloop run` over a DiscordChatExporter folder, every message, its JSON report."""
    result = CliRunner().invoke(main, ["run", "--source", f"discord-export:{source}",
                                       "--since", "all", "--json", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tidepool"


def example_report(home: Path, docs: Path, *index_options: str) -> dict[str, Any]:
    """The bundled example's chat run against `docs` (indexed with `index_options`) in the
    scratch `home`, as `make demo` runs it: its JSON report."""
    runner = CliRunner(env={"DOCLOOP_HOME": str(home)})
    indexed = runner.invoke(main, ["index-docs", str(docs), *index_options],
                            catch_exceptions=False)
    assert indexed.exit_code == 0, indexed.output
    out = home / "report.json"
    ran = runner.invoke(main, ["run", "--source", f"discord-export:{EXAMPLE / 'discord'}",
                               "--since", "all", "--json", str(out)], catch_exceptions=False)
    assert ran.exit_code == 0, ran.output
    report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return report
