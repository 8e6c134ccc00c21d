"""A local stand-in for one Pinecone serverless index's data plane (real HTTP on 127.0.0.1).

The real `pinecone` SDK is pointed at it (`pc.index(host=fake.host)`), so the
wire format is the one the SDK speaks (camelCase JSON, `Api-Key` header):

- `POST /vectors/upsert` `{"vectors": [{"id", "values", "metadata"}], "namespace"}`
  -> `{"upsertedCount"}`;
- `POST /query` `{"topK", "vector" | "id", "namespace", "filter", "includeValues",
  "includeMetadata"}` -> `{"matches": [{"id", "score", "values", "metadata"}],
  "namespace", "usage": {"readUnits"}}`, best first, cosine metric;
- `GET /vectors/fetch?ids=..&namespace=..` -> `{"vectors": {id: {...}}, "namespace", "usage"}`;
- `POST /vectors/delete` `{"ids" | "deleteAll" | "filter", "namespace"}` -> `{}`;
- `POST /describe_index_stats` -> `{"namespaces": {ns: {"vectorCount"}}, "dimension",
  "indexFullness", "totalVectorCount", "metric", "vectorType"}`.

Limits (API-FACTS §4): at most 1,000 vectors and 2 MB per upsert request, 40 KB
of metadata per vector and no null metadata values, `topK` 1..10,000, a query
answer of at most 4 MB, at most 1,000 ids per fetch or delete, ids of 1-512
characters, dense values of the index's dimension. A broken limit is a 400 in
Pinecone's data-plane error body `{"code": 3, "message", "details": []}` (the
gRPC status the data plane reports; the dimension message is the one users
quote from the real service). A wrong key is 401, an index that does not
exist (`exists = False`: the host of a deleted index) 404, and `script` holds
replies given first (a 429 with `Retry-After`, a 5xx). Metadata filters
support `$eq`, `$ne`, `$in`, `$nin` (a list field matches when any element
does), a bare value as `$eq`, and `$and`/`$or`. Deleting from a namespace
that does not exist is a 404, as on serverless indexes.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from tests.local_server import ServedFake, send_json

MAX_UPSERT_VECTORS = 1_000
MAX_REQUEST_BYTES = 2 * 1024 * 1024
MAX_METADATA_BYTES = 40 * 1024
MAX_TOP_K = 10_000
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
MAX_IDS = 1_000
MAX_ID_CHARS = 512

#: gRPC status codes the data plane reports in its error body
INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, INTERNAL, UNAUTHENTICATED = 3, 5, 8, 13, 16


@dataclass
class Reply:
    """What the server sends back: status, JSON body and headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    """A data-plane error in Pinecone's body shape."""
    return Reply(status, {"code": code, "message": message, "details": []}, headers or {})


def rate_limited(retry_after: float = 0) -> Reply:
    return error(429, RESOURCE_EXHAUSTED, "Request rate limit exceeded for this index.",
                 {"Retry-After": str(retry_after)})


def unavailable() -> Reply:
    return error(503, INTERNAL, "Service unavailable, please retry.")


class BadRequest(Exception):
    """A request that breaks a documented limit (answered with a 400)."""


@dataclass
class Record:
    values: np.ndarray
    metadata: dict[str, Any]


class FakePinecone(ServedFake):
    """One serverless index (cosine metric); use as a context manager. `host` is its URL."""

    def __init__(self, dimension: int = 384, api_key: str = "pc-test-key") -> None:
        self.dimension = dimension
        self.api_key = api_key
        self.exists = True
        self.namespaces: dict[str, dict[str, Record]] = {}
        self.script: deque[Reply] = deque()
        self.calls: Counter[str] = Counter()
        self.upserted = 0  # vectors accepted by upserts
        self.deleted = 0  # vectors removed by deletes
        self.largest_upsert = (0, 0)  # (vectors, bytes) of the biggest accepted request
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._handler = _handler_for(self)

    @property
    def host(self) -> str:
        return self.origin()

    def vector_ids(self, namespace: str) -> set[str]:
        return set(self.namespaces.get(namespace, {}))

    # -- dispatch ------------------------------------------------------------------

    def answer(self, method: str, path: str, raw: bytes, headers: dict[str, str]) -> Reply:
        route = urlsplit(path).path
        with self._lock:
            self.calls[route] += 1
            self.headers.append(headers)
            if self.script:
                return self.script.popleft()
            if headers.get("api-key") != self.api_key:
                return error(401, UNAUTHENTICATED, "Invalid API Key")
            if not self.exists:
                return error(404, NOT_FOUND, "Index not found")
            try:
                return self._route(method, path, raw)
            except BadRequest as exc:
                return error(400, INVALID_ARGUMENT, str(exc))

    def _route(self, method: str, path: str, raw: bytes) -> Reply:
        parts = urlsplit(path)
        if method == "GET" and parts.path == "/vectors/fetch":
            return self._fetch(parse_qs(parts.query))
        if method != "POST":
            return error(404, NOT_FOUND, f"no route {method} {parts.path}")
        if parts.path == "/vectors/upsert" and len(raw) > MAX_REQUEST_BYTES:
            raise BadRequest(f"Request size {len(raw)} bytes exceeds the maximum supported "
                             f"size of {MAX_REQUEST_BYTES} bytes")
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            raise BadRequest(f"invalid JSON: {exc.msg}") from None
        routes = {"/vectors/upsert": self._upsert, "/query": self._query,
                  "/vectors/delete": self._delete, "/describe_index_stats": self._stats}
        if parts.path not in routes:
            return error(404, NOT_FOUND, f"no route POST {parts.path}")
        return routes[parts.path](body, len(raw))

    # -- routes --------------------------------------------------------------------

    def _upsert(self, body: dict[str, Any], size: int) -> Reply:
        vectors = body.get("vectors")
        if not isinstance(vectors, list) or not vectors:
            raise BadRequest("vectors must be a non-empty list")
        if len(vectors) > MAX_UPSERT_VECTORS:
            raise BadRequest(f"Number of vectors in a request must be at most "
                             f"{MAX_UPSERT_VECTORS}, got {len(vectors)}")
        records = {str(v.get("id")): self._record(v) for v in vectors}
        namespace = self.namespaces.setdefault(str(body.get("namespace", "")), {})
        namespace.update(records)
        self.upserted += len(vectors)
        self.largest_upsert = max(self.largest_upsert, (len(vectors), size))
        return Reply(body={"upsertedCount": len(vectors)})

    def _record(self, vector: dict[str, Any]) -> Record:
        _check_id(vector.get("id"))
        values = vector.get("values")
        if not isinstance(values, list) or len(values) != self.dimension:
            count = len(values) if isinstance(values, list) else 0
            raise BadRequest(f"Vector dimension {count} does not match the dimension of the "
                             f"index {self.dimension}")
        metadata = vector.get("metadata") or {}
        _check_metadata(str(vector["id"]), metadata)
        return Record(np.asarray(values, dtype=np.float32), metadata)

    def _query(self, body: dict[str, Any], size: int) -> Reply:
        top_k = body.get("topK")
        if not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
            raise BadRequest(f"topK must be between 1 and {MAX_TOP_K}, got {top_k}")
        name = str(body.get("namespace", ""))
        records = self.namespaces.get(name, {})
        query = self._query_vector(body, records)
        chosen = [(i, r) for i, r in records.items() if _admits(body.get("filter"), r.metadata)]
        scored = sorted(((_cosine(query, r.values), i, r) for i, r in chosen),
                        key=lambda t: (-t[0], t[1]))[:top_k]
        matches = [self._match(score, vid, record, body) for score, vid, record in scored]
        reply = {"results": [], "matches": matches, "namespace": name,
                 "usage": {"readUnits": max(1, len(records) // 10_000 + 1)}}
        if len(json.dumps(reply)) > MAX_RESPONSE_BYTES:
            raise BadRequest(f"Response size exceeds the maximum of {MAX_RESPONSE_BYTES} "
                             "bytes; lower topK or do not include values/metadata")
        return Reply(body=reply)

    def _query_vector(self, body: dict[str, Any], records: dict[str, Record]) -> np.ndarray:
        if "id" in body:
            record = records.get(str(body["id"]))
            return record.values if record else np.zeros(self.dimension, dtype=np.float32)
        values = body.get("vector")
        if not isinstance(values, list) or len(values) != self.dimension:
            count = len(values) if isinstance(values, list) else 0
            raise BadRequest(f"Query vector dimension {count} does not match the dimension "
                             f"of the index {self.dimension}")
        return np.asarray(values, dtype=np.float32)

    @staticmethod
    def _match(score: float, vid: str, record: Record, body: dict[str, Any]) -> dict[str, Any]:
        match: dict[str, Any] = {"id": vid, "score": score}
        match["values"] = record.values.tolist() if body.get("includeValues") else []
        if body.get("includeMetadata"):
            match["metadata"] = record.metadata
        return match

    def _fetch(self, query: dict[str, list[str]]) -> Reply:
        ids = query.get("ids", [])
        if not ids or len(ids) > MAX_IDS:
            raise BadRequest(f"ids must hold 1 to {MAX_IDS} ids, got {len(ids)}")
        name = query.get("namespace", [""])[0]
        records = self.namespaces.get(name, {})
        found = {i: {"id": i, "values": records[i].values.tolist(),
                     "metadata": records[i].metadata} for i in ids if i in records}
        return Reply(body={"vectors": found, "namespace": name, "usage": {"readUnits": 1}})

    def _delete(self, body: dict[str, Any], size: int) -> Reply:
        name = str(body.get("namespace", ""))
        if name not in self.namespaces:
            return error(404, NOT_FOUND, "Namespace not found")
        records = self.namespaces[name]
        if body.get("deleteAll"):
            gone = list(records)
        elif "ids" in body:
            ids = body["ids"]
            if not isinstance(ids, list) or not ids or len(ids) > MAX_IDS:
                raise BadRequest(f"ids must hold 1 to {MAX_IDS} ids")
            gone = [i for i in ids if i in records]
        elif body.get("filter"):
            gone = [i for i, r in records.items() if _admits(body["filter"], r.metadata)]
        else:
            raise BadRequest("Delete request must specify ids, deleteAll or a filter")
        for vid in gone:
            del records[vid]
        self.deleted += len(gone)
        return Reply(body={})

    def _stats(self, body: dict[str, Any], size: int) -> Reply:
        counts = {name: {"vectorCount": len(records)}
                  for name, records in self.namespaces.items() if records}
        total = sum(c["vectorCount"] for c in counts.values())
        return Reply(body={"namespaces": counts, "dimension": self.dimension,
                           "indexFullness": 0.0, "totalVectorCount": total, "metric": "cosine",
                           "vectorType": "dense"})


def _check_id(vid: Any) -> None:
    if not isinstance(vid, str) or not 1 <= len(vid) <= MAX_ID_CHARS:
        raise BadRequest(f"Vector ID must be a string of 1 to {MAX_ID_CHARS} characters")


def _check_metadata(vid: str, metadata: Any) -> None:
    if not isinstance(metadata, dict):
        raise BadRequest(f"Metadata of vector {vid} must be an object")
    size = len(json.dumps(metadata, separators=(",", ":")).encode())
    if size > MAX_METADATA_BYTES:
        raise BadRequest(f"Metadata size is {size} bytes, which exceeds the limit of "
                         f"{MAX_METADATA_BYTES} bytes per vector")
    for key, value in metadata.items():
        ok = isinstance(value, str | int | float | bool) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value))
        if value is None or not ok:
            raise BadRequest(f"Metadata value for field '{key}' must be a string, number, "
                             "boolean or list of strings (null is not supported)")


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm > 0 else 0.0


def _admits(condition: Any, metadata: dict[str, Any]) -> bool:
    """Whether a record's metadata passes a Pinecone metadata filter."""
    if not condition:
        return True
    if not isinstance(condition, dict):
        raise BadRequest("filter must be an object")
    for key, test in condition.items():
        if key == "$and":
            if not all(_admits(part, metadata) for part in test):
                return False
        elif key == "$or":
            if not any(_admits(part, metadata) for part in test):
                return False
        elif not _field_passes(metadata.get(key), test if isinstance(test, dict)
                               else {"$eq": test}):
            return False
    return True


def _field_passes(value: Any, test: dict[str, Any]) -> bool:
    present = set(value) if isinstance(value, list) else {value}
    for op, operand in test.items():
        if op == "$eq":
            ok = operand in present
        elif op == "$ne":
            ok = operand not in present
        elif op in ("$in", "$nin"):
            if not isinstance(operand, list):
                raise BadRequest(f"{op} needs a list")
            ok = bool(present & set(operand)) == (op == "$in")
        else:
            raise BadRequest(f"unsupported filter operator {op}")
        if not ok:
            return False
    return True


def _handler_for(fake: FakePinecone) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self._send(fake.answer("POST", self.path, self.rfile.read(length),
                                   {k.lower(): v for k, v in self.headers.items()}))

        def do_GET(self) -> None:
            self._send(fake.answer("GET", self.path, b"",
                                   {k.lower(): v for k, v in self.headers.items()}))

        def _send(self, reply: Reply) -> None:
            payload = json.dumps(reply.body if reply.body is not None else {}).encode()
            send_json(self, reply.status, payload, reply.headers)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
