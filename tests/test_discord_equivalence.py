"""The API source and the DiscordChatExporter source agree on the same history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from docloop.models import Conversation, Message
from docloop.registry import build_source
from tests.discord_support import channel_source, settings_for
from tests.fake_discord import FakeDiscord

conversations = pytest.importorskip("docloop.stages.conversations")


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord() as server:
        yield server


def build_history(fake: FakeDiscord) -> list[str]:
    """Questions, replies, a thread on a message, a bare thread, bots, joins, attachments,
    pings, and mentions of channels and roles."""
    help_ = fake.add_channel("help")
    asker, helper, other = fake.user("Asker"), fake.user("Helper"), fake.user("Other")
    bot = fake.user("Status Bot", bot=True)
    question = fake.add_message(help_["id"], asker, "How do I rotate my API key?")
    fake.reply(question, helper, "Settings > Keys > Rotate.")
    fake.add_message(help_["id"], bot, "Deploy finished")
    fake.add_message(help_["id"], other, "", type=7)
    root = fake.add_message(help_["id"], other, "Webhooks return 401 since today")
    thread = fake.add_thread(help_["id"], "webhook 401", from_message=root)
    fake.add_message(thread["id"], helper, "Did you rotate the signing secret?")
    log = {"id": "1", "filename": "log.txt", "size": 12,
           "url": "https://cdn.discordapp.com/attachments/1/2/log.txt?ex=1&is=2&hm=3",
           "proxy_url": "https://media.discordapp.net/attachments/1/2/log.txt"}
    fake.add_message(thread["id"], other, "yes, log attached", attachments=[log])
    bare = fake.add_thread(help_["id"], "SDK install")
    fake.add_message(bare["id"], asker, "pip install fails on 3.13")
    archived = fake.add_thread(help_["id"], "old", archived=True)
    fake.add_message(archived["id"], asker, "resolved long ago")
    fake.add_message(help_["id"], asker, "thanks all")
    # an answer by ping, no reply: the API writes <@id>, the exporter the asker's name
    fake.add_message(help_["id"], other, "Where do I set the webhook retry count?")
    fake.add_message(help_["id"], helper, f"<@{other['id']}> under Webhooks > Retries",
                     mentions=[other])
    fake.add_message(help_["id"], asker, f"<@!{helper['id']}> and <@123> thanks", mentions=[helper])
    # markup the exporter writes out: channels (a voice one), a role, custom emoji
    voice, mods = fake.add_channel("Office Hours", type_=2), fake.add_role("Moderators")
    fake.add_message(help_["id"], other, f"<@&{mods['id']}> see <#{help_['id']}> or "
                     f"<#{voice['id']}> <:kekw:806134235113488455><a:party:42>")
    return [help_["id"]]


def comparable(found: list[Conversation]) -> list[tuple]:
    def fields(m: Message) -> tuple:
        return (m.id, m.channel_id, m.thread_id, m.thread_name, m.author_id, m.content,
                m.timestamp, m.reply_to, m.attachments, m.mentions)

    return sorted((c.id, c.channel_id, c.thread_name, [fields(m) for m in c.messages])
                  for c in found)


def test_api_and_export_build_identical_conversations(fake: FakeDiscord, tmp_path: Path) -> None:
    channel_ids = build_history(fake)
    from_api = [m for b in channel_source(fake, tmp_path, *channel_ids).batches(None, {})
                for m in b.messages]
    export_dir = tmp_path / "export"
    fake.write_dce_export(export_dir)
    export = build_source(f"discord-export:{export_dir}", settings_for(fake, tmp_path))
    from_export = [m for b in export.batches(None, {}) for m in b.messages]
    assert {m.id for m in from_api} == {m.id for m in from_export}
    api_conversations = conversations.build_conversations(from_api)
    export_conversations = conversations.build_conversations(from_export)
    assert len(api_conversations) >= 4
    assert comparable(api_conversations) == comparable(export_conversations)
    (pinged,) = [c for c in api_conversations
                 if any(m.content == "@Helper and @Unknown thanks" for m in c.messages)]
    assert any(m.content == "@Moderators see #help or #Office Hours [voice] :kekw::party:"
               for m in from_api)
    (answered,) = [c for c in api_conversations
                   if any(m.content == "@Other under Webhooks > Retries" for m in c.messages)]
    assert answered.messages[0].content == "Where do I set the webhook retry count?"
    assert pinged is not answered  # the helper was answering Other, not the asker
