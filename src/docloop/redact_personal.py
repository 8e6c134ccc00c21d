"""Personal data in chat text: e-mail addresses, payment card numbers, phone numbers.

Numbers are the hard part: chat about code is full of digit runs (Discord
snowflakes, timestamps, dates, ports, versions, IP addresses, line numbers).
A run is only a card number when its issuer prefix, length and Luhn check
digit agree, and only a phone number when libphonenumber (Google's numbering
plan data, via `phonenumbers`) says it is one: any `+`/`00` number that is
possible in its country, and a national number written with a trunk `0` and
separators that is valid in one of the regions developers most often write from.
"""

from __future__ import annotations

import re
from functools import lru_cache

from docloop.redact_tokens import Rule

EMAIL = "[email]"
PHONE = "[phone]"
CARD = "[card]"

#: regions tried for a national number (`07911 123456`, `030 1234567`, `06 12 34 56 78`)
NATIONAL_REGIONS = ("GB", "DE", "FR", "IN", "AU", "NL", "IT", "BR", "JP", "ES", "PL", "SE",
                    "CH", "AT", "BE", "IE", "NZ", "ZA", "NG", "MX", "US", "CA")

#: issuer prefixes (IIN) and the lengths each issues, from the card networks' public ranges
_CARD_ISSUERS = (
    (re.compile(r"4"), {13, 16, 19}),                                  # Visa
    (re.compile(r"5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)"), {16}),       # Mastercard
    (re.compile(r"3[47]"), {15}),                                      # American Express
    (re.compile(r"6(?:011|5|4[4-9])"), {16, 19}),                      # Discover
    (re.compile(r"35(?:2[89]|[3-8])"), {16, 19}),                      # JCB
    (re.compile(r"3(?:0[0-5]|[68])"), {14}),                           # Diners Club
    (re.compile(r"62"), {16, 17, 18, 19}),                             # UnionPay
)


def _email(match: re.Match[str]) -> str:
    """`git@github.com:org/repo` is an SSH remote, not an address."""
    if match.group("local").lower() == "git" and match.group("after") == ":":
        return match.group(0)
    return EMAIL + match.group("after")


def luhn_valid(digits: str) -> bool:
    """The check digit every payment card carries (ISO/IEC 7812)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def is_card_number(digits: str) -> bool:
    """Issuer prefix, length and Luhn digit all fit a payment card."""
    return luhn_valid(digits) and any(
        prefix.match(digits) and len(digits) in lengths for prefix, lengths in _CARD_ISSUERS)


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return CARD if is_card_number(digits) else match.group(0)


@lru_cache(maxsize=4096)
def is_phone_number(text: str) -> bool:
    """International numbers possible in their country, or national ones valid somewhere.
    (libphonenumber's data loads on the first candidate: most chat never has one.)"""
    import phonenumbers

    compact = text.strip()
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    try:
        if compact.startswith("+"):
            return phonenumbers.is_possible_number(phonenumbers.parse(compact, None))
        return any(phonenumbers.is_valid_number(phonenumbers.parse(compact, region))
                   for region in NATIONAL_REGIONS)
    except phonenumbers.NumberParseException:
        return False


#: `2024-03-15`, `05.11.2024`, `15/03/24` (optionally followed by a time or a count): a date,
#: though `0511 2024` is a Hannover number; `06.12.34.56.78` goes on, so it is not a date
_DATE = re.compile(r"^(?:(?:19|20)\d\d([./-])\d\d?\1\d\d?|\d\d?([./-])\d\d?\2(?:19|20)?\d\d)"
                   r"(?![./-]?\d)")


def _phone(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    if _DATE.match(match.group(0)):
        return match.group(0)
    if 8 <= digits <= 15 and is_phone_number(match.group(0)):
        return PHONE
    return match.group(0)


def _grouped_phone(match: re.Match[str]) -> str:
    """`612 31 06 37`, `200 132 4520`: national numbers with no trunk prefix, but not
    `100 000 000` (thousands), `10.20.30.40` (an address) or a date."""
    text = match.group(0)
    groups = re.split(r"[ .-]", text)
    digits = sum(len(group) for group in groups)
    thousands = all(len(group) == 3 for group in groups[1:])
    address = match.group(1) == "." and all(len(group) <= 3 for group in groups)
    if not 9 <= digits <= 11 or thousands or address:
        return text
    return _phone(match)


_NOT_BEFORE = r"(?<![\w+.,:/#=-])"
_NOT_AFTER = r"(?![\w:/-]|[.,]\d)"

PERSONAL_RULES: tuple[Rule, ...] = (
    Rule("email", re.compile(
        r"(?<![\w.%+-])(?P<local>[A-Za-z0-9][A-Za-z0-9._%+-]*)@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
        r"\.[A-Za-z]{2,}\b(?P<after>:?)"), _email, hints=("@",)),
    Rule("card-number", re.compile(
        _NOT_BEFORE + r"(?:\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5}"
        r"|\d{14,16})" + _NOT_AFTER), _card),
    Rule("phone-international", re.compile(
        _NOT_BEFORE + r"(?:\+|00)\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){1,6}" + _NOT_AFTER), _phone,
            hints=("+", "00")),
    Rule("phone-national", re.compile(
        _NOT_BEFORE + r"(?:0\d{1,5}|\(0?\d{1,4}\))(?:[ .-]\d{2,8}){1,4}" + _NOT_AFTER), _phone),
    Rule("phone-grouped", re.compile(
        _NOT_BEFORE + r"[1-9]\d{1,3}(?:([ .-])\d{2,4}){2,4}" + _NOT_AFTER), _grouped_phone),
    Rule("phone-north-american", re.compile(
        r"(?<![\w.-])(?:1[-. ])?(?:\(\d{3}\)\s?|\d{3}[-.])\d{3}[-.]\d{4}(?![\w-]|\.\d)"), PHONE),
)
