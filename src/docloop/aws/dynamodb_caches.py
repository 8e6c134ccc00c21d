"""The embedding and LLM outcome caches in the DynamoDB table.

Vectors are float32 bytes under `VECTOR#<model>` (1.5 KB at 384 dimensions),
read 100 keys a request and written 25 a request; a partly written batch
is harmless for a cache (the missing vectors are computed again). Outcomes
are one item per request digest under `LLM`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from docloop.aws.clients import AWSClients, aws_errors
from docloop.aws.dynamodb_io import batch_get, batch_put, get, query, raw_bytes
from docloop.aws.dynamodb_layout import PK, SK
from docloop.backends.analyzers.llm_cache import Outcome
from docloop.config import Settings

OUTCOMES = "LLM"
_FLOAT_BYTES = 4


def _vectors(model: str) -> str:
    return f"VECTOR#{model}"


class DynamoVectorCache:
    """A `VectorCache` over the docloop table."""

    def __init__(self, clients: AWSClients) -> None:
        self.clients = clients

    @classmethod
    def from_settings(cls, settings: Settings, clients: AWSClients | None = None,
                      **deps: Any) -> DynamoVectorCache:
        return cls(clients or AWSClients.from_settings(settings))

    def describe(self) -> str:
        return self.clients.where()

    def stored_dim(self, model: str) -> int:
        first = next(query(self.clients, _vectors(model), limit=1), None)
        return 0 if first is None else len(raw_bytes(first["vector"])) // _FLOAT_BYTES

    def lookup(self, model: str, keys: set[str], dim: int) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for item in batch_get(self.clients, ((_vectors(model), k) for k in sorted(keys))):
            vector = np.frombuffer(raw_bytes(item["vector"]), dtype=np.float32)
            if vector.shape == (dim,):
                found[str(item[SK])] = vector
        return found

    def store(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        batch_put(self.clients, ({PK: _vectors(model), SK: key,
                                  "vector": np.asarray(v, dtype=np.float32).tobytes()}
                                 for key, v in vectors.items()))


class DynamoOutcomeCache:
    """An `OutcomeCache` over the docloop table."""

    def __init__(self, clients: AWSClients) -> None:
        self.clients = clients

    @classmethod
    def from_settings(cls, settings: Settings, clients: AWSClients | None = None,
                      **deps: Any) -> DynamoOutcomeCache:
        return cls(clients or AWSClients.from_settings(settings))

    def get(self, key: str) -> Outcome | None:
        item = get(self.clients, OUTCOMES, key)
        if item is None:
            return None
        return Outcome(ok=bool(item["ok"]), response=item.get("response"),
                       error=item.get("error"), prompt_tokens=int(item["prompt_tokens"]),
                       completion_tokens=int(item["completion_tokens"]))

    def put(self, key: str, stage: str, model: str, prompt_version: str,
            outcome: Outcome) -> None:
        item = {PK: OUTCOMES, SK: key, "stage": stage, "model": model,
                "prompt_version": prompt_version, "ok": outcome.ok,
                "prompt_tokens": outcome.prompt_tokens,
                "completion_tokens": outcome.completion_tokens}
        item |= {name: value for name in ("response", "error")
                 if (value := getattr(outcome, name)) is not None}
        with aws_errors(self.clients, "caching a model outcome"):
            self.clients.table.put_item(Item=item)

    def count(self, ok: bool | None = None) -> int:
        return sum(1 for item in query(self.clients, OUTCOMES)
                   if ok is None or bool(item["ok"]) == ok)
