"""A local fake OpenAI-compatible server (real HTTP on 127.0.0.1).

Serves `POST /v1/chat/completions`, `POST /v1/embeddings` and `GET /v1/models`
in the response shapes the official API uses, so the real `openai` SDK (which talks through
httpx2 and cannot be intercepted by respx) is exercised end to end. Each
test scripts it: `script` holds replies consumed first, then `chat` (a
function of the request body) answers. It counts calls and tokens.

Besides success it answers every documented failure in the API's error body
`{"error": {"message", "type", "param", "code"}}`: a wrong key (401
`invalid_api_key`), an unknown model (404 `model_not_found`, when `models`
is set), 429 `rate_limit_exceeded` with `retry-after` and `x-ratelimit-*`
headers or `insufficient_quota`, 5xx, a `response_format` the server rejects
(400), answers cut off at `finish_reason: "length"` and refusals
(`message.refusal` set, content null). Embeddings have a per-model
dimension (`embedding_dims`, default `embedding_dim`), as Ollama and vLLM
serve models docloop does not know; vectors are hashed bags of words, so
texts sharing words are close, as with a real model.

`GET /v1/models` answers OpenAI's list (`{"object": "list", "data": [{"id",
"object": "model", "created", "owned_by"}]}`) of `models` (empty when any
model is served), a wrong key with the same 401, and with `models_route=False`
the bare 404 of a server or gateway that has no such route; `models_script`
holds replies (a 5xx) it gives first.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.local_server import ServedFake, send_json

CHARS_PER_TOKEN = 4
MAX_EMBEDDING_INPUTS = 2048  # API-FACTS §5


@dataclass
class Reply:
    """What the server sends back: status, JSON body (or raw text), headers, delay."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def tokens(text: str) -> int:
    return max(1, len(text) // CHARS_PER_TOKEN)


def completion(content: str, finish_reason: str = "stop") -> Reply:
    """A chat completion whose message content is `content` (usage filled in later)."""
    return Reply(body={"choices": [{"index": 0, "finish_reason": finish_reason,
                                    "logprobs": None,
                                    "message": {"role": "assistant", "content": content,
                                                "refusal": None}}]})


def error(status: int, message: str = "error", code: str | None = None,
          headers: dict[str, str] | None = None, kind: str = "invalid_request_error",
          param: str | None = None) -> Reply:
    """An error in the API's `{"error": {...}}` shape."""
    return Reply(status=status, headers=headers or {},
                 body={"error": {"message": message, "type": kind, "param": param,
                                 "code": code}})


def invalid_api_key() -> Reply:
    return error(401, "Incorrect API key provided: sk-wrong. You can find your API key at "
                 "https://platform.openai.com/account/api-keys.", code="invalid_api_key")


def model_not_found(model: str) -> Reply:
    return error(404, f"The model `{model}` does not exist or you do not have access to it.",
                 code="model_not_found")


def rate_limited(retry_after: str | None = "2", kind: str = "requests",
                 self_hosted: bool = False) -> Reply:
    """429 `rate_limit_exceeded` with the headers OpenAI sends (API-FACTS §5); a
    self-hosted server (Ollama, vLLM, behind a proxy) sends no `x-ratelimit-*`."""
    headers = {} if self_hosted else {
        "x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "12ms", "x-ratelimit-limit-tokens": "200000",
        "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s"}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    return error(429, f"Rate limit reached for {kind} per min (RPM): Limit 500, Used 500.",
                 code="rate_limit_exceeded", kind=kind, headers=headers)


def insufficient_quota() -> Reply:
    return error(429, "You exceeded your current quota, please check your plan and billing "
                 "details.", code="insufficient_quota", kind="insufficient_quota")


def server_error(status: int = 500) -> Reply:
    message = ("The server had an error while processing your request." if status == 500
               else "The engine is currently overloaded, please try again later.")
    return error(status, message, kind="server_error")


def schema_rejected() -> Reply:
    """A server that does not do `json_schema` structured output."""
    return error(400, "Invalid parameter: 'response_format' of type 'json_schema' is not "
                 "supported with this model.", param="response_format")


def truncated(content: str) -> Reply:
    """An answer cut off at `max_tokens`: the JSON stops mid-way."""
    return completion(content[: max(1, len(content) // 2)], finish_reason="length")


def refusal(text: str = "I'm sorry, I can't help with that request.") -> Reply:
    """A refusal: `message.refusal` holds the text and `content` is null."""
    return Reply(body={"choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                                    "message": {"role": "assistant", "content": None,
                                                "refusal": text}}]})


ChatHandler = Callable[[dict[str, Any]], "Reply | str"]


class FakeOpenAI(ServedFake):
    """The server; use as a context manager. `base_url` ends in /v1."""

    def __init__(self, chat: ChatHandler | None = None, embedding_dim: int = 8, *,
                 embedding_dims: dict[str, int] | None = None, models: set[str] | None = None,
                 api_key: str | None = None, models_route: bool = True) -> None:
        self.models_route = models_route
        self.models_script: deque[Reply] = deque()  # answers GET /v1/models gives first
        self.chat = chat or (lambda request: '{"problems": []}')
        self.script: deque[Reply | str] = deque()
        self.embedding_dim = embedding_dim
        self.embedding_dims = embedding_dims or {}
        self.models = models
        self.api_key = api_key
        self.chat_requests: list[dict[str, Any]] = []
        self.embedding_requests: list[dict[str, Any]] = []
        self.calls: Counter[str] = Counter()
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.abandoned = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._handler = _handler_for(self)

    @property
    def base_url(self) -> str:
        return f"{self.origin()}/v1"

    @property
    def chat_calls(self) -> int:
        return self.calls["/v1/chat/completions"]

    def answer(self, path: str, request: dict[str, Any], authorization: str = "") -> Reply:
        with self._lock:
            self.calls[path] += 1
            scripted = self.script.popleft() if self.script else None
        refused = self._refuse(request, authorization)
        if refused is not None:
            return refused
        if path.endswith("/embeddings"):
            self.embedding_requests.append(request)
            return scripted if isinstance(scripted, Reply) else self._embeddings(request)
        self.chat_requests.append(request)
        reply = scripted if scripted is not None else self.chat(request)
        reply = completion(reply) if isinstance(reply, str) else reply
        return self._account(request, reply)

    def list_models(self, path: str, authorization: str) -> Reply:
        """`GET /v1/models`: the key is checked first, as on every route."""
        with self._lock:
            self.calls[path] += 1
            if self.models_script:
                return self.models_script.popleft()
        if not self.models_route or path.rstrip("/") != "/v1/models":
            return Reply(status=404, body={"detail": "Not Found"})
        refused = self._refuse({}, authorization)
        if refused is not None:
            return refused
        data = [{"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "system"}
                for name in sorted(self.models or ())]
        return Reply(body={"object": "list", "data": data})

    def _refuse(self, request: dict[str, Any], authorization: str) -> Reply | None:
        """A wrong key or an unknown model, checked before anything else, as the API does."""
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            return invalid_api_key()
        model = str(request.get("model", ""))
        if self.models is not None and "model" in request and model not in self.models:
            return model_not_found(model)
        return None

    def _account(self, request: dict[str, Any], reply: Reply) -> Reply:
        if reply.status != 200 or not isinstance(reply.body, dict):
            return reply
        prompt = sum(tokens(m.get("content") or "") for m in request.get("messages", []))
        content = reply.body["choices"][0]["message"].get("content") or ""
        done = tokens(content)
        with self._lock:
            self.prompt_tokens += prompt
            self.completion_tokens += done
        body = {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                "model": request.get("model", ""), "system_fingerprint": None, **reply.body,
                "usage": {"prompt_tokens": prompt, "completion_tokens": done,
                          "total_tokens": prompt + done}}
        return Reply(reply.status, body, reply.headers, reply.delay)

    def _embeddings(self, request: dict[str, Any]) -> Reply:
        inputs = request["input"] if isinstance(request["input"], list) else [request["input"]]
        if any(not isinstance(text, str) or text == "" for text in inputs):
            return error(400, "'$.input' is invalid: empty strings are not allowed",
                         param="input")
        if len(inputs) > MAX_EMBEDDING_INPUTS:
            return error(400, f"'$.input' is invalid: at most {MAX_EMBEDDING_INPUTS} inputs "
                         "per request", param="input")
        used = sum(tokens(text) for text in inputs)
        with self._lock:
            self.prompt_tokens += used
        dim = self.embedding_dims.get(str(request.get("model")), self.embedding_dim)
        data = [{"object": "embedding", "index": i, "embedding": self.vector(text, dim)}
                for i, text in enumerate(inputs)]
        return Reply(body={"object": "list", "data": data, "model": request.get("model"),
                           "usage": {"prompt_tokens": used, "total_tokens": used}})

    def vector(self, text: str, dim: int | None = None) -> list[float]:
        """A deterministic, unnormalised bag-of-words vector for `text` (1 + counts)."""
        size = dim or self.embedding_dim
        out = [0.0] * size
        for word in re.findall(r"\w+", text.lower()):
            out[int(hashlib.sha256(word.encode()).hexdigest(), 16) % size] += 1.0
        out[0] += 0.5  # never the zero vector
        return out


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            with fake._lock:
                fake.in_flight += 1
                fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
            try:
                reply = fake.answer(self.path, request,
                                    self.headers.get("authorization") or "")
                if reply.delay:
                    time.sleep(reply.delay)
            finally:
                with fake._lock:
                    fake.in_flight -= 1
            self._send(reply)

        def do_GET(self) -> None:
            self._send(fake.list_models(self.path, self.headers.get("authorization") or ""))

        def _send(self, reply: Reply) -> None:
            raw = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
            payload = raw.encode()
            try:
                send_json(self, reply.status, payload, reply.headers)
            except OSError:  # the client gave up (timeout test): count it
                with fake._lock:
                    fake.abandoned += 1

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
