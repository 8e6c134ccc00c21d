"""Insight identities in the DynamoDB table: centroids, members and snapshots.

An identity is one small item (the centroid as float32 bytes: 1.5 KB at 384
dimensions), each member problem its own item, and the latest reported state
of an insight a separate compressed item, so no item nears the 400 KB limit
however large an insight grows. `save` writes only what changed since this
store read it, so a run with nothing new writes nothing in proportion to
history.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from docloop.aws.clients import AWSClients, aws_errors
from docloop.aws.dynamodb_io import (
    Item,
    batch_get,
    batch_put,
    get,
    pack,
    query,
    raw_bytes,
    unpack,
)
from docloop.aws.dynamodb_layout import PK, SK
from docloop.config import Settings
from docloop.errors import BackendError
from docloop.models import Insight
from docloop.storage.insights import StoredCluster

log = logging.getLogger(__name__)
IDENTITIES, MEMBERS, SNAPSHOTS = "INSIGHT", "MEMBER", "SNAPSHOT"


class DynamoInsightStore:
    """An `InsightIdentities` over the docloop table."""

    def __init__(self, clients: AWSClients) -> None:
        self.clients = clients
        self._clusters: dict[str, StoredCluster] | None = None
        self._members: dict[str, tuple[str, str]] | None = None  # problem -> (insight, conv)

    @classmethod
    def from_settings(cls, settings: Settings, clients: AWSClients | None = None,
                      **deps: Any) -> DynamoInsightStore:
        return cls(clients or AWSClients.from_settings(settings))

    def clusters(self) -> list[StoredCluster]:
        return [self._known_clusters()[i] for i in sorted(self._known_clusters())]

    def members(self) -> dict[str, str]:
        return {pid: insight for pid, (insight, _) in self._known_members().items()}

    def save(self, clusters: Iterable[tuple[str, np.ndarray, list[tuple[str, str]]]]) -> None:
        known, members = self._known_clusters(), self._known_members()
        now = datetime.now(UTC).isoformat()
        identities: list[Item] = []
        moved: list[Item] = []
        for insight_id, centroid, cluster_members in clusters:
            vector = np.asarray(centroid, dtype=np.float32)
            stored = known.get(insight_id)
            if stored is None or stored.size != len(cluster_members) \
                    or not np.array_equal(stored.centroid, vector):
                identities.append({PK: IDENTITIES, SK: insight_id, "centroid": vector.tobytes(),
                                   "size": len(cluster_members), "updated_at": now})
                known[insight_id] = StoredCluster(insight_id, vector.copy(), len(cluster_members))
            for problem_id, conversation_id in cluster_members:
                if members.get(problem_id, (None, None))[0] != insight_id:
                    moved.append({PK: MEMBERS, SK: problem_id, "insight_id": insight_id,
                                  "conversation_id": conversation_id})
                    members[problem_id] = (insight_id, conversation_id)
        batch_put(self.clients, identities)
        batch_put(self.clients, moved)

    def save_snapshots(self, insights: Iterable[Insight]) -> None:
        """The latest state of insights that have an identity (others are not created)."""
        wanted = {i.id: i for i in insights}
        known = set(self._known_clusters()) if self._clusters is not None else {
            item[SK] for item in batch_get(self.clients, ((IDENTITIES, i) for i in wanted),
                                           attributes="sk")}
        snapshots = []
        for insight_id in sorted(known & set(wanted)):
            insight = wanted[insight_id]
            try:
                body = pack(insight.model_dump_json())
            except BackendError as exc:  # a review aid: too large is said, not fatal
                log.warning("snapshot of insight %s not kept: %s", insight_id, exc)
                continue
            snapshots.append({PK: SNAPSHOTS, SK: insight_id, "title": insight.title,
                              "body": body})
        batch_put(self.clients, snapshots)

    def snapshot(self, insight_id: str) -> Insight | None:
        item = get(self.clients, SNAPSHOTS, insight_id)
        return Insight.model_validate_json(unpack(item["body"])) if item else None

    def snapshots(self) -> list[Insight]:
        return [Insight.model_validate_json(unpack(item["body"]))
                for item in query(self.clients, SNAPSHOTS)]

    def conversations(self, insight_id: str) -> list[str]:
        return sorted({conversation for insight, conversation in self._known_members().values()
                       if insight == insight_id})

    def merge(self, keep_id: str, other_id: str, merged: Insight) -> None:
        """Move `other_id`'s members to `keep_id`, then forget `other_id`.

        Written members first and the absorbed identity deleted last, so a
        failure part-way leaves members that already point at the kept insight
        and an absorbed identity a retry removes.
        """
        clusters, members = self._known_clusters(), self._known_members()
        moved = [{PK: MEMBERS, SK: pid, "insight_id": keep_id, "conversation_id": cid}
                 for pid, (insight, cid) in members.items() if insight == other_id]
        items: list[Item] = [*moved, {PK: SNAPSHOTS, SK: keep_id, "title": merged.title,
                          "body": pack(merged.model_dump_json())}]
        keep, other = clusters.get(keep_id), clusters.get(other_id)
        if keep is not None and other is not None and keep.centroid.shape == other.centroid.shape:
            mean = keep.centroid * keep.size + other.centroid * other.size
            mean = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
            clusters[keep_id] = StoredCluster(keep_id, mean, keep.size + other.size)
            items.append({PK: IDENTITIES, SK: keep_id, "centroid": mean.tobytes(),
                          "size": keep.size + other.size,
                          "updated_at": datetime.now(UTC).isoformat()})
        batch_put(self.clients, items)
        for item in moved:
            members[item[SK]] = (keep_id, item["conversation_id"])
        with aws_errors(self.clients, "deleting"):
            for pk in (IDENTITIES, SNAPSHOTS):
                self.clients.table.delete_item(Key={PK: pk, SK: other_id})
        clusters.pop(other_id, None)

    def _known_clusters(self) -> dict[str, StoredCluster]:
        if self._clusters is None:
            self._clusters = {
                item[SK]: StoredCluster(item[SK], np.frombuffer(raw_bytes(item["centroid"]),
                                                                dtype=np.float32).copy(),
                                        int(item["size"]))
                for item in query(self.clients, IDENTITIES)}
        return self._clusters

    def _known_members(self) -> dict[str, tuple[str, str]]:
        if self._members is None:
            self._members = {item[SK]: (str(item["insight_id"]), str(item["conversation_id"]))
                             for item in query(self.clients, MEMBERS)}
        return self._members
