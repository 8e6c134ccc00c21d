"""Settings, resolved once at the edge.

Order: explicit override (CLI flag) > environment (`DOCLOOP_*` and the SDK
names below) > `.env` beside the config > `docloop.toml` > default. A `.env`
holds environment names (any setting's, secrets included) and is read exactly
as python-dotenv reads it. Secrets come only from the environment or `.env`,
never from `docloop.toml`. Core code receives a `Settings` object and never
reads `os.environ`. Every mistake in a file is a one-line `ConfigError` naming
the file and the key.
"""

from __future__ import annotations

import io
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from dotenv.parser import parse_stream
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator

from docloop.errors import ConfigError

DEFAULT_CONFIG = "docloop.toml"

#: toml key -> environment variable
ENV_NAMES: dict[str, str] = {
    "home": "DOCLOOP_HOME",
    "analyzer": "DOCLOOP_ANALYZER",
    "llm_model": "DOCLOOP_LLM_MODEL",
    "llm_base_url": "OPENAI_BASE_URL",
    "llm_timeout_s": "DOCLOOP_LLM_TIMEOUT_S",
    "llm_concurrency": "DOCLOOP_LLM_CONCURRENCY",
    "llm_token_budget": "DOCLOOP_LLM_TOKEN_BUDGET",
    "embedder": "DOCLOOP_EMBEDDER",
    "embedding_model": "DOCLOOP_EMBEDDING_MODEL",
    "model_dir": "DOCLOOP_MODEL_DIR",
    "hf_home": "HF_HOME",
    "tracker": "DOCLOOP_TRACKER",
    "store": "DOCLOOP_STORE",
    "docs_index": "DOCLOOP_DOCS_INDEX",
    "dynamodb_table": "DOCLOOP_DYNAMODB_TABLE",
    "s3_bucket": "DOCLOOP_S3_BUCKET",
    "discord_api_base": "DOCLOOP_DISCORD_API_BASE",
    "linear_api_url": "DOCLOOP_LINEAR_API_URL",
    "linear_team_id": "LINEAR_TEAM_ID",
    "linear_project_id": "LINEAR_PROJECT_ID",
    "linear_labels": "DOCLOOP_LINEAR_LABELS",
    "linear_reopen_policy": "DOCLOOP_LINEAR_REOPEN_POLICY",
    "min_conversations": "DOCLOOP_MIN_CONVERSATIONS",
    "max_insights": "DOCLOOP_MAX_INSIGHTS",
    "since_days": "DOCLOOP_SINCE_DAYS",
    "sources": "DOCLOOP_SOURCES",
    "docs_base_url": "DOCLOOP_DOCS_BASE_URL",
    "docs_max_page_kb": "DOCLOOP_DOCS_MAX_PAGE_KB",
    "docs_max_chunks_per_page": "DOCLOOP_DOCS_MAX_CHUNKS_PER_PAGE",
    "pinecone_host": "DOCLOOP_PINECONE_HOST",
    "pinecone_namespace": "DOCLOOP_PINECONE_NAMESPACE",
    "review": "DOCLOOP_REVIEW",
    "review_regrow_factor": "DOCLOOP_REVIEW_REGROW_FACTOR",
    "discord_reply_on_done": "DOCLOOP_DISCORD_REPLY_ON_DONE",
}

#: secret field -> environment variable (never read from docloop.toml)
SECRET_NAMES: dict[str, str] = {
    "discord_bot_token": "DISCORD_BOT_TOKEN",
    "linear_api_key": "LINEAR_API_KEY",
    "linear_webhook_secret": "LINEAR_WEBHOOK_SECRET",
    "openai_api_key": "OPENAI_API_KEY",
    "pinecone_api_key": "PINECONE_API_KEY",
    "dashboard_token": "DOCLOOP_DASHBOARD_TOKEN",
}

LIST_FIELDS = {"linear_labels", "sources"}

#: the longest window a run reads (`--since` or `since_days`), in days: 100 years
MAX_SINCE_DAYS = 36500


class Settings(BaseModel):
    """Every knob docloop has. Field names are the `docloop.toml` keys."""

    model_config = {"extra": "forbid"}

    home: Path = Path(".docloop")
    analyzer: Literal["offline", "llm"] = "offline"
    llm_model: str = "gpt-4o-mini"
    llm_base_url: str | None = None
    llm_timeout_s: float = Field(60.0, gt=0)
    llm_concurrency: int = Field(4, ge=1, le=64)
    llm_token_budget: int = Field(200_000, ge=0)
    embedder: Literal["local", "openai"] = "local"
    embedding_model: str = "text-embedding-3-small"
    model_dir: Path | None = None
    hf_home: Path | None = None
    tracker: Literal["local", "linear", "none"] = "local"
    store: Literal["sqlite", "dynamodb"] = "sqlite"  # records, messages, insights, caches
    dynamodb_table: str | None = None  # store = "dynamodb": everything but messages
    s3_bucket: str | None = None  # messages (store = "dynamodb"), docs keyword store (pinecone)
    discord_api_base: str = "https://discord.com/api/v10"
    linear_api_url: str = "https://api.linear.app/graphql"
    linear_team_id: str | None = None
    linear_project_id: str | None = None
    linear_labels: list[str] = Field(default_factory=list)
    linear_reopen_policy: Literal["comment", "reopen", "new-linked-issue"] = "comment"
    min_conversations: int = Field(2, ge=1)
    max_insights: int = Field(10, ge=0)
    since_days: int | None = Field(None, ge=1, le=MAX_SINCE_DAYS)  # the default --since
    docs_base_url: str | None = None
    docs_max_page_kb: int = Field(1024, ge=0)  # larger pages are skipped (0 = no cap)
    docs_max_chunks_per_page: int = Field(500, ge=0)  # later chunks are dropped (0 = no cap)
    docs_index: Literal["sqlite", "pinecone"] = "sqlite"  # where the docs' vectors live
    pinecone_host: str | None = None  # the index's data-plane URL, as the console shows it
    pinecone_namespace: str | None = Field(None, min_length=1, max_length=500)
    sources: list[str] = Field(default_factory=list)
    review: bool = False  # a run proposes; a person accepts before a ticket is filed
    review_regrow_factor: float = Field(2.0, ge=1.0)  # a rejected insight returns at N x size
    discord_reply_on_done: bool = False  # reply in the Discord threads once a fix is done

    discord_bot_token: SecretStr | None = None
    linear_api_key: SecretStr | None = None
    linear_webhook_secret: SecretStr | None = None
    openai_api_key: SecretStr | None = None
    pinecone_api_key: SecretStr | None = None
    #: `token` or `name:token[,name:token...]`: what the review desk asks of every request
    dashboard_token: SecretStr | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """A NUL byte fits no path, URL, name or key; the OS would fail on it later."""
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("contains a NUL character; remove it")
        return value

    @property
    def db_path(self) -> Path:
        return self.home / "docloop.db"

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"


def load_settings(
    config_path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Resolve settings from all layers; raise ConfigError naming what is wrong."""
    env = dict(os.environ if environ is None else environ)
    base = cwd or Path.cwd()
    path = _config_file(config_path, base)
    dotenv_path = (path.parent if path else base) / ".env"
    layered = {**_read_dotenv(dotenv_path), **env}
    toml = _read_toml(path) if path else {}
    from_env = {**_from_env(layered), **_secrets(layered)}
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    origins = {key: f"in {path}" for key in toml}
    origins.update({key: _env_origin(key, env, dotenv_path) for key in from_env})
    origins.update({key: "from the command line" for key in flags})
    try:
        return Settings(**{**toml, **from_env, **flags})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origins)) from None


def _env_origin(key: str, env: Mapping[str, str], dotenv_path: Path) -> str:
    """Where a setting's environment value came from: the process or `.env`."""
    name = ENV_NAMES.get(key) or SECRET_NAMES.get(key) or key
    return f"from the environment ({name})" if name in env else f"from {name} in {dotenv_path}"


def _config_file(config_path: str | Path | None, base: Path) -> Path | None:
    if config_path is not None:
        path = Path(config_path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path} (check --config)")
        return path
    default = base / DEFAULT_CONFIG
    return default if default.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {_one_line(exc)}") from None
    table = _settings_table(data, path)
    for key in table:
        if key in SECRET_NAMES:
            raise ConfigError(
                f"{path}: '{key}' is a secret; set {SECRET_NAMES[key]} in the environment "
                "or .env instead of docloop.toml"
            )
    return table


def _settings_table(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """The settings: a `[docloop]` table, or the top level when there is none."""
    if "docloop" not in data:
        return dict(data)
    table = data["docloop"]
    if not isinstance(table, dict):
        raise ConfigError(
            f"{path}: 'docloop' must be the [docloop] table of settings, not "
            f"{type(table).__name__} {table!r}; write the settings under [docloop] "
            "or at the top level")
    outside = sorted(set(data) - {"docloop"})
    if outside:
        raise ConfigError(
            f"{path}: '{outside[0]}' is outside the [docloop] table; move it under [docloop]")
    return dict(table)


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, name in ENV_NAMES.items():
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        if key == "sources":  # a spec holds commas (discord:ID,ID): specs are space-separated
            values[key] = raw.split()
        else:
            values[key] = _split(raw) if key in LIST_FIELDS else raw
    return values


def _secrets(env: Mapping[str, str]) -> dict[str, Any]:
    return {key: env[name] for key, name in SECRET_NAMES.items() if env.get(name)}


def _read_dotenv(path: Path) -> dict[str, str]:
    """`.env` as python-dotenv reads it: `export`, quotes, comments, multi-line values.

    A line python-dotenv cannot parse is an error here, not a warning it logs,
    so a typo never silently drops a key.
    """
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            # the line itself is not echoed: it may hold a secret
            raise ConfigError(f"{path}:{binding.original.line}: not a KEY=VALUE line "
                              "(python-dotenv cannot parse it); fix or remove it")
    values = dotenv_values(stream=io.StringIO(text))
    return {key: value for key, value in values.items() if value is not None}


def _describe(exc: ValidationError, origins: Mapping[str, str]) -> str:
    """The first problem, where its value came from, and what to change."""
    first = exc.errors()[0]
    key = ".".join(str(p) for p in first["loc"])
    top = str(first["loc"][0]) if first["loc"] else key
    origin = origins.get(top, "")
    if first["type"] == "extra_forbidden":
        return (f"unknown setting '{key}' {origin}; "
                "see the Configuration section of the README for the names").replace("  ", " ")
    return f"invalid setting '{key}' {origin}: {_one_line(first['msg'])}".replace(" :", ":")


def _one_line(message: object) -> str:
    return " ".join(str(message).split())


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]
