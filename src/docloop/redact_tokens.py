"""Credential formats that identify themselves: vendor prefixes, key blocks, signed URLs.

The families follow the public rule lists of secret scanners (gitleaks,
detect-secrets): a token that carries its issuer's prefix (`ghp_`, `glpat-`,
`xoxb-`, `sk_live_`, `AIza`…) is a secret wherever it appears, so these rules
need no surrounding `key=` context. Each pattern demands the issuer's length
and alphabet so that words which merely start like a prefix survive.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

SECRET = "[secret]"

#: never inside a longer token: a prefix must start a word
_START = r"(?<![A-Za-z0-9_-])"
#: and the token must end there (`-` and `_` belong to most alphabets)
_END = r"(?![A-Za-z0-9_-])"


@dataclass(frozen=True)
class Rule:
    """One pattern and what replaces a match (a string or a function of it).

    `hints` are lower-case fragments every match contains: a text holding none
    of them is skipped without running the pattern (most chat holds no key).
    """

    name: str
    pattern: re.Pattern[str]
    replace: str | Callable[[re.Match[str]], str]
    hints: tuple[str, ...] = ()

    def apply(self, text: str, present: frozenset[str]) -> str:
        """`text` with every match replaced; `present` holds the hints (of every rule) the
        lower-cased text contains (`hints_in`), found once per text, not once per rule."""
        if self.hints and present.isdisjoint(self.hints):
            return text
        return self.pattern.sub(self.replace, text)


def hints_in(folded: str, hints: tuple[str, ...]) -> frozenset[str]:
    """The `hints` that the lower-cased text `folded` contains."""
    return frozenset(hint for hint in hints if hint in folded)


def keep_prefix(match: re.Match[str]) -> str:
    """Keep group 1 (the key name or URL that says what was there), drop the value."""
    return f"{match.group(1)}{SECRET}"


def _token(name: str, body: str, hints: tuple[str, ...] = ()) -> Rule:
    return Rule(name, re.compile(_START + body + _END), SECRET, hints)


def _url(name: str, prefix: str, secret: str, hints: tuple[str, ...] = ()) -> Rule:
    """A URL whose path is the credential: keep where it points, drop the secret part."""
    return Rule(name, re.compile(f"({prefix}){secret}"), keep_prefix, hints)



def _bare_secret(match: re.Match[str]) -> str:
    """40 base64 characters alone are an AWS secret key only if they look random:
    a commit hash is lower-case hex, a long identifier has few digits, an absolute
    path starts with a slash and has more."""
    token = match.group(0)
    path = token.startswith("/") and token.count("/") > 1
    mixed = (not path
             and sum(c.isupper() for c in token) >= 2 and sum(c.islower() for c in token) >= 2
             and sum(c.isdigit() for c in token) >= 2)
    return SECRET if mixed else token

TOKEN_RULES: tuple[Rule, ...] = (
    Rule("private-key-block", re.compile(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?"
        r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)", re.DOTALL), SECRET,
            hints=("private key",)),
    Rule("putty-private-key", re.compile(
        r"PuTTY-User-Key-File-\d:.*?(?:Private-MAC: [0-9a-f]+|\Z)", re.DOTALL), SECRET,
            hints=("putty-user-key-file",)),
    _url("discord-webhook", r"https?://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api"
                            r"(?:/v\d+)?/webhooks/\d{15,21}/", r"[A-Za-z0-9_-]{40,}",
                                hints=("/webhooks/",)),
    _url("slack-webhook", r"https?://hooks\.slack\.com/(?:services|workflows|triggers)/",
         r"[A-Za-z0-9_/-]{20,}", hints=("hooks.slack.com",)),
    _url("teams-webhook", r"https://[\w.-]+\.webhook\.office\.com/webhookb2/",
         r"[A-Za-z0-9@/_-]{40,}", hints=("webhook.office.com",)),
    _token("jwt", r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}",
        hints=("eyj",)),
    _token("discord-bot-token",
           r"[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}"),
    # OpenAI (sk-, sk-proj-, sk-svcacct-, sk-admin-), Anthropic (sk-ant-api03-…), OpenRouter
    _token("sk-api-key", r"sk-[A-Za-z0-9_-]{20,}", hints=("sk-",)),
    _token("stripe-key", r"(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,}",
        hints=("_live_", "_test_", "_prod_")),
    _token("webhook-signing-secret", r"whsec_[A-Za-z0-9+/=]{24,}", hints=("whsec_",)),
    _token("aws-access-key-id", r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}",
        hints=("akia", "asia", "abia", "acca", "a3t")),
    _token("github-token", r"(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})",
        hints=("gh", "github_pat_")),
    _token("gitlab-token",
           r"(?:gl(?:pat|dt|rt|ptt|ft|cbt|imt|oas|soat|agent)-[A-Za-z0-9_-]{20,}"
           r"|GR1348941[A-Za-z0-9_-]{20})", hints=("gl", "gr1348941")),
    _token("slack-token", r"(?:xox[abposre]-[A-Za-z0-9-]{10,}|xoxe\.xox[bp]-\d-[A-Za-z0-9]{20,}"
                          r"|xapp-\d-[A-Za-z0-9-]{20,})", hints=("xox", "xapp-")),
    _token("google-api-key", r"AIza[A-Za-z0-9_-]{35}", hints=("aiza",)),
    _token("google-oauth", r"(?:GOCSPX-[A-Za-z0-9_-]{28}|ya29\.[A-Za-z0-9_-]{20,})",
        hints=("gocspx-", "ya29.")),
    _token("huggingface-token", r"(?:hf_|api_org_)[A-Za-z0-9]{30,}", hints=("hf_", "api_org_")),
    _token("sendgrid-key", r"SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}", hints=("sg.",)),
    _token("linear-key", r"lin_(?:api|oauth|wh)_[A-Za-z0-9]{20,}", hints=("lin_",)),
    _token("npm-token", r"npm_[A-Za-z0-9]{36}", hints=("npm_",)),
    _token("pypi-token", r"pypi-AgE[A-Za-z0-9_-]{50,}", hints=("pypi-",)),
    _token("twilio-api-key", r"SK[0-9a-fA-F]{32}"),
    _token("azure-ad-client-secret", r"[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}", hints=("q~",)),
    _token("prefixed-api-key",
           r"(?:dop_v1_[a-f0-9]{64}|shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}|sbp_[a-f0-9]{40}"
           r"|pcsk_[A-Za-z0-9_]{40,}|gsk_[A-Za-z0-9]{40,}|r8_[A-Za-z0-9]{30,}"
           r"|pplx-[A-Za-z0-9]{40,}|xai-[A-Za-z0-9]{40,}|tvly-[A-Za-z0-9-]{20,}"
           r"|lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}|sntrys_[A-Za-z0-9+/=_]{40,}"
           r"|glsa_[A-Za-z0-9_]{32,}|glc_[A-Za-z0-9+/=_-]{32,}|PMAK-[a-f0-9]{24}-[a-f0-9]{34}"
           r"|figd_[A-Za-z0-9_-]{30,}|ntn_[A-Za-z0-9]{40,}|secret_[A-Za-z0-9]{43}"
           r"|HRKU-[A-Za-z0-9_-]{30,}|ATATT3[A-Za-z0-9_=-]{100,}|dapi[a-f0-9]{32}"
           r"|key-[0-9a-zA-Z]{32}|[0-9a-f]{32}-us\d{1,2}|AGE-SECRET-KEY-1[0-9A-Z]{58}"
           r"|rubygems_[a-f0-9]{48}|dp\.(?:pt|st|sa|ct)\.[A-Za-z0-9]{40,})"),
    Rule("telegram-bot-token", re.compile(
        r"(?<![\w:/.-])\d{8,10}:AA[A-Za-z0-9_-]{33}" + _END), SECRET, hints=(":aa",)),
    Rule("aws-secret-key-bare", re.compile(
        r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/]{40}(?![A-Za-z0-9+/=_-])"), _bare_secret),
)
