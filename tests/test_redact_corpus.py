"""Seeded corpus: every family of secret and personal data is caught, ordinary text kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from docloop.models import Message
from docloop.redact import PLACEHOLDERS, redact
from docloop.stages.scrub import REDACTED_FIELDS, redact_message
from tests.redaction_samples import (
    ORDINARY_FAMILIES,
    SECRET_FAMILIES,
    ordinary_samples,
    secret_samples,
)

SECRETS = list(secret_samples(seed=7, per_family=40))
ORDINARY = list(ordinary_samples(seed=11, per_family=60))


@pytest.mark.parametrize("family", sorted(SECRET_FAMILIES))
def test_every_planted_secret_of_a_family_is_removed(family: str) -> None:
    samples = [(text, planted) for name, text, planted in SECRETS if name == family]
    assert len(samples) == 40
    for text, planted in samples:
        redacted = redact(text)
        left = [p for p in planted if p in redacted]
        assert not left, f"{family}: {left} survived in {redacted!r}"
        assert any(tag in redacted for tag in PLACEHOLDERS)


@pytest.mark.parametrize("family", sorted(ORDINARY_FAMILIES))
def test_ordinary_technical_text_is_kept(family: str) -> None:
    for name, text in ORDINARY:
        if name == family:
            assert redact(text) == text


def test_redaction_of_the_corpus_is_idempotent() -> None:
    for _, text, _ in SECRETS:
        once = redact(text)
        assert redact(once) == once


def test_the_generator_is_seeded() -> None:
    assert list(secret_samples(seed=3, per_family=2)) == list(secret_samples(seed=3, per_family=2))
    assert list(secret_samples(seed=3, per_family=2)) != list(secret_samples(seed=4, per_family=2))


def test_redact_message_covers_every_free_text_field() -> None:
    """A new text field on Message must be added to REDACTED_FIELDS (or be an id)."""
    structural = {"id", "source", "guild_id", "channel_id", "thread_id", "author_id", "reply_to"}
    text_fields = {name for name, info in Message.model_fields.items()
                   if info.annotation in (str, str | None)}
    assert text_fields - structural == set(REDACTED_FIELDS)


def test_redact_message_cleans_names_as_well_as_content() -> None:
    key = "sk-proj-" + "Ab3dE5gH7jK9mN1pQ3sT5vX7zB9dF1hJ3lN5"
    message = Message(id="1", channel_id="2", author_id="3", timestamp=datetime.now(UTC),
                      content=f"key {key}", author_name="bob@example.com",
                      channel_name="ring +44 7911 123456", thread_name=f"why {key} fails")
    clean = redact_message(message)
    assert key not in clean.model_dump_json() and "bob@example.com" not in clean.author_name
    assert clean.thread_name == "why [secret] fails" and clean.channel_name == "ring [phone]"


def test_remembered_names_are_redacted_as_redact_does() -> None:
    """Names are redacted through a cache (`scrub._redact_name`): a name met again, secret
    or ordinary, comes out as `redact` makes it, each time, and an ordinary name too."""
    names = [text for _, text, _ in SECRETS[::7]] + [text for _, text in ORDINARY[::7]]
    for _ in range(2):  # the second pass reads the cache
        for name in names:
            message = Message(id="1", channel_id="2", author_id="3",
                              timestamp=datetime.now(UTC), content="hi", author_name=name,
                              channel_name=name, thread_name=name)
            clean = redact_message(message)
            assert clean.author_name == clean.channel_name == clean.thread_name == redact(name)
