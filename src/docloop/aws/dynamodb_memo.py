"""The last complete analysis on AWS (store = "dynamodb"): body in S3, pointer in the table.

The memo lists every insight id the analysis reported, which can outgrow
DynamoDB's 400 KB item, so its JSON body lives in the bucket under one
stable key (`analysis/memo.json`) and the table keeps a pointer item
(`ANALYSIS_MEMO` | `-`: `object`, `sha256` of the body, `fingerprint`,
`run_id`, `saved_at`). Saving writes the body first and the pointer last;
loading reads the pointer, then the body, and trusts the body only when
its digest is the pointer's. A save cut short between the two writes (or a
body changed by hand) therefore reads as "no memo": the next run analyses
afresh, which is always correct, instead of reusing a memo that no longer
matches its fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from docloop.aws.artifacts import RunArtifacts
from docloop.aws.clients import AWSClients, aws_errors
from docloop.aws.dynamodb_io import get
from docloop.aws.dynamodb_layout import key
from docloop.config import Settings
from docloop.storage.analysis_memo import Memo

log = logging.getLogger("docloop.aws.memo")
MEMO_PK = "ANALYSIS_MEMO"
#: the memo body's S3 key (one memo at a time: only the latest analysis can be reused)
MEMO_OBJECT = "analysis/memo.json"


class DynamoAnalysisMemoStore:
    """An `AnalysisMemos` over the stack's table (pointer) and bucket (body)."""

    def __init__(self, clients: AWSClients) -> None:
        self.clients = clients
        self.documents = RunArtifacts(clients)  # JSON documents in the bucket
        self.bucket = self.documents.bucket

    @classmethod
    def from_settings(cls, settings: Settings, clients: AWSClients | None = None,
                      **deps: Any) -> DynamoAnalysisMemoStore:
        return cls(clients or AWSClients.from_settings(settings, need_bucket=True))

    def load(self) -> Memo | None:
        pointer = get(self.clients, MEMO_PK)
        if pointer is None:
            return None
        text = self.documents.get_text(str(pointer["object"]))
        body = None if text is None else text.encode("utf-8")
        if body is None or hashlib.sha256(body).hexdigest() != pointer["sha256"]:
            log.warning("the analysis memo s3://%s/%s does not match its pointer (a save "
                        "cut short?): analysing afresh", self.bucket, pointer["object"])
            return None
        return _memo(json.loads(body))

    def save(self, memo: Memo) -> None:
        text = json.dumps(_document(memo), sort_keys=True)
        body = text.encode("utf-8")
        self.documents.put_text(MEMO_OBJECT, text, "application/json")
        with aws_errors(self.clients, "saving the analysis memo"):
            self.clients.table.put_item(Item={
                **key(MEMO_PK), "object": MEMO_OBJECT,
                "sha256": hashlib.sha256(body).hexdigest(), "fingerprint": memo.fingerprint,
                "run_id": memo.run_id, "saved_at": _iso(memo.saved_at)})

    def forget(self) -> None:
        """Drop the pointer first: a body without one is never read."""
        with aws_errors(self.clients, "forgetting the analysis memo"):
            self.clients.table.delete_item(Key=key(MEMO_PK))
        with aws_errors(self.clients, f"deleting s3://{self.bucket}/{MEMO_OBJECT}"):
            self.clients.s3.delete_object(Bucket=self.bucket, Key=MEMO_OBJECT)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _document(memo: Memo) -> dict[str, Any]:
    return {"fingerprint": memo.fingerprint, "insight_ids": memo.insight_ids,
            "conversations": memo.conversations, "problems": memo.problems,
            "run_id": memo.run_id, "saved_at": _iso(memo.saved_at), "notes": memo.notes}


def _memo(document: dict[str, Any]) -> Memo:
    return Memo(str(document["fingerprint"]), [str(i) for i in document["insight_ids"]],
                int(document["conversations"]), int(document["problems"]),
                str(document["run_id"]), datetime.fromisoformat(document["saved_at"]),
                [str(n) for n in document.get("notes") or []])  # none before notes were kept
