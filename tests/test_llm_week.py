"""A week of real community messages against a model that invents half its citations.

The conversations are built from /work/shared/realsets/*/messages.jsonl (real
public posts; skipped when ../shared is absent). The scripted model cuts off
its answer to big batches, refuses one conversation, and cites wrongly about
half the time: docloop must still analyse nearly every conversation, keep
only verified quotes, say what it dropped, and replay it all from the cache.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from docloop import db
from docloop.backends.analyzers.llm_extract import make_batches
from docloop.backends.analyzers.llm_guard import normalise
from docloop.models import Conversation
from tests.fake_openai import FakeOpenAI
from tests.llm_support import analyzer, conv, msg
from tests.scripted_model import INVENTED, InventingModel


def week(path: Path) -> list[Conversation]:
    """One conversation per message, a few minutes apart, as the realset lists them."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [conv(str(5000 + i), msg(str(5000 + i), row["author"], row["text"], minutes=i * 60))
            for i, row in enumerate(rows)]


@pytest.mark.parametrize("name", ["pydantic", "vite"])
def test_an_inventing_model_still_analyses_the_week_and_keeps_only_verified_quotes(
        shared_dir: Path, name: str) -> None:
    path = shared_dir / "realsets" / name / "messages.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    conversations = week(path)
    refused = conversations[10].messages[0].content[:40]
    conn = db.memory()
    with FakeOpenAI(chat=InventingModel(max_batch=40, refuse_word=refused)) as fake:
        llm, _, _ = analyzer(fake.base_url, conn)
        problems = llm.extract(conversations)
        calls = fake.chat_calls
        again, _, _ = analyzer(fake.base_url, conn)
        replayed = again.extract(conversations)
        assert fake.chat_calls == calls  # a plain re-run asks nothing
    stats = llm.stats
    assert stats.conversations_sent == len(conversations) > 100
    assert 1 <= stats.conversations_unanalysed <= 0.1 * len(conversations)
    assert calls > len(make_batches(conversations, 6000))  # failed batches were split
    analysed = stats.conversations_sent - stats.conversations_unanalysed
    assert len(problems) >= 0.4 * analysed
    content = {m.id: normalise(m.content) for c in conversations for m in c.messages}
    for problem in problems:
        for quote in problem.quotes:
            assert INVENTED not in quote.text
            assert normalise(quote.text) in content[quote.message_id]
    assert {"quote_not_verbatim", "unknown_conversation_id", "problem_without_quote",
            "problem_without_verified_quote"} <= set(stats.dropped)
    assert replayed == problems
    assert (again.stats.conversations_unanalysed, again.stats.dropped) == \
        (stats.conversations_unanalysed, stats.dropped)
