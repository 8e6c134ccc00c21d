"""A thin, accountable wrapper over the official `openai` SDK.

Works with OpenAI and any OpenAI-compatible server (Ollama, vLLM, LM Studio)
through `base_url`. What it adds on top of the SDK, and why:

- structured output: `response_format` `json_schema` first; a server that
  rejects it with a 4xx (400/415/422) is asked again in JSON mode, with the
  schema written into the system prompt, for the rest of the run;
- retries we can see and test: the SDK's own retries are off (`max_retries=0`)
  and a tenacity loop retries 429 (honouring `retry-after-ms`/`retry-after`,
  else the `x-ratelimit-reset-*` time of the exhausted limit), 408/409, 5xx,
  timeouts and connection errors with capped exponential backoff; a 429
  `insufficient_quota` fails at once (waiting never helps);
- errors a user must fix are configuration errors (exit 2): a refused key
  (401/403) or an unknown model (404 `model_not_found`);
- a preflight (`check_models`): one `GET /models` before a run writes
  anything, proving the key and, when the server lists models, the names;
- refusals (`message.refusal`, content null) and truncated answers come back
  as a `Reply` the caller judges, not as exceptions;
- accounting: tokens from `usage` (estimated from characters when a server
  omits it), cost from a small per-model price table, per stage;
- a per-run token budget: once spent, calls raise `BudgetExhausted` and the
  caller keeps what is done.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from docloop.config import Settings
from docloop.errors import (
    ConfigError,
    DocloopError,
    MissingDependencyError,
    PermanentError,
    TransientError,
)
from docloop.models import LLMStats

log = logging.getLogger("docloop.llm")

#: USD per 1M tokens (input, output); published list prices, November 2026.
#: Unknown models (local servers) cost 0. Override with `LLMClient(prices=...)`.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "text-embedding-3-small": (0.02, 0.0),
    "text-embedding-3-large": (0.13, 0.0),
}
CHARS_PER_TOKEN = 4
MAX_RETRY_AFTER_S = 60.0
SCHEMA_REJECTED = frozenset({400, 415, 422})
PLACEHOLDER_KEY = "sk-no-key-needed"
NO_ROUTE = frozenset({404, 405})  # a server or gateway that does not serve GET /models
#: the environment name of each model setting, for error messages
SETTING_ENV = {"llm_model": "DOCLOOP_LLM_MODEL", "embedding_model": "DOCLOOP_EMBEDDING_MODEL"}


def estimate_tokens(text: str) -> int:
    """A model-agnostic token estimate (≈4 characters per token) for budgeting."""
    return max(1, len(text) // CHARS_PER_TOKEN)


class BudgetExhausted(DocloopError):
    """The run's token budget is spent; no further calls are made."""


class RequestRejected(PermanentError):
    """The server refused this one request (4xx); other requests may still work."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Reply:
    """One chat completion: the text, why it stopped, and what it cost."""

    content: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    refusal: str | None = None


@dataclass
class Usage:
    """Thread-safe token and cost counters, in total and per stage."""

    prices: Mapping[str, tuple[float, float]]
    total: LLMStats = field(default_factory=LLMStats)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, stage: str, model: str, prompt: int, completion: int) -> None:
        price_in, price_out = self.prices.get(model, (0.0, 0.0))
        cost = (prompt * price_in + completion * price_out) / 1_000_000
        with self._lock:
            for stats in (self.total, self.total.by_stage.setdefault(stage, LLMStats())):
                stats.calls += 1
                stats.prompt_tokens += prompt
                stats.completion_tokens += completion
                stats.cost_usd = round(stats.cost_usd + cost, 6)

    def record_cached(self, stage: str) -> None:
        with self._lock:
            self.total.cached += 1
            self.total.by_stage.setdefault(stage, LLMStats()).cached += 1

    @property
    def tokens(self) -> int:
        return self.total.prompt_tokens + self.total.completion_tokens


class LLMClient:
    """Chat and embedding calls with retries, JSON-mode fallback, usage and budget."""

    def __init__(self, settings: Settings, *, http_client: Any = None, openai_client: Any = None,
                 prices: Mapping[str, tuple[float, float]] | None = None,
                 max_attempts: int = 4, sleep: Callable[[float], None] = time.sleep,
                 token_budget: int | None = None) -> None:
        self.model = settings.llm_model
        self.budget = settings.llm_token_budget if token_budget is None else token_budget
        self.usage = Usage(prices={**DEFAULT_PRICES, **(prices or {})})
        self.json_mode = False
        self._client = openai_client or _make_openai(settings, http_client)
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._reserved = 0
        self._lock = threading.Lock()

    def chat(self, stage: str, messages: Sequence[dict[str, str]], schema_name: str,
             schema: dict[str, Any], max_tokens: int) -> Reply:
        """One structured completion (retried on transient failures)."""
        estimate = sum(estimate_tokens(m["content"]) for m in messages)
        self._reserve(estimate)
        try:
            reply = self._retrying(lambda: self._chat_once(messages, schema_name, schema,
                                                           max_tokens))
        finally:
            self._release(estimate)
        self.usage.record(stage, self.model, reply.prompt_tokens, reply.completion_tokens)
        return reply

    def embed(self, model: str, inputs: Sequence[str]) -> list[list[float]]:
        """Float vectors for `inputs`, in order (one request; the caller batches)."""
        estimate = sum(estimate_tokens(text) for text in inputs)
        self._reserve(estimate)
        try:
            response = self._retrying(lambda: _sdk_call(
                self._client.embeddings.create, model=model, input=list(inputs),
                encoding_format="float", setting="embedding_model"))
        finally:
            self._release(estimate)
        usage = getattr(response, "usage", None)
        tokens = getattr(usage, "prompt_tokens", None) or estimate
        self.usage.record("embed", model, tokens, 0)
        ordered = sorted(response.data, key=lambda item: item.index)
        return [list(item.embedding) for item in ordered]

    def check_models(self, models: Mapping[str, str]) -> None:
        """Prove the key and the model names (setting -> model) with one `GET /models`.

        Run before anything is written, so a wrong key or model is exit 2 with
        nothing stored. A server without the route (some gateways 404 it) or
        with an empty list proves only the key; Ollama lists `name:latest` for
        a model asked for as `name`.
        """
        served = self._retrying(self._list_models)
        if not served:
            log.debug("the LLM server lists no models; model names not checked")
            return
        for setting, model in models.items():
            if model not in served and f"{model}:latest" not in served:
                shown = ", ".join(sorted(served)[:10])
                raise ConfigError(f"the LLM server does not serve {setting} '{model}' "
                                  f"({SETTING_ENV.get(setting, setting)}); it lists: {shown}. "
                                  "Set that setting to one of them (or pull/deploy the model)")

    def _list_models(self) -> set[str]:
        """Model ids the server lists; empty when it has no `/models` route."""
        openai = _import_openai()
        try:
            page = self._client.models.list()
        except openai.APIStatusError as exc:
            if exc.status_code in NO_ROUTE:
                log.debug("the LLM server has no /models (%s); model names not checked",
                          exc.status_code)
                return set()
            raise _classify(exc, openai, "the model list") from exc
        except openai.APIError as exc:
            raise _classify(exc, openai, "the model list") from exc
        return {str(model.id) for model in page.data}

    def budget_left(self) -> int | None:
        """Tokens still available this run (None when unlimited)."""
        if not self.budget:
            return None
        return max(0, self.budget - self.usage.tokens - self._reserved)

    def _reserve(self, estimate: int) -> None:
        with self._lock:
            if self.budget and self.usage.tokens + self._reserved >= self.budget:
                raise BudgetExhausted(
                    f"LLM token budget of {self.budget} reached "
                    f"({self.usage.tokens} used); raise llm_token_budget to analyse more")
            self._reserved += estimate

    def _release(self, estimate: int) -> None:
        with self._lock:
            self._reserved -= estimate

    def _chat_once(self, messages: Sequence[dict[str, str]], schema_name: str,
                   schema: dict[str, Any], max_tokens: int) -> Reply:
        json_mode = (_with_schema_text(messages, schema), {"type": "json_object"})
        if self.json_mode:
            return self._create(*json_mode, max_tokens)
        try:
            return self._create(messages, _json_schema_format(schema_name, schema), max_tokens)
        except RequestRejected as exc:
            if exc.status not in SCHEMA_REJECTED:
                raise
            reply = self._create(*json_mode, max_tokens)  # a second 4xx: not the format
            log.warning("server rejected json_schema output (%s); using JSON mode", exc)
            self.json_mode = True
            return reply

    def _create(self, messages: Sequence[dict[str, str]], response_format: dict[str, Any],
                max_tokens: int) -> Reply:
        completion = _sdk_call(self._client.chat.completions.create, model=self.model,
                               messages=list(messages), response_format=response_format,
                               max_tokens=max_tokens, temperature=0, setting="llm_model")
        choice = completion.choices[0]
        content = choice.message.content or ""
        usage = completion.usage
        prompt = usage.prompt_tokens if usage else sum(
            estimate_tokens(m["content"]) for m in messages)
        completion_tokens = usage.completion_tokens if usage else estimate_tokens(content)
        return Reply(content=content, finish_reason=choice.finish_reason or "stop",
                     prompt_tokens=prompt, completion_tokens=completion_tokens,
                     refusal=getattr(choice.message, "refusal", None))

    def _retrying(self, call: Callable[[], Any]) -> Any:
        retryer = Retrying(retry=retry_if_exception_type(TransientError),
                           stop=stop_after_attempt(self._max_attempts), wait=_wait,
                           sleep=self._sleep, reraise=True, before_sleep=_log_retry)
        return retryer(call)


def _wait(state: RetryCallState) -> float:
    """Retry-After when the server gave one (capped), else 0.5 s doubling to 8 s."""
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, TransientError) and exc.retry_after is not None:
        return min(exc.retry_after, MAX_RETRY_AFTER_S)
    return float(min(8.0, 0.5 * 2 ** (state.attempt_number - 1)))


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning("LLM call failed (%s); retry %d", exc, state.attempt_number)


def _sdk_call(method: Callable[..., Any], setting: str, **kwargs: Any) -> Any:
    """Call the SDK, turning its errors into docloop's typed errors.

    `setting` names the setting that chose `kwargs["model"]`, for the message
    when the server does not know the model.
    """
    openai = _import_openai()
    try:
        return method(**kwargs)
    except openai.APIError as exc:
        raise _classify(exc, openai, f"{setting} '{kwargs.get('model')}'") from exc


def _classify(exc: Exception, openai: Any, model: str) -> DocloopError:
    """Map an SDK error to transient (retry), per-request rejection, or fatal."""
    if isinstance(exc, openai.APIConnectionError):  # includes timeouts
        return TransientError(f"LLM server unreachable or slow: {exc}")
    status = getattr(exc, "status_code", 0)
    code = getattr(exc, "code", None)
    if status == 429 and code == "insufficient_quota":
        return PermanentError("LLM API quota exhausted (429 insufficient_quota): add credit or "
                              "raise the limit in the provider's billing settings")
    if status in (408, 409, 429) or status >= 500:
        return TransientError(f"LLM server answered {status}", retry_after=_retry_after(exc))
    if status in (401, 403):
        return ConfigError(f"the LLM server refused the key ({status} {code or 'forbidden'}): "
                           "check OPENAI_API_KEY (and OPENAI_BASE_URL)")
    if status == 404:
        return ConfigError(f"the LLM server does not know {model} (404 {code or 'not found'}): "
                           "check that setting and OPENAI_BASE_URL")
    return RequestRejected(f"LLM server rejected the request ({status}): {exc}", status)


def _retry_after(exc: Any) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date), else from
    the `x-ratelimit-reset-*` header of the limit that ran out."""
    response = getattr(exc, "response", None)
    headers = response.headers if response is not None else {}
    if headers.get("retry-after-ms"):
        try:
            return float(headers["retry-after-ms"]) / 1000
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return _ratelimit_reset(headers)
    try:
        return max(0.0, float(raw))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(raw).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _ratelimit_reset(headers: Mapping[str, str]) -> float | None:
    """The longest reset time among exhausted limits (`x-ratelimit-remaining-*: 0`)."""
    waits = [_duration(headers.get(f"x-ratelimit-reset-{kind}", ""))
             for kind in ("requests", "tokens")
             if headers.get(f"x-ratelimit-remaining-{kind}") == "0"]
    known = [w for w in waits if w is not None]
    return max(known) if known else None


def _duration(text: str) -> float | None:
    """OpenAI's reset durations: `12ms`, `1.5s`, `6m0s`, `1h2m3s`."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(number) * scale[unit] for number, unit in parts)


def _json_schema_format(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema,
                                                   "strict": True}}


def _with_schema_text(messages: Sequence[dict[str, str]],
                      schema: dict[str, Any]) -> list[dict[str, str]]:
    """JSON mode has no schema parameter, so the schema goes into the system prompt."""
    note = "\nYour answer must be one JSON object valid against this JSON schema:\n"
    first, *rest = messages
    system = {"role": first["role"], "content": first["content"] + note + json.dumps(schema)}
    return [system, *rest]


def _import_openai() -> Any:
    try:
        import openai
    except ImportError:
        raise MissingDependencyError("llm", "llm") from None
    return openai


def _make_openai(settings: Settings, http_client: Any) -> Any:
    """The SDK client; a local server without a key gets a placeholder key."""
    openai = _import_openai()
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    if not key and not settings.llm_base_url:
        raise ConfigError("LLM mode needs OPENAI_API_KEY, or OPENAI_BASE_URL pointing at a "
                          "local OpenAI-compatible server (Ollama, vLLM)")
    kwargs: dict[str, Any] = {"api_key": key or PLACEHOLDER_KEY, "base_url": settings.llm_base_url,
                              "timeout": settings.llm_timeout_s, "max_retries": 0}
    if http_client is not None:
        kwargs["http_client"] = http_client
    return openai.OpenAI(**kwargs)
