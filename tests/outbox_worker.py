"""A child process for the crash tests: files tickets to the local outbox in three rounds.

`python -m tests.outbox_worker HOME` brings HOME to one final state from
whatever state a killed earlier attempt left: round 1 files every insight,
round 2 adds evidence, round 3 closes each ticket and brings the problem
back (a regression). Each step checks the records first, so a re-run only
does what is missing — as `docloop run` does after a crash, which also starts
by removing stale temporary files and repairing the outbox.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from docloop import db
from docloop.backends.records.sqlite import SQLiteRecordStore
from docloop.backends.trackers.local import LocalTracker, repair_outbox
from docloop.config import Settings
from docloop.models import Insight
from docloop.pipeline import holding_home
from docloop.stages.file import file_insight
from tests.helpers import insight

TICKETS = 12
ROUNDS = (("1", "2"), ("1", "2", "3", "4"), ("1", "2", "3", "4", "5", "6"))


def grown(index: int, round_no: int) -> Insight:
    """Insight `index` as round `round_no` sees it: more messages each round."""
    ids = tuple(f"{index}-{m}" for m in ROUNDS[round_no])
    return insight(f"ins_{index}", conversations=ids, messages=ids,
                   quotes=tuple(f"quote {m} of problem {index}" for m in ids))


def main(home: Path) -> None:
    settings = Settings(home=home)
    with holding_home(settings, lock_wait_s=60):
        records = SQLiteRecordStore(db.connect(settings.db_path))
        repair_outbox(settings.outbox_dir, records.all())  # as `docloop run` starts
        tracker = LocalTracker(settings.outbox_dir)
        for round_no in range(len(ROUNDS)):
            for index in range(TICKETS):
                item = grown(index, round_no)
                record = records.by_insight(item.id)
                if round_no == 2 and record is not None and record.status == "open" \
                        and "5" not in {m.split("-")[1] for m in record.message_ids}:
                    records.set_status(record.id, "done", datetime.now(UTC), "cli")
                file_insight(item, tracker, records, datetime.now(UTC))
    print("finished", flush=True)


if __name__ == "__main__":
    print("ready", flush=True)
    main(Path(sys.argv[1]))
