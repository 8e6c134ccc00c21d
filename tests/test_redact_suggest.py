"""A redaction placeholder is never proposed to the docs as a term users use."""

from __future__ import annotations

from docloop.backends.analyzers.offline_suggest import user_terms
from docloop.redact import redact, without_placeholders
from tests.helpers import insight

PGP = ("-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBGXk2mEBCAC7xQ9vZ3Yh8Ww0Fh1PbbFJ0s6Z1q\n"
       "=Xy7Q\n-----END PGP PRIVATE KEY BLOCK-----")


def test_placeholders_are_not_terms_to_add() -> None:
    quotes = tuple(redact(f"signing fails with my key {PGP} mail me a@b.io or +44 7911 123456")
                   for _ in range(3))
    assert all("[secret]" in q and "[email]" in q and "[phone]" in q for q in quotes)
    terms = {t.lower() for t in user_terms(insight(messages=("1", "2", "3"), quotes=quotes))}
    assert not terms & {"secret", "email", "phone", "[secret]", "[email]", "[phone]"}
    assert "signing" in terms  # real words still count


def test_without_placeholders_keeps_the_rest_of_the_text() -> None:
    assert without_placeholders("key [secret] for [email], card [card]") == "key  for , card "
