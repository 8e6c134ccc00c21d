"""OpenAI (or OpenAI-compatible) embeddings as an embedder option.

Requests stay inside the API's limits: at most 2,048 inputs and about
250,000 estimated tokens per request (the API allows 300,000; the estimate
is rough, so we keep a margin), each input cut to about 8,000 tokens, and no
empty strings (the API rejects them). `encoding_format="float"` is explicit
because the SDK otherwise asks for base64, which some compatible servers
ignore. Vectors are L2-normalised so cosine is a dot product everywhere.

The dimension comes from the server's answers: Ollama and vLLM serve models
docloop has never heard of (`nomic-embed-text` is 768-d, others 64-d or
4096-d), so `dim` is only a hint for the few OpenAI models listed below until
the first answer sets it. The name includes the model, so the embedding cache
and the docs index keep each model's vectors apart.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from docloop.backends.analyzers.llm_client import LLMClient, estimate_tokens
from docloop.backends.embedders.base import Embedder
from docloop.batching import limited_batches
from docloop.config import Settings
from docloop.errors import BackendError, PermanentError

MAX_INPUTS = 2048
MAX_REQUEST_TOKENS = 250_000
MAX_INPUT_TOKENS = 8000
SAFE_CHARS_PER_TOKEN = 3  # code and non-English text run denser than 4
KNOWN_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072,
              "text-embedding-ada-002": 1536}


class OpenAIEmbedder(Embedder):
    """Batched embeddings through `LLMClient` (retries, usage, budget)."""

    def __init__(self, client: LLMClient, model: str) -> None:
        self.client = client
        self.model = model
        self.name = f"openai:{model}"
        self.dim = KNOWN_DIMS.get(model, 0)
        self._answered = False

    @classmethod
    def from_settings(cls, settings: Settings, *, http_client: Any = None,
                      client: LLMClient | None = None) -> OpenAIEmbedder:
        # The run's token budget is for chat calls; embedding the docs is not capped by it.
        return cls(client or LLMClient(settings, http_client=http_client, token_budget=0),
                   settings.embedding_model)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for `texts`, in order."""
        rows: list[list[float]] = []
        for batch in batches([_prepare(t) for t in texts]):
            rows.extend(self.client.embed(self.model, batch))
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(rows) != len(texts):
            raise BackendError(f"embeddings server returned {len(rows)} vectors for "
                               f"{len(texts)} inputs")
        self._learn({len(row) for row in rows})
        matrix = np.asarray(rows, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1.0, norms)

    def _learn(self, dims: set[int]) -> None:
        """Set `dim` from the first answer; later answers must agree with it."""
        expected = {self.dim} if self._answered else set()
        if len(dims | expected) != 1 or 0 in dims:
            seen = ", ".join(str(d) for d in sorted(dims | expected))
            raise PermanentError(f"embeddings server returned vectors of different sizes "
                                 f"({seen}) for model '{self.model}'; check embedding_model")
        self.dim = dims.pop()
        self._answered = True


def batches(texts: Sequence[str]) -> Iterator[list[str]]:
    """Consecutive groups within the input-count and token limits."""
    return limited_batches(texts, MAX_INPUTS, MAX_REQUEST_TOKENS, estimate_tokens)


def _prepare(text: str) -> str:
    """Non-empty and within the per-input limit."""
    text = text[: MAX_INPUT_TOKENS * SAFE_CHARS_PER_TOKEN]
    return text if text.strip() else " "
