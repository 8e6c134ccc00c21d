"""Discord's message markup written as DiscordChatExporter writes it (markup.py), from the
REST API (names asked of the guild once, only when needed) and from raw exports."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from docloop.backends.sources.dce import ExportSource
from docloop.backends.sources.markup import plain_text
from docloop.config import Settings
from docloop.errors import PermanentError
from docloop.models import Message
from docloop.registry import build_source
from tests.dce_helpers import channel, export, message, write
from tests.discord_support import settings_for
from tests.fake_discord import FakeDiscord


class Names:
    """A guild's names from dicts (markup.Names)."""

    def __init__(self, channels: dict[str, str], roles: dict[str, str]) -> None:
        self.channels, self.roles = channels, roles

    def channel(self, channel_id: str) -> str | None:
        return self.channels.get(channel_id)

    def role(self, role_id: str) -> str | None:
        return self.roles.get(role_id)


NAMES = Names({"10": "help", "11": "Office Hours [voice]"}, {"20": "Moderators"})


@pytest.mark.parametrize(("typed", "written"), [
    ("<@&20> see <#10> or <#!11>", "@Moderators see #help or #Office Hours [voice]"),
    ("<@&21> in <#12>", "@unknown-role in #unknown-channel"),
    ("fails again <:kekw:806134235113488455> <a:party_2:42>", "fails again :kekw: :party_2:"),
    ("@everyone @here List<int> <div> a < b <https://x.dev/a>",
     "@everyone @here List<int> <div> a < b <https://x.dev/a>"),
    ("<t:1618953630:x> <t:-62135596800:d>", "Invalid date 0001-01-01"),
    # an emoji's name is Discord's alphabet: prose around it is not swallowed
    ("A <: B <:kekw:1> <:not an emoji:1>", "A <: B :kekw: <:not an emoji:1>"),
    # ids are ASCII digits
    ("<t:١٦١٨٩٥٣٦٣٠> <#١>", "<t:١٦١٨٩٥٣٦٣٠> <#١>"),
])
def test_markup_reads_as_the_exporter_writes_it(typed: str, written: str) -> None:
    assert plain_text(typed, [], NAMES) == written
    assert plain_text(written, [], NAMES) == written  # an export's text is left as it is


@pytest.mark.parametrize(("style", "written"), [
    ("", "2021-04-20 21:20 UTC"), (":R", "2021-04-20 21:20 UTC"), (":f", "2021-04-20 21:20 UTC"),
    (":F", "2021-04-20 21:20 UTC"), (":t", "21:20 UTC"), (":T", "21:20:30 UTC"),
    (":d", "2021-04-20"), (":D", "2021-04-20"),
])
def test_timestamps_read_as_a_utc_moment(style: str, written: str) -> None:
    assert plain_text(f"due <t:1618953630{style}>", []) == f"due {written}"


def test_a_timestamp_out_of_range_is_an_invalid_date() -> None:
    assert plain_text("<t:99999999999999999999> <t:-99999999999999>", []) == (
        "Invalid date Invalid date")


def test_users_are_named_from_either_sources_mention_entries() -> None:
    rest = [{"id": "1", "username": "thomas", "global_name": "Thomas"},
            {"id": "2", "username": "adam", "member": {"nick": "Adam (mod)"}},
            {"id": "3", "username": "eve"}]
    export_entries = [{"id": "4", "name": "bob", "discriminator": "0000", "nickname": "Bobby",
                       "isBot": False}]
    assert plain_text("<@1> <@!2> <@3> <@9>", rest) == "@Thomas @Adam (mod) @eve @Unknown"
    assert plain_text("<@4> thanks", export_entries) == "@Bobby thanks"
    odd = [{"id": "5", "member": {"nick": 7}, "global_name": "", "username": "carol"}, "x",
           {"id": None, "username": "nobody"}]
    assert plain_text("<@5>", odd) == "@carol"  # names that are not text are passed over


def api_messages(fake: FakeDiscord, tmp_path: Path, spec: str) -> list[Message]:
    source = build_source(spec, settings_for(fake, tmp_path))
    return [m for batch in source.batches(None, {}) for m in batch.messages]


def guild_asks(fake: FakeDiscord) -> list[str]:
    """The requests for a guild's channel or role list (discovery asks for threads)."""
    return [r.path for r in fake.requests
            if r.path.startswith("/guilds/") and r.path.endswith(("/roles", "/channels"))]


def test_api_run_names_other_channels_and_roles_asking_the_guild_once(
        fake: FakeDiscord, tmp_path: Path) -> None:
    help_, news = fake.add_channel("help"), fake.add_channel("announcements", type_=5)
    stage, mods = fake.add_channel("Town Hall", type_=13), fake.add_role("Moderators")
    user = fake.user("Asker")
    for n in range(3):
        fake.add_message(help_["id"], user, f"{n}: <@&{mods['id']}> is <#{news['id']}> right? "
                         f"or <#{stage['id']}> in <#{help_['id']}>")
    messages = api_messages(fake, tmp_path, f"discord:{help_['id']}")
    assert [m.content for m in messages] == [
        f"{n}: @Moderators is #announcements right? or #Town Hall [voice] in #help"
        for n in range(3)]
    assert sorted(guild_asks(fake)) == [f"/guilds/{fake.guild_id}/channels",
                                        f"/guilds/{fake.guild_id}/roles"]


def test_api_run_without_markup_asks_the_guild_nothing(fake: FakeDiscord, tmp_path: Path) -> None:
    help_ = fake.add_channel("help")
    fake.add_message(help_["id"], fake.user("Asker"), "plain question <div>?")
    assert [m.content for m in api_messages(fake, tmp_path, f"discord:{help_['id']}")] == [
        "plain question <div>?"]
    assert guild_asks(fake) == []


def test_guild_that_refuses_its_names_leaves_them_unknown_and_the_run_goes_on(
        fake: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    help_, other, mods = fake.add_channel("help"), fake.add_channel("off-topic"), fake.add_role(
        "Moderators")
    fake.faults.guild_lists_status = 403
    user = fake.user("Asker")
    fake.add_message(help_["id"], user, f"<@&{mods['id']}> <#{other['id']}> <#{help_['id']}>")
    fake.add_message(help_["id"], user, f"again <@&{mods['id']}> <#{other['id']}>")
    with caplog.at_level(logging.WARNING):
        messages = api_messages(fake, tmp_path, f"discord:{help_['id']}")
    assert [m.content for m in messages] == ["@unknown-role #unknown-channel #help",
                                            "again @unknown-role #unknown-channel"]
    assert len(guild_asks(fake)) == 2  # each list asked once, not per message
    assert "role list of guild" in caplog.text and "channel list of guild" in caplog.text


def test_a_rejected_token_while_naming_still_stops_the_run(fake: FakeDiscord,
                                                           tmp_path: Path) -> None:
    help_, mods = fake.add_channel("help"), fake.add_role("Moderators")
    fake.add_message(help_["id"], fake.user("Asker"), f"<@&{mods['id']}> help")
    fake.faults.guild_lists_status = 401
    with pytest.raises(PermanentError, match="rejected the bot token"):
        api_messages(fake, tmp_path, f"discord:{help_['id']}")


def test_guild_run_names_voice_channels_and_categories_from_its_own_listing(
        fake: FakeDiscord, tmp_path: Path) -> None:
    """Reading a guild lists its channels already: a voice channel or category a message
    names costs no second listing, and names reach messages in threads too."""
    help_, voice = fake.add_channel("help"), fake.add_channel("Lounge", type_=2)
    category, mods = fake.add_channel("Support", type_=4), fake.add_role("Moderators")
    user = fake.user("Asker")
    fake.add_message(help_["id"], user, f"<#{voice['id']}> or <#{category['id']}>?")
    thread = fake.add_thread(help_["id"], "webhook 401")
    fake.add_message(thread["id"], user, f"<@&{mods['id']}> in <#{thread['id']}>")
    messages = api_messages(fake, tmp_path, f"discord-guild:{fake.guild_id}")
    assert sorted(m.content for m in messages) == ["#Lounge [voice] or #Support?",
                                                   "@Moderators in #webhook 401"]
    assert guild_asks(fake) == [f"/guilds/{fake.guild_id}/channels",  # discovery's
                                f"/guilds/{fake.guild_id}/roles"]


def test_thread_read_alone_names_its_parent_without_asking(fake: FakeDiscord,
                                                           tmp_path: Path) -> None:
    help_ = fake.add_channel("help")
    thread = fake.add_thread(help_["id"], "webhook 401")
    fake.add_message(thread["id"], fake.user("Asker"),
                     f"back in <#{help_['id']}> and <#{thread['id']}>")
    (read,) = api_messages(fake, tmp_path, f"discord:{thread['id']}")
    assert read.content == "back in #help and #webhook 401"
    assert guild_asks(fake) == []


def test_junk_in_the_guilds_lists_is_passed_over_and_a_non_list_is_said(
        fake: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    help_, mods = fake.add_channel("help"), fake.add_role("Moderators")
    fake.roles.extend([{"id": None, "name": "x"}, {"id": "77", "name": 5}, "junk",
                       {"id": "78", "name": ""}])
    user = fake.user("Asker")
    fake.add_message(help_["id"], user, f"<@&{mods['id']}> <@&77> <@&78>")
    assert [m.content for m in api_messages(fake, tmp_path, f"discord:{help_['id']}")] == [
        "@Moderators @unknown-role @unknown-role"]
    fake.roles = {"message": "not a list"}  # type: ignore[assignment]
    fake.add_message(help_["id"], user, f"<@&{mods['id']}> again")
    with caplog.at_level(logging.WARNING):
        again = api_messages(fake, tmp_path / "again", f"discord:{help_['id']}")
    assert again[-1].content == "@unknown-role again"
    assert "role list of guild" in caplog.text and "is not a list" in caplog.text


def test_forward_names_channels_of_its_own_guild_only(fake: FakeDiscord, tmp_path: Path) -> None:
    """A forwarded message's text is its snapshot's: names from this guild when it was
    forwarded from here, else only what the snapshot lists (no request to this guild)."""
    help_, news = fake.add_channel("help"), fake.add_channel("news")
    user = fake.user("Asker")
    for origin in (fake.guild_id, "999"):
        fake.add_message(help_["id"], user, "", message_reference={
            "type": 1, "channel_id": news["id"], "message_id": "1", "guild_id": origin},
            message_snapshots=[{"message": {"type": 0, "content": f"see <#{news['id']}>",
                                            "mentions": [], "attachments": []}}])
    assert [m.content for m in api_messages(fake, tmp_path, f"discord:{help_['id']}")] == [
        "see #news", "see #unknown-channel"]


def test_raw_export_reads_as_a_rendered_one(tmp_path: Path) -> None:
    """An export made with `--markdown false` keeps Discord's markup; its own mentions,
    channel and emoji are written out, what it cannot name reads unknown."""
    raw = message("1", "<@200> <#500> <#400> <#7> <@&8> :( <:kekw:9>", mentions=[
        {"id": "200", "name": "bob", "discriminator": "0000", "nickname": "Bobby",
         "isBot": False}])
    thread = channel("600", "webhook 401", "GuildPublicThread", parent=("500", "help"))
    path = write(tmp_path / "t.json", export([raw], thread))
    source = ExportSource.from_spec("discord-export", str(path), Settings())
    (read,) = [m for batch in source.batches(None, {}) for m in batch.messages]
    assert read.content == "@Bobby #help #unknown-channel #unknown-channel @unknown-role :( :kekw:"


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord() as server:
        yield server
