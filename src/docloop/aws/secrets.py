"""docloop's secrets on AWS: one Secrets Manager secret, a JSON object read once per container.

The secret holds the same names the CLI reads from the environment
(`DISCORD_BOT_TOKEN`, `LINEAR_API_KEY`, `LINEAR_WEBHOOK_SECRET`, `OPENAI_API_KEY`,
`PINECONE_API_KEY`); a function finds it by the id in `DOCLOOP_SECRET_ID`. The
value is fetched through Powertools' parameters utility and kept for the
container's life: a Lambda container is recycled well within a rotation period,
and one read per container instead of one per invocation is what keeps Secrets
Manager off the bill. A key outside that list, or a value that is not a JSON
object of strings, is a ConfigError naming the secret and the key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from docloop.config import SECRET_NAMES
from docloop.errors import ConfigError

#: the environment variable naming the secret (its name or ARN)
SECRET_ID_VARIABLE = "DOCLOOP_SECRET_ID"
ALLOWED_KEYS = frozenset(SECRET_NAMES.values())
#: Powertools' cache age, in seconds: the container's life (functools.cache holds it anyway)
MAX_AGE_S = 24 * 3600


def secret_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` with the secret's values added (a variable already set wins)."""
    secret_id = environ.get(SECRET_ID_VARIABLE, "")
    if not secret_id:
        return dict(environ)
    return {**read_secret(secret_id), **environ}


@cache
def read_secret(secret_id: str) -> dict[str, str]:
    """The secret's JSON object, checked; fetched once per container."""
    from aws_lambda_powertools.utilities.parameters import get_secret

    raw = get_secret(secret_id, max_age=MAX_AGE_S)
    return parse_secret(secret_id, raw)


def parse_secret(secret_id: str, raw: Any) -> dict[str, str]:
    """The secret string as {NAME: value}; ConfigError naming the secret and the key."""
    try:
        value = json.loads(raw) if isinstance(raw, str | bytes) else raw
    except json.JSONDecodeError:
        raise ConfigError(f"secret {secret_id}: not a JSON object; store "
                          '{"LINEAR_API_KEY": "...", ...}') from None
    if not isinstance(value, dict):
        raise ConfigError(f"secret {secret_id}: not a JSON object; store "
                          '{"LINEAR_API_KEY": "...", ...}')
    for key, item in value.items():
        if key not in ALLOWED_KEYS:
            known = ", ".join(sorted(ALLOWED_KEYS))
            raise ConfigError(f"secret {secret_id}: unknown key '{key}' (use {known})")
        if not isinstance(item, str):
            raise ConfigError(f"secret {secret_id}: '{key}' must be a string")
    return {key: item for key, item in value.items() if item}
