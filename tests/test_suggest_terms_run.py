"""A ticket's term list, as a run composes it: the docs index tells one user's own names
from the product's."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from docloop.cli import main
from tests.docs_helpers import write_docs

DOCS = {
    "guide/retries.md": "# Retries\n\nJobs that raise are retried with exponential backoff. "
                        "Set `max_retries` on the queue to change how many times a failed job "
                        "runs again.\n",
    "guide/tuning.md": "# Tuning\n\nSpread retries out with `retry_jitter` when many jobs "
                       "fail at once.\n",
}
SAID = [
    "How do I make a failed job retry more times? My `RetryingQueueWorker` gives up, and "
    "`retry_jitter` did not help.",
    "My job fails once and never runs again, how do I set max_retries for retrying? "
    "Is `backoff_max` a setting?",
    "Is there a way to change how many times a failing job is retried? I tried "
    "`backoff_max` on the queue.",
]


def test_a_ticket_lists_the_products_names_and_not_one_users_own(tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", DOCS)
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps({
        "id": f"m{n}", "author": f"user{n}", "text": text, "group": "retries",
        "doc_path": "docs/guide/retries.md"}) + "\n" for n, text in enumerate(SAID)),
        encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", str(labels), "--docs", str(tmp_path / "docs"),
                                       "--doc-prefix", "docs/", "--json",
                                       "--keep-home", str(tmp_path / "kept")])
    assert result.exit_code == 0, result.output
    [ticket] = (tmp_path / "kept" / "outbox").glob("*.md")
    listed = next(line for line in ticket.read_text(encoding="utf-8").splitlines()
                  if line.startswith("Terms and errors users use"))
    assert "`retry_jitter`" in listed  # one user's, but the docs use it on another page
    assert "`backoff_max`" in listed  # no page has it, but two users wrote it
    assert "RetryingQueueWorker" not in listed  # one user's own class, no page has it
