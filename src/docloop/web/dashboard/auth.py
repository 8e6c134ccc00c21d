"""Who may use the review desk, and proof that a form came from the desk itself.

Tokens: `DOCLOOP_DASHBOARD_TOKEN` holds one token, or `name:token` entries
separated by commas so every decision records who made it (a bare token acts
as `dashboard`; `cli` is the command line's name and cannot be taken). A
request proves itself with `Authorization: Bearer <token>` (scripts) or the
session cookie that `/login` sets (browsers): an HMAC of a fixed label under
the token, so the token itself never sits in the browser, and changing the
token signs everyone out. Every comparison is constant-time.

Without tokens (allowed only on a loopback address, `check_bind`) every
request acts as `local`.

CSRF: a signed double-submit. A random nonce lives in a SameSite=Strict,
HttpOnly cookie; every form carries HMAC(key, nonce) under a key made when
the app starts; a POST is accepted only when the two agree. Another site can
neither read the cookie nor compute the field, nor plant a nonce of its own
that verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass

from docloop.errors import ConfigError

TOKEN_ENV = "DOCLOOP_DASHBOARD_TOKEN"
SESSION_COOKIE = "docloop_session"
CSRF_COOKIE = "docloop_csrf"
CSRF_FIELD = "csrf"
LOCAL_ACTOR = "local"
BARE_TOKEN_ACTOR = "dashboard"
RESERVED = {"cli", LOCAL_ACTOR}
MIN_TOKEN_CHARS = 16
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
_SESSION_LABEL = b"docloop review desk session v1"


@dataclass(frozen=True)
class DeskToken:
    """One named token; `session` is the cookie value a login with it sets."""

    name: str
    secret: str = ""

    @property
    def session(self) -> str:
        return hmac.new(self.secret.encode(), _SESSION_LABEL, hashlib.sha256).hexdigest()


def parse_tokens(raw: str | None) -> list[DeskToken]:
    """The configured tokens; ConfigError (never echoing a value) when one is unusable."""
    if not raw:
        return []
    tokens: list[DeskToken] = []
    for number, entry in enumerate((e.strip() for e in raw.split(",")), start=1):
        name, sep, secret = entry.partition(":")
        if not sep:
            name, secret = BARE_TOKEN_ACTOR, entry
        if not _NAME.fullmatch(name) or name in RESERVED:
            raise ConfigError(f"{TOKEN_ENV}: entry {number} has an unusable name (letters, "
                              f"digits, _.@- only; not {', '.join(sorted(RESERVED))})")
        if len(secret) < MIN_TOKEN_CHARS:
            raise ConfigError(f"{TOKEN_ENV}: the token of entry {number} is shorter than "
                              f"{MIN_TOKEN_CHARS} characters; use a long random one "
                              "(python -c 'import secrets; print(secrets.token_urlsafe())')")
        if any(t.name == name for t in tokens):
            raise ConfigError(f"{TOKEN_ENV}: the name of entry {number} is used twice")
        tokens.append(DeskToken(name, secret))
    return tokens


def check_bind(host: str, tokens: list[DeskToken]) -> None:
    """Refuse to expose the desk beyond this machine without a token."""
    if tokens or is_loopback(host):
        return
    raise ConfigError(f"refusing to serve the review desk on {host} without {TOKEN_ENV}: "
                      "set a token (name:token to record who decides) or bind 127.0.0.1")


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name may resolve anywhere


class Gate:
    """Decides who a request is and whether a form's CSRF field is genuine."""

    def __init__(self, tokens: list[DeskToken], csrf_key: bytes | None = None) -> None:
        self.tokens = tokens
        self._csrf_key = csrf_key or secrets.token_bytes(32)

    @property
    def open(self) -> bool:
        """No token configured: the desk trusts its (loopback) callers."""
        return not self.tokens

    def actor(self, authorization: str | None, session: str | None) -> str | None:
        """The name a request acts as, or None when it proves nothing."""
        if self.open:
            return LOCAL_ACTOR
        scheme, _, presented = (authorization or "").partition(" ")
        bearer = presented.strip() if scheme.lower() == "bearer" else ""
        for token in self.tokens:
            if bearer and _same(bearer, token.secret):
                return token.name
            if session and _same(session, token.session):
                return token.name
        return None

    def login(self, presented: str) -> DeskToken | None:
        """The token a login form's entry matches."""
        matches = [t for t in self.tokens if _same(presented.strip(), t.secret)]
        return matches[0] if matches else None

    def csrf_field(self, nonce: str) -> str:
        """What a form carries for the CSRF cookie `nonce`."""
        return hmac.new(self._csrf_key, nonce.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, nonce: str | None, field: str | None) -> bool:
        """The form's field signs the cookie's nonce."""
        return bool(nonce and field) and _same(str(field), self.csrf_field(str(nonce)))


def new_nonce() -> str:
    return secrets.token_urlsafe(32)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
