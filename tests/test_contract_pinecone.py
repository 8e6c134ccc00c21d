"""Holds the Pinecone stand-in to API-FACTS §4 (and DEPENDENCY-TRIALS §5b), through the SDK.

Each test states one documented fact: a limit (1,000 vectors and 2 MB per
upsert, 40 KB of metadata per vector and no nulls, topK ≤ 10,000, 1,000 ids
per fetch/delete), a response shape the SDK decodes (upsertedCount, matches
best first with values/metadata only when asked, fetch always with both,
describe_index_stats' namespaces and dimension), the headers the SDK sends,
and the error statuses (400 in the data plane's `{"code", "message",
"details"}` body, 401, 404, 429 with Retry-After retried by the SDK). There
are no recorded Pinecone payloads in ../shared/fixtures; the 400 body and the
dimension message follow what users quote from the real service.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fake_pinecone import FakePinecone, rate_limited

pinecone = pytest.importorskip("pinecone")
DIM = 4


@pytest.fixture
def fake() -> Iterator[FakePinecone]:
    with FakePinecone(dimension=DIM) as served:
        yield served


@pytest.fixture
def index(fake: FakePinecone) -> Any:
    return pinecone.Pinecone(api_key=fake.api_key).index(host=fake.host)


def _vectors(count: int, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [{"id": f"v{i}", "values": [1.0, float(i), 0.0, 0.5],
             "metadata": metadata or {"path": f"p{i % 3}.md", "tags": ["a", f"t{i}"]}}
            for i in range(count)]


def _status(call: Any) -> tuple[int, Any]:
    with pytest.raises(pinecone.errors.ApiError) as caught:
        call()
    return caught.value.status_code, caught.value.body


def test_upsert_query_fetch_and_stats_shapes(index: Any, fake: FakePinecone) -> None:
    assert index.upsert(vectors=_vectors(5), namespace="ns", show_progress=False) \
        .upserted_count == 5
    answer = index.query(vector=[1.0, 4.0, 0.0, 0.5], top_k=2, namespace="ns")
    assert [m.id for m in answer.matches] == ["v4", "v3"]  # best first
    assert answer.matches[0].score == pytest.approx(1.0)
    assert answer.matches[0].metadata is None and not answer.matches[0].values
    full = index.query(vector=[1.0, 4.0, 0.0, 0.5], top_k=1, namespace="ns",
                       include_metadata=True, include_values=True)
    assert full.matches[0].metadata["path"] == "p1.md" and len(full.matches[0].values) == DIM
    fetched = index.fetch(ids=["v1", "missing"], namespace="ns")
    assert set(fetched.vectors) == {"v1"} and fetched.vectors["v1"].metadata["tags"] == ["a", "t1"]
    stats = index.describe_index_stats()
    assert stats.dimension == DIM and stats.namespaces["ns"].vector_count == 5
    assert stats.total_vector_count == 5 and stats.metric == "cosine"


def test_metadata_filters_eq_in_and_lists(index: Any) -> None:
    index.upsert(vectors=_vectors(6), namespace="ns", show_progress=False)

    def ids(where: dict[str, Any]) -> set[str]:
        found = index.query(vector=[1.0, 0.0, 0.0, 0.0], top_k=10, namespace="ns", filter=where)
        return {m.id for m in found.matches}

    assert ids({"path": {"$eq": "p0.md"}}) == {"v0", "v3"}
    assert ids({"path": {"$in": ["p1.md", "p2.md"]}}) == {"v1", "v2", "v4", "v5"}
    assert ids({"tags": {"$eq": "t2"}}) == {"v2"}  # a list field matches any element
    assert ids({"path": "p2.md"}) == {"v2", "v5"}  # a bare value is $eq
    assert ids({"$and": [{"path": {"$ne": "p0.md"}}, {"tags": {"$nin": ["t1"]}}]}) == \
        {"v2", "v4", "v5"}


def test_delete_by_ids_filter_and_all(index: Any, fake: FakePinecone) -> None:
    index.upsert(vectors=_vectors(6), namespace="ns", show_progress=False)
    index.delete(ids=["v0", "nope"], namespace="ns")
    index.delete(filter={"path": {"$eq": "p1.md"}}, namespace="ns")
    assert fake.vector_ids("ns") == {"v2", "v3", "v5"}
    index.delete(delete_all=True, namespace="ns")
    assert fake.vector_ids("ns") == set()
    assert "ns" not in index.describe_index_stats().namespaces
    status, _ = _status(lambda: index.delete(delete_all=True, namespace="never"))
    assert status == 404


def test_upsert_limits_are_400_with_the_data_plane_error_body(index: Any) -> None:
    status, body = _status(lambda: index.upsert(vectors=_vectors(1001), namespace="ns",
                                                show_progress=False))
    assert status == 400 and body["code"] == 3 and "1000" in body["message"]
    assert body["details"] == []
    big = [{"id": f"b{i}", "values": [0.1] * DIM, "metadata": {"s": "x" * 30_000}}
           for i in range(80)]  # 80 x 30 KB: over 2 MB
    status, body = _status(lambda: index.upsert(vectors=big, namespace="ns",
                                                show_progress=False))
    assert status == 400 and "exceeds the maximum" in body["message"]
    fat = [{"id": "f", "values": [0.1] * DIM, "metadata": {"s": "x" * (41 * 1024)}}]
    status, body = _status(lambda: index.upsert(vectors=fat, namespace="ns",
                                                show_progress=False))
    assert status == 400 and "40960 bytes per vector" in body["message"]
    status, body = _status(lambda: index.upsert(vectors=[("d", [0.1, 0.2, 0.3])],
                                                namespace="ns", show_progress=False))
    assert status == 400
    assert body["message"] == "Vector dimension 3 does not match the dimension of the index 4"


def test_null_metadata_and_bad_top_k_are_refused(fake: FakePinecone) -> None:
    headers = {"Api-Key": fake.api_key, "X-Pinecone-Api-Version": "2026-07"}
    with httpx.Client(base_url=fake.host, headers=headers) as client:
        null = client.post("/vectors/upsert", json={"namespace": "ns", "vectors": [
            {"id": "n", "values": [0.1] * DIM, "metadata": {"a": None}}]})
        assert null.status_code == 400 and "null" in null.json()["message"]
        for top_k in (0, 10_001):
            query = client.post("/query", json={"namespace": "ns", "topK": top_k,
                                                "vector": [0.1] * DIM})
            assert query.status_code == 400 and "topK" in query.json()["message"]
        client.post("/vectors/upsert", json={"namespace": "ns", "vectors": [
            {"id": "k", "values": [0.1] * DIM}]}).raise_for_status()
        many = [str(i) for i in range(1001)]
        deleted = client.post("/vectors/delete", json={"namespace": "ns", "ids": many})
        assert deleted.status_code == 400 and "1000" in deleted.json()["message"]
        fetched = client.get("/vectors/fetch", params={"namespace": "ns", "ids": many})
        assert fetched.status_code == 400


def test_the_sdk_sends_its_key_version_and_agent(index: Any, fake: FakePinecone) -> None:
    index.describe_index_stats()
    sent = fake.headers[-1]
    assert sent["api-key"] == fake.api_key
    assert sent["x-pinecone-api-version"] and sent["user-agent"].startswith("python-client-")


def test_wrong_key_is_401_and_a_missing_index_404(fake: FakePinecone) -> None:
    wrong = pinecone.Pinecone(api_key="nope").index(host=fake.host)
    with pytest.raises(pinecone.errors.UnauthorizedError):
        wrong.describe_index_stats()
    fake.exists = False
    right = pinecone.Pinecone(api_key=fake.api_key).index(host=fake.host)
    with pytest.raises(pinecone.errors.NotFoundError):
        right.describe_index_stats()


def test_429_with_retry_after_is_retried_by_the_sdk(index: Any, fake: FakePinecone) -> None:
    fake.script.append(rate_limited(0))
    assert index.describe_index_stats().dimension == DIM
    assert fake.calls["/describe_index_stats"] == 2
