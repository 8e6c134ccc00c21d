"""Redaction of secrets and personal data before a message is stored or sent.

Chat users paste tokens, keys, e-mail addresses and phone numbers while asking
for help. Nothing downstream (the database, an LLM, a ticket) needs them, so
they are replaced with typed placeholders as early as possible. The patterns
are deliberately specific (known token prefixes, key=value context) so that
ordinary code, hashes, UUIDs, versions, snowflake ids and URLs survive.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

EMAIL = "[email]"
SECRET = "[secret]"
PHONE = "[phone]"

_KEY_NAMES = (
    r"password|passwd|pwd|passphrase|secret|client_secret|secret_key|token|access_token"
    r"|auth_token|refresh_token|api_key|apikey|api-key|access_key|private_key"
)
_PLACEHOLDER_VALUE = re.compile(r"^(?:\$|<|\{|\[|%|\*+$|x+$|none$|null$|true$|false$|\.\.\.)",
                                re.IGNORECASE)
#: `settings.SECRET_KEY`, `os.environ`: a reference in code, not a literal secret
_CODE_REFERENCE = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")


@dataclass(frozen=True)
class _Rule:
    """One pattern and what replaces a match (a string or a function of it)."""

    name: str
    pattern: re.Pattern[str]
    replace: str | Callable[[re.Match[str]], str]


def _keep_prefix(match: re.Match[str]) -> str:
    return f"{match.group(1)}{SECRET}"


def _key_value(match: re.Match[str]) -> str:
    """Replace the value of `name=value`, unless it is a placeholder or code."""
    quote = match.group("quote") or ""
    value = match.group("qvalue") if quote else match.group("value")
    if not value or _PLACEHOLDER_VALUE.match(value):
        return match.group(0)
    if not quote and (match.group("call") or _CODE_REFERENCE.match(value)):
        return match.group(0)
    return f"{match.group('key')}{quote}{SECRET}{quote}"


def _quoted_pair(match: re.Match[str]) -> str:
    value = match.group("value")
    if not value or _PLACEHOLDER_VALUE.match(value):
        return match.group(0)
    return f"{match.group('key')}{SECRET}{match.group('end')}"


def _phone(match: re.Match[str]) -> str:
    """International numbers have 8-15 digits; fewer is a score or an offset."""
    digits = sum(ch.isdigit() for ch in match.group(0))
    return PHONE if 8 <= digits <= 15 else match.group(0)


def _email(match: re.Match[str]) -> str:
    """`git@github.com:org/repo` is an SSH remote, not an address."""
    if match.group("local").lower() == "git" and match.group("after") == ":":
        return match.group(0)
    return EMAIL + match.group("after")


_RULES: tuple[_Rule, ...] = (
    _Rule("pem", re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----"
        r"|\Z)", re.DOTALL), SECRET),
    _Rule("url-credentials", re.compile(
        r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s:@]+:[^/\s@]+(?=@)"), _keep_prefix),
    _Rule("jwt", re.compile(
        r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}"), SECRET),
    _Rule("authorization", re.compile(
        r"(\bAuthorization[\"']?\s*[:=]\s*[\"']?(?:(?:Bearer|Basic|Bot|Token|Digest)\s+)?)"
        r"(?!\[secret\]|(?:Bearer|Basic|Bot|Token|Digest)\s)[^\s\"']+", re.IGNORECASE),
        _keep_prefix),
    _Rule("bearer", re.compile(
        r"(\bBearer\s+)(?!\[secret\])[A-Za-z0-9._~+/=-]{8,}"), _keep_prefix),
    _Rule("discord-token", re.compile(
        r"\b[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}\b"), SECRET),
    _Rule("openai-key", re.compile(
        r"(?<![\w-])sk-(?:proj-|ant-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"), SECRET),
    _Rule("aws-access-key", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), SECRET),
    _Rule("aws-secret", re.compile(
        r"(\baws_secret_access_key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])",
        re.IGNORECASE), _keep_prefix),
    _Rule("github-token", re.compile(
        r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})\b"), SECRET),
    _Rule("slack-token", re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{10,}"), SECRET),
    _Rule("key-value", re.compile(
        rf"(?P<key>(?<![A-Za-z0-9])[A-Za-z0-9_.-]*?(?:{_KEY_NAMES})\s*=\s*)"
        r"(?:(?P<quote>[\"'])(?P<qvalue>[^\"'\n]*)(?P=quote)"
        r"|(?P<value>[^\s\"',;()\[\]&]+)(?P<call>[(\[])?)", re.IGNORECASE),
        _key_value),
    _Rule("quoted-pair", re.compile(
        rf"(?P<key>[\"'][A-Za-z0-9_.-]*?(?:{_KEY_NAMES})[\"']\s*:\s*[\"'])"
        r"(?P<value>[^\"'\s]*)(?P<end>[\"'])", re.IGNORECASE), _quoted_pair),
    _Rule("email", re.compile(
        r"(?<![\w.%+-])(?P<local>[A-Za-z0-9][A-Za-z0-9._%+-]*)@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
        r"\.[A-Za-z]{2,}\b(?P<after>:?)"), _email),
    _Rule("phone-international", re.compile(
        r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\w:])"), _phone),
    _Rule("phone-national", re.compile(
        r"(?<![\w.-])(?:1[-. ])?(?:\(\d{3}\)\s?|\d{3}[-.])\d{3}[-.]\d{4}(?![\w-]|\.\d)"), PHONE),
)


def redact(text: str) -> str:
    """Return `text` with secrets, e-mail addresses and phone numbers replaced."""
    for rule in _RULES:
        text = rule.pattern.sub(rule.replace, text)
    return text


def rule_names() -> list[str]:
    """The rules applied, in order (for docs and tests)."""
    return [rule.name for rule in _RULES]
