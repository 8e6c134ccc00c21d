"""Source specs (`discord-export:PATH`, `discord:IDS`, `discord-guild:ID`) -> Source.

The kinds and the building live in `docloop.registry` (`build_source`); this
name stays for callers that parse a spec.
"""

from __future__ import annotations

from docloop import registry
from docloop.backends.sources.base import Source
from docloop.config import Settings


def parse_source(spec: str, settings: Settings) -> Source:
    """Build the source a spec names; ConfigError with the accepted forms otherwise."""
    return registry.build_source(spec, settings)
