"""Source specs (`discord-export:PATH`, `discord:IDS`, `discord-guild:ID`) -> Source."""

from __future__ import annotations

import importlib

from docloop.backends.sources.base import Source
from docloop.config import Settings
from docloop.errors import ConfigError

SOURCE_KINDS: dict[str, str] = {
    "discord-export": "docloop.backends.sources.dce:ExportSource",
    "discord": "docloop.backends.sources.discord_api:DiscordSource",
    "discord-guild": "docloop.backends.sources.discord_api:DiscordSource",
}


def parse_source(spec: str, settings: Settings) -> Source:
    """Build the source a spec names; ConfigError with the accepted forms otherwise."""
    kind, sep, value = spec.partition(":")
    if not sep or not value or kind not in SOURCE_KINDS:
        raise ConfigError(
            f"invalid source '{spec}': use discord-export:PATH, discord:CHANNEL_ID[,...] "
            "or discord-guild:GUILD_ID"
        )
    module_name, _, attr = SOURCE_KINDS[kind].partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    source: Source = cls.from_spec(kind, value, settings)
    return source
