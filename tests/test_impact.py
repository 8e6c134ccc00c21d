"""Impact per insight: questions per week before and after its ticket was done."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from docloop import registry, review
from docloop.config import Settings
from docloop.errors import InputError, NotFoundError
from docloop.models import Insight, Message, TicketRecord

DONE = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def _conversation(cid: str, days: float) -> Message:
    return Message(id=cid, channel_id="10", author_id="a", content="q",
                   timestamp=DONE + timedelta(days=days))


def test_questions_per_week_around_the_fix(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    # before: 3 in the week before, 1 two weeks before; after: 1 in week one, 0 in week two
    days = {"c1": -1, "c2": -2, "c3": -6.5, "c4": -10, "c5": 3, "c6": -40}
    with registry.open_stores(settings) as stores:
        stores.messages.upsert([_conversation(cid, d) for cid, d in days.items()])
        stores.insights.save([("ins_a", np.array([1.0], dtype=np.float32),
                               [(f"p{cid}", cid) for cid in days])])
        stores.insights.save_snapshots([Insight(id="ins_a", title="t", summary="s",
                                                conversation_ids=["c1"])])
        open_impact = review.impact(settings, stores, "ins_a", weeks=2, now=DONE)
        assert open_impact.done_at is None and open_impact.before == [1, 3]
        assert open_impact.after == [] and open_impact.change is None
        stores.records.put(TicketRecord(id="DL-1", tracker="local", insight_id="ins_a",
                                        title="t", created_at=DONE - timedelta(days=20),
                                        updated_at=DONE - timedelta(days=20)))
        stores.records.set_status("DL-1", "done", DONE, "cli")
        result = review.impact(settings, stores, "ins_a", weeks=2,
                               now=DONE + timedelta(days=9))
        assert result.done_at == DONE
        assert (result.before, result.after) == ([1, 3], [1, 0])
        assert result.change == pytest.approx(-1.5)
        early = review.impact(settings, stores, "ins_a", weeks=3, now=DONE + timedelta(days=1))
        assert early.after == [1]  # weeks that have not begun are not counted as zero
        with pytest.raises(NotFoundError):
            review.impact(settings, stores, "nope")
        with pytest.raises(InputError):
            review.impact(settings, stores, "ins_a", weeks=0)


def test_conversation_ids_that_are_not_snowflakes_are_skipped_not_a_crash() -> None:
    """Imported or test ids may be any digits: a 40-digit id once overflowed the clock."""
    from docloop.impact import conversation_times

    class NoMessages:
        def get(self, ids: list[str]) -> list[Message]:
            return []

    real = str((1_700_000_000_000 - 1_420_070_400_000) << 22)
    times = conversation_times(NoMessages(), ["9" * 40, "12345", "not-a-number", real])  # type: ignore[arg-type]
    assert times == [datetime.fromtimestamp(1_700_000_000, tz=UTC)]
