"""moto (in-process, no server, no Docker) standing in for DynamoDB and S3.

`aws_settings` yields settings for `store = "dynamodb"` over a fresh table
(created from `docloop.aws.dynamodb_layout`, as the SAM template mirrors it)
and bucket, with fake credentials only moto accepts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from docloop.config import Settings

TABLE, BUCKET, REGION = "docloop-test", "docloop-test-state", "us-east-1"


@contextmanager
def aws_settings(home: Path, monkeypatch: pytest.MonkeyPatch,
                 **extra: object) -> Iterator[Settings]:
    """Settings choosing the DynamoDB/S3 stores, inside moto's mock of AWS."""
    moto = pytest.importorskip("moto")
    import boto3

    from docloop.aws.dynamodb_layout import table_definition, ttl_specification

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION,
                        "AWS_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with moto.mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(**table_definition(TABLE))
        dynamodb.update_time_to_live(TableName=TABLE,
                                     TimeToLiveSpecification=ttl_specification())
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        yield Settings.model_validate({"home": home, "store": "dynamodb",
                                       "dynamodb_table": TABLE, "s3_bucket": BUCKET, **extra})
