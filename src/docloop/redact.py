"""Redaction of secrets and personal data before a message is stored or sent.

Chat users paste tokens, keys, connection strings, e-mail addresses, card and
phone numbers while asking for help. Nothing downstream (the database, an LLM,
a ticket) needs them, so they are replaced with typed placeholders as early as
possible. Self-identifying formats live in `redact_tokens`, personal data in
`redact_personal`; this module adds the secrets that only their context gives
away (`password=…`, `PASSWORD: …` in YAML, `user:pw@` in a URL, `Bearer …`)
and applies everything in one order: key blocks, signed URLs and tokens first
(they contain characters other rules would split on), then key/value context,
then personal data. The patterns are deliberately specific so that
ordinary code, hashes, UUIDs, versions, snowflake ids and URLs survive.
"""

from __future__ import annotations

import hashlib
import re

from docloop.redact_personal import CARD, EMAIL, PERSONAL_RULES, PHONE
from docloop.redact_tokens import SECRET, TOKEN_RULES, Rule, hints_in, keep_prefix

__all__ = ["CARD", "EMAIL", "PHONE", "PLACEHOLDERS", "SECRET", "redact", "rule_names",
           "rules_fingerprint", "without_placeholders"]

PLACEHOLDERS = (SECRET, EMAIL, PHONE, CARD)
_ANY_PLACEHOLDER = re.compile("|".join(re.escape(tag) for tag in PLACEHOLDERS))

_KEY_NAMES = (
    r"password|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key"
    r"|private[_-]?key(?:[_-]?id)?|account[_-]?key|credentials?|auth|(?<![A-Za-z])pass"
    r"|(?<![A-Za-z0-9])sig"
)
_PLACEHOLDER_VALUE = re.compile(
    r"^(?:(?-i:\$[A-Z_][A-Z0-9_]*|\$[a-z_][a-z0-9_]*|%[A-Z_][A-Z0-9_]*%)$|\$\{|<|\{|\[|%\("
    r"|![A-Za-z]+$|\*+$|x+$|none$|null$|nil$|true$|false$|\.\.\.|changeme$|redacted$"
    r"|foo$|bar$|baz$)", re.IGNORECASE)
#: `password: str`, `token: SecretStr` are type annotations in pasted code, not values
_TYPE_NAME = re.compile(r"^(?:str|int|float|bool|bytes|string|number|boolean|any|object"
                        r"|[A-Z][a-z]+(?:[A-Z][a-z]*)*)$")
#: `settings.SECRET_KEY`, `os.environ`, `self.token2`: dotted names made of words, not
#: a random `n7yDOyMtTN2e.C`
_CODE_REFERENCE = re.compile(
    r"^(?:[a-z_][a-z0-9_]*|[A-Z_][A-Z0-9_]*|(?:[A-Z][a-z]+)+)"
    r"(?:\.(?:[a-z_][a-z0-9_]*|[A-Z_][A-Z0-9_]*|(?:[A-Z][a-z]+)+))+$")


def _key_value(match: re.Match[str]) -> str:
    """Replace the value of `name=value`, unless it is a placeholder or code."""
    quote = match.group("quote") or ""
    value = match.group("qvalue") if quote else match.group("value")
    if not value or _PLACEHOLDER_VALUE.match(value):
        return match.group(0)
    if not quote and _looks_like_code(value, match.group("word"), bool(match.group("call"))):
        return match.group(0)
    return f"{match.group('key')}{quote}{SECRET}{quote}"


def _looks_like_code(value: str, word: str, is_call: bool) -> bool:
    """`token=get_token()`, `settings.SECRET`, `password=hashed_password` pass values along."""
    return is_call or bool(_CODE_REFERENCE.match(value)) or value.lower().endswith(word.lower())


def _yaml_value(match: re.Match[str]) -> str:
    """`password: hunter2` in YAML, but not `password: str` in a pydantic model."""
    if match.group("value") and _TYPE_NAME.match(match.group("value")):
        return match.group(0)
    return _key_value(match)


def _quoted_pair(match: re.Match[str]) -> str:
    value = match.group("value")
    if not value or _PLACEHOLDER_VALUE.match(value):
        return match.group(0)
    return f"{match.group('key')}{SECRET}{match.group('end')}"


_FLAG = re.compile(r"^--?[A-Za-z][\w-]*$")


def _flag_value(match: re.Match[str]) -> str:
    """`--password hunter2`: a value with a digit or symbol, not a word of prose."""
    value = match.group(2)
    if _PLACEHOLDER_VALUE.match(value) or value.isalpha() or _FLAG.match(value):
        return match.group(0)
    return keep_prefix(match)


#: `tenantId42`, `user_name`, `HTTPServer2`: words and a version digit, not a random key
_WORDY = re.compile(r"^(?:[A-Za-z][a-z]+|[A-Z]+|[_-])+\d{0,4}$")
_WORD_PART = re.compile(r"[A-Z]?[a-z]+")


def _is_wordy(value: str) -> bool:
    """Made of pronounceable words (each with a vowel): `tenantId42`, not `QwvnWtgd6`."""
    return bool(_WORDY.match(value)) and all(
        any(c in "aeiouyAEIOUY" for c in part) for part in _WORD_PART.findall(value))

_VERSION_OR_FILE = re.compile(r"^v?\d+(?:\.\d+)+(?:[-+.]\w+)*$|\.[A-Za-z]{1,4}$|^\d+$")


def _prose_value(match: re.Match[str]) -> str:
    """`my api key is 8f3kD9sLq2xV7bN1`: a random-looking word after a secret's name in a
    sentence (letters and digits, 8+ characters), not `v2.0.1`, `config.json` or `401`."""
    value = match.group(2).rstrip(".,;:!?)")
    looks_random = (len(value) >= 8 and any(c.isdigit() for c in value)
                    and any(c.isalpha() for c in value))
    if (not looks_random or _VERSION_OR_FILE.search(value) or _PLACEHOLDER_VALUE.match(value)
            or _CODE_REFERENCE.match(value) or _is_wordy(value)):
        return match.group(0)
    return match.group(1) + match.group(0)[len(match.group(1)):].replace(value, SECRET, 1)


def _authorization(match: re.Match[str]) -> str:
    """`Authorization: <token>`, unless the value is a template (`f"Bearer {key}"`)."""
    value = match.group(2)
    if len(value) < 8 or _PLACEHOLDER_VALUE.match(value):
        return match.group(0)
    return keep_prefix(match)


def _url_credentials(match: re.Match[str]) -> str:
    """`scheme://user:pw@host`, where the password may itself hold `@` or `/`."""
    return f"{match.group(1)}{SECRET}@"


_VALUE = (r"(?:(?P<quote>[\"'])(?P<qvalue>[^\"'\n]*)(?P=quote)"
          r"|(?P<value>[^\s\"',;()\[\]&`]+)(?P<call>[(\[])?)")

CONTEXT_RULES: tuple[Rule, ...] = (
    Rule("url-credentials", re.compile(
        r"(\b[a-zA-Z][a-zA-Z0-9+.-]{0,20}://)[^/\s:@]*:(?!\d+(?:/|$))\S{1,256}@(?=[A-Za-z0-9\[])"),
        _url_credentials, hints=("://",)),
    Rule("authorization", re.compile(
        r"(\bAuthorization[\"']?\s*[:=]\s*[\"']?(?:(?:Bearer|Basic|Bot|Token|Digest)\s+)?)"
        r"(?!\[secret\]|(?:Bearer|Basic|Bot|Token|Digest)\s)([^\s\"']+)", re.IGNORECASE),
        _authorization, hints=("authorization",)),
    Rule("bearer", re.compile(
        r"(\bBearer\s+)(?!\[secret\])[A-Za-z0-9._~+/=-]{8,}"), keep_prefix, hints=("bearer",)),
    Rule("aws-secret-key", re.compile(
        r"(\baws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9/+=]{40}"
        r"(?![A-Za-z0-9/+=])", re.IGNORECASE), keep_prefix, hints=("aws",)),
    Rule("key-value", re.compile(
        rf"(?P<key>(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]{{0,40}}?(?P<word>{_KEY_NAMES})\s*=(?!=)\s*){_VALUE}",
        re.IGNORECASE), _key_value, hints=("=",)),
    Rule("yaml-key", re.compile(
        rf"(?P<key>^[ \t]*(?:-[ \t]+)?[\"']?[A-Za-z0-9_.-]{{0,40}}?(?P<word>{_KEY_NAMES})[\"']?"
        rf"[ \t]*:[ \t]+){_VALUE}(?=[ \t]*(?:[,}}\]]|#|$))",
        re.IGNORECASE | re.MULTILINE), _yaml_value, hints=(":",)),
    Rule("quoted-pair", re.compile(
        rf"(?P<key>[\"'][A-Za-z0-9_.-]{{0,40}}?(?:{_KEY_NAMES})[\"']\s*:\s*[\"'])"
        r"(?P<value>[^\"'\s]*)(?P<end>[\"'])", re.IGNORECASE), _quoted_pair, hints=(":",)),
    Rule("prose", re.compile(
        r"(\b(?:password|passwd|passphrase|token|secret|api[ _-]?key|key)\s*"
        r"(?:(?:is|was|:)\s*[`'\"]?|[`'\"]))([^\s`'\"]+)", re.IGNORECASE), _prose_value,
        hints=("password", "passwd", "passphrase", "token", "secret", "key")),
    Rule("cli-flag", re.compile(
        r"((?<![\w-])--?(?:password|passwd|token|api-key|secret|client-secret)[ \t]+)"
        r"([^\s\"']+)", re.IGNORECASE), _flag_value, hints=("-",)),
)

_RULES: tuple[Rule, ...] = TOKEN_RULES + CONTEXT_RULES + PERSONAL_RULES


#: every rule's hints, checked once per text (redact_tokens.Rule)
_HINTS = tuple(sorted({hint for rule in _RULES for hint in rule.hints}))


def redact(text: str) -> str:
    """Return `text` with secrets, e-mail addresses, card and phone numbers replaced."""
    present = hints_in(text.lower(), _HINTS)
    for rule in _RULES:
        changed = rule.apply(text, present)
        if changed != text:
            text, present = changed, hints_in(changed.lower(), _HINTS)
    return text


def rule_names() -> list[str]:
    """The rules applied, in order (for docs and tests)."""
    return [rule.name for rule in _RULES]


def rules_fingerprint() -> str:
    """A digest of every rule's name and pattern: it changes whenever the rules do, so
    messages stored under older rules can be found and scrubbed again."""
    spec = "\n".join(f"{rule.name}\t{rule.pattern.pattern}" for rule in _RULES)
    return hashlib.sha256(spec.encode("utf-8")).hexdigest()[:16]


def without_placeholders(text: str) -> str:
    """`text` minus the redaction placeholders: what users wrote, for term statistics
    (a placeholder is docloop's word, never one to propose for the docs)."""
    return _ANY_PLACEHOLDER.sub("", text)
