"""A local fake OpenAI-compatible server (real HTTP on 127.0.0.1).

Serves `POST /v1/chat/completions` and `POST /v1/embeddings` in the response
shapes the official API uses, so the real `openai` SDK (which talks through
httpx2 and cannot be intercepted by respx) is exercised end to end. Each
test scripts it: `script` holds replies consumed first, then `chat` (a
function of the request body) answers. It counts calls and tokens.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.local_server import ServedFake

CHARS_PER_TOKEN = 4


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
          headers: dict[str, str] | None = None, kind: str = "invalid_request_error") -> Reply:
    """An error in the API's `{"error": {...}}` shape."""
    return Reply(status=status, headers=headers or {},
                 body={"error": {"message": message, "type": kind, "param": None,
                                 "code": code}})


ChatHandler = Callable[[dict[str, Any]], "Reply | str"]


class FakeOpenAI(ServedFake):
    """The server; use as a context manager. `base_url` ends in /v1."""

    def __init__(self, chat: ChatHandler | None = None, embedding_dim: int = 8) -> None:
        self.chat = chat or (lambda request: '{"problems": []}')
        self.script: deque[Reply | str] = deque()
        self.embedding_dim = embedding_dim
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

    def answer(self, path: str, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.calls[path] += 1
            scripted = self.script.popleft() if self.script else None
        if path.endswith("/embeddings"):
            self.embedding_requests.append(request)
            return scripted if isinstance(scripted, Reply) else self._embeddings(request)
        self.chat_requests.append(request)
        reply = scripted if scripted is not None else self.chat(request)
        reply = completion(reply) if isinstance(reply, str) else reply
        return self._account(request, reply)

    def _account(self, request: dict[str, Any], reply: Reply) -> Reply:
        if reply.status != 200 or not isinstance(reply.body, dict):
            return reply
        prompt = sum(tokens(m.get("content") or "") for m in request.get("messages", []))
        content = reply.body["choices"][0]["message"]["content"] or ""
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
            return error(400, "'$.input' is invalid: empty strings are not allowed")
        used = sum(tokens(text) for text in inputs)
        with self._lock:
            self.prompt_tokens += used
        data = [{"object": "embedding", "index": i, "embedding": self.vector(text)}
                for i, text in enumerate(inputs)]
        return Reply(body={"object": "list", "data": data, "model": request.get("model"),
                           "usage": {"prompt_tokens": used, "total_tokens": used}})

    def vector(self, text: str) -> list[float]:
        """A deterministic, unnormalised vector for `text`."""
        digest = hashlib.sha256(text.encode()).digest()
        return [(digest[i] - 128) / 64.0 for i in range(self.embedding_dim)]


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
                reply = fake.answer(self.path, request)
                if reply.delay:
                    time.sleep(reply.delay)
            finally:
                with fake._lock:
                    fake.in_flight -= 1
            raw = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
            payload = raw.encode()
            try:
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the client gave up (timeout test): count it
                with fake._lock:
                    fake.abandoned += 1

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
