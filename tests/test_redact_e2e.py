"""End to end: secrets planted in a DiscordChatExporter export (thread and channel names,
content, embeds, attachment names, author names) reach no artifact of `docloop run`:
not the database, the outbox, the reports, the run JSON, the logs, nor what is sent
to an LLM or to Linear."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from docloop.cli import main
from tests.dce_helpers import author, channel, export, message, write
from tests.fake_linear import API_KEY, TEAM, FakeLinear
from tests.fake_openai import FakeOpenAI
from tests.redaction_samples import SECRET_FAMILIES
from tests.scripted_model import PlausibleModel

EXAMPLE_DOCS = Path(__file__).resolve().parents[1] / "examples" / "tidepool" / "docs"
HELP = ("1187342617392545849", "help")
THREAD_ID = "1569300859966195816"

pytestmark = pytest.mark.usefixtures("minilm")


def _planted(family: str, seed: int) -> tuple[str, list[str]]:
    return SECRET_FAMILIES[family](random.Random(seed))


def _build_export(folder: Path) -> list[str]:
    """A help channel and a thread in it, four users hitting TP-401; returns the secrets."""
    openai_text, openai_keys = _planted("openai", 1)
    linear_text, linear_keys = _planted("linear", 2)
    aws_text, aws_keys = _planted("aws", 3)
    pgp_text, pgp_lines = _planted("pgp-private-key", 4)
    url_text, url_passwords = _planted("url-credentials", 5)
    hook_text, hook_tokens = _planted("webhook-url", 6)
    github_key = _planted("github", 7)[1][0]
    hf_key = _planted("huggingface", 8)[1][0]
    card_text, cards = _planted("card", 9)
    phone_text, phones = _planted("phone", 10)
    emails = ["ana.silva@example.org", "ops+tidepool@corp-mail.io"]
    thread_name = f"TP-401 with {openai_keys[0]} mail {emails[0]}"
    users = [author(str(1236420571811254290 + n), name) for n, name in
             enumerate(["ana", emails[1], "kofi", "lena"])]

    def ask(mid: str, user: int, minute: int, extra: str, **kw: Any) -> dict[str, Any]:
        text = (f"Why do I get TP-401 Unauthorized on every request even though the API key "
                f"is set? {extra}")
        return message(mid, text, minute=minute, user=users[user], **kw)

    thread = [ask(THREAD_ID, 0, 1, openai_text),
              message("1569300859966195817", f"same here, {phone_text}", minute=2,
                      user=users[2])]
    help_channel = [
        ask("1569300859966195900", 1, 10, linear_text, embeds=[{
            "title": f"token {hf_key}", "description": hook_text, "url": None,
            "fields": [{"name": "key", "value": aws_text, "isInline": False}]}]),
        ask("1569300859966195901", 2, 20, f"{pgp_text}\n{url_text}", attachments=[{
            "id": "1", "fileName": f"env-{github_key}.txt", "fileSizeBytes": 10,
            "url": f"https://cdn.discordapp.com/attachments/1/2/env-{github_key}.txt"}]),
        ask("1569300859966195902", 3, 30, f"{aws_text} {card_text}"),
        message("1569300859966195903", "set the key with `tp login` and retry", minute=31,
                user=users[0], reply_to="1569300859966195902"),
    ]
    write(folder / "help.json", export(help_channel, channel(*HELP)))
    write(folder / "thread.json",
          export(thread, channel(THREAD_ID, thread_name, "GuildPublicThread", parent=HELP)))
    secrets = [*openai_keys, *linear_keys, *aws_keys, *pgp_lines, *url_passwords, *hook_tokens,
               github_key, hf_key, *cards, *phones, *emails]
    raw = "".join(p.read_text(encoding="utf-8") for p in folder.glob("*.json"))
    assert all(json.dumps(s)[1:-1] in raw for s in secrets)  # planted, as the test claims
    return secrets


def _invoke(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def _artifacts(home: Path, *extra: str) -> str:
    """Everything docloop left behind: a dump of the database and every file's bytes."""
    db = sqlite3.connect(home / "docloop.db")
    dump = "\n".join(db.iterdump())
    db.close()
    files = [p.read_bytes().decode("utf-8", "replace") for p in home.rglob("*") if p.is_file()]
    return "\n".join([dump, *files, *extra])


def _assert_clean(text: str, secrets: list[str]) -> None:
    escaped = json.dumps(text)
    left = [s for s in secrets if s in text or json.dumps(s)[1:-1] in escaped]
    assert not left, f"secrets survived: {left}"


def _run(tmp_path: Path, *extra: str) -> tuple[Result, list[str]]:
    secrets = _build_export(tmp_path / "export")
    _invoke("index-docs", str(EXAMPLE_DOCS))
    result = _invoke("run", "--source", f"discord-export:{tmp_path / 'export'}",
                     "--since", "all", "--min-conversations", "2", "--json",
                     str(tmp_path / "run.json"), "-v", *extra)
    report = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    assert report["insights"], "the planted problem formed no insight"
    return result, secrets


def test_no_planted_secret_reaches_db_outbox_reports_run_json_or_logs(tmp_path: Path) -> None:
    result, secrets = _run(tmp_path)
    home = Path.cwd() / "home"
    assert list((home / "outbox").glob("*.md")) and list((home / "reports").iterdir())
    run_json = (tmp_path / "run.json").read_text(encoding="utf-8")
    _assert_clean(_artifacts(home, run_json, result.stdout, result.stderr), secrets)
    threads = sqlite3.connect(home / "docloop.db").execute(
        "SELECT DISTINCT thread_name FROM messages WHERE thread_name IS NOT NULL").fetchall()
    assert threads == [("TP-401 with [secret] mail [email]",)]
    tickets = _invoke("tickets", "--json")
    _assert_clean(tickets.stdout, secrets)


def test_llm_and_linear_receive_only_redacted_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAI(PlausibleModel()) as llm, FakeLinear() as linear:
        for name, value in {"DOCLOOP_ANALYZER": "llm", "OPENAI_BASE_URL": llm.base_url,
                            "OPENAI_API_KEY": "sk-test", "LINEAR_API_KEY": API_KEY,
                            "LINEAR_TEAM_ID": TEAM, "DOCLOOP_LINEAR_API_URL": linear.url,
                            "DOCLOOP_TRACKER": "linear"}.items():
            monkeypatch.setenv(name, value)
        result, secrets = _run(tmp_path)
        sent_to_llm = json.dumps([llm.chat_requests, llm.embedding_requests])
        sent_to_linear = json.dumps([linear.issues, linear.comments, linear.requests,
                                     list(linear.attachments.values())], default=str)
    assert llm.chat_calls > 0 and linear.issues
    assert "[secret]" in sent_to_llm  # the planted text was sent, redacted
    _assert_clean(sent_to_llm, secrets)
    _assert_clean(sent_to_linear, secrets)
    _assert_clean(_artifacts(Path.cwd() / "home", result.stderr), secrets)
