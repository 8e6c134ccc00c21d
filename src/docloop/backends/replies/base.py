"""The replier family: posts docloop's reply in a chat conversation (Discord today).

The reply stage decides *what* is owed and records it before and after
sending; a replier only knows *how* to post in its chat, and how to find a
message it posted before, so an attempt whose outcome a crash lost is
resolved by looking, not by posting again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from docloop.models import Reply


class Replier(ABC):
    """Posts replies and finds the ones it already posted."""

    @abstractmethod
    def send(self, reply: Reply) -> str:
        """Post the reply; the chat's id of the new message."""

    @abstractmethod
    def find_sent(self, reply: Reply) -> str | None:
        """The id of a message this bot posted for `reply` since its attempt, if any."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the client."""
