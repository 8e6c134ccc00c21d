"""The one DynamoDB table (and the S3 bucket) behind `store = "dynamodb"`.

Copy this into the SAM template (deploy/aws/template.yaml):

    Table:
      Type: AWS::DynamoDB::Table
      Properties:
        BillingMode: PAY_PER_REQUEST
        AttributeDefinitions:
          - {AttributeName: pk, AttributeType: S}
          - {AttributeName: sk, AttributeType: S}
        KeySchema:
          - {AttributeName: pk, KeyType: HASH}
          - {AttributeName: sk, KeyType: RANGE}
        TimeToLiveSpecification: {AttributeName: ttl, Enabled: true}

No secondary index. IAM for the functions: dynamodb:GetItem, PutItem,
UpdateItem, DeleteItem, Query, BatchGetItem, BatchWriteItem on the table;
s3:GetObject, PutObject on `messages/*`, s3:GetObject, PutObject, DeleteObject
on `analysis/*` and s3:ListBucket on the bucket (the window digest lists the
day objects); for the state machine, dynamodb:DeleteItem (the run lease).

Items, as pk | sk: attributes (every family under its own pk):

- ticket: `TICKET` | ticket id: `body` (B, zlib JSON of the TicketRecord with
  its status history), `version` (N, optimistic lock), `status`,
  `insight_id`, `updated_at`
- ticket by insight: `TICKET_OF#<insight id>` | `<created_at>#<ticket id>`:
  `ticket_id`
- ticket by tracker id: `TICKET_AT#<tracker>#<external id>` | `-`: `ticket_id`
- ticket by docs section: `TICKET_ON#<sha256 hex of doc_url>` | ticket id:
  `ticket_id` (what `on_section` reads per ticket filed). The URL is hashed
  always, not only when long: a partition key is capped at 2,048 bytes and a
  section URL is not. One per ticket with a non-empty `doc_url`, written with
  the ticket; a write that changes the `doc_url` deletes the old section's
  item in the same transaction
- section pointers backfilled: `SECTION_INDEX` | `-`: `version` (N). Absent
  on a table written before the `TICKET_ON` items: the first `on_section`
  writes them for every ticket (a Query of `TICKET`), then this marker
- webhook delivery: `DELIVERY#<delivery id>` | `-`: `received_at`, `ttl`
  (N, epoch seconds: received + 7 days)
- watermark: `WATERMARK` | key: `value` (S), `position` (N, Discord
  snowflakes only, so a position never moves back)
- message partition: `MESSAGES` | `<YYYY-MM-DD>#<channel id>`: `object`
  (the S3 key), `count` (N)
- insight identity: `INSIGHT` | insight id: `centroid` (B, float32), `size`
  (N), `updated_at`
- insight snapshot: `SNAPSHOT` | insight id: `title`, `body` (B, zlib JSON of
  the latest reported Insight)
- insight member: `MEMBER` | problem id: `insight_id`, `conversation_id`
- embedding: `VECTOR#<model>` | sha256 of the text: `vector` (B, float32)
- LLM outcome: `LLM` | request digest: `ok` (BOOL), `response`, `error`,
  `stage`, `model`, `prompt_version`, `prompt_tokens`, `completion_tokens`
- review: `REVIEW` | insight id: `body` (B, zlib JSON of the ReviewRecord)
- review decision: `DECISION#<insight id>` | `<write time ns>-<random>`: `body`
  (JSON of the Decision)
- Discord reply: `REPLY` | reply id: `body` (B, zlib JSON of the Reply),
  `ticket_id`, `insight_id`, `state` (see docloop/aws/dynamodb_reviews.py)
- analysis memo: `ANALYSIS_MEMO` | `-`: `object` (the body's S3 key),
  `sha256` (of the body), `fingerprint`, `run_id`, `saved_at`
  (docloop/aws/dynamodb_memo.py)
- run lease: `RUN_LEASE` | `-`: `owner` (the execution name), `expires_at`,
  `taken_at`, `ttl` (N, epoch seconds; docloop/aws/run_lease.py; the state
  machine's ReleaseLease state deletes it by these key names)
- run history (the review desk's read model): `RUN` | seq, `RUN_ID` | run id,
  `RUN_SEQ` | `-`, `RUN_INSIGHT#<seq>` | insight id, `INSIGHT_RUN#<insight id>` | seq,
  `SUMMARY` | insight id (see docloop/aws/dynamodb_runs.py)

S3: `messages/<channel id>/<YYYY-MM-DD>.jsonl.gz`, one gzip JSON Lines object
per channel and UTC day, each line a redacted `Message`, sorted by
(timestamp, id). The `MESSAGES` items index them by day so a window reads
only its days. `analysis/memo.json`: the last complete analysis's memo body
(JSON), pointed to by the `ANALYSIS_MEMO` item.
"""

from __future__ import annotations

from typing import Any

#: partition and sort key attribute names
PK, SK = "pk", "sk"
#: the attribute DynamoDB's time-to-live deletes items by (epoch seconds)
TTL_ATTRIBUTE = "ttl"
#: how long a webhook delivery id is kept (Linear retries within hours)
DELIVERY_TTL_S = 7 * 24 * 3600
#: S3 key prefix of the message partitions
MESSAGES_PREFIX = "messages/"
#: the item size DynamoDB refuses above (bytes, names and values)
MAX_ITEM_BYTES = 400 * 1024


def table_definition(name: str) -> dict[str, Any]:
    """`create_table` arguments for the table above (tests; the template mirrors them)."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": PK, "AttributeType": "S"},
                                 {"AttributeName": SK, "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": PK, "KeyType": "HASH"},
                      {"AttributeName": SK, "KeyType": "RANGE"}],
    }


def ttl_specification() -> dict[str, Any]:
    """`update_time_to_live` argument enabling the TTL attribute."""
    return {"Enabled": True, "AttributeName": TTL_ATTRIBUTE}


def key(pk: str, sk: str = "-") -> dict[str, str]:
    """An item's primary key."""
    return {PK: pk, SK: sk}
