"""A run's payloads in S3: each step writes its output under `runs/<run_id>/` and passes keys.

Step Functions caps every state's input and output at 256 KB, so what travels
between states is only a bucket key and a few counts; the payloads themselves
(the analysis, one task per insight, each insight's outcome, the report) live
here. Layout of a run:

    runs/<run_id>/ingest.json           IngestOutput
    runs/<run_id>/analyse.json          AnalyseOutput without its tasks
    runs/<run_id>/tasks/<rank>.json     InsightTask, one per insight
    runs/<run_id>/insights.json         [{"rank", "insight_id", "task_key"}]: the Map's items
    runs/<run_id>/results/<rank>.json   InsightOutcome (a failure recorded by the Catch too)
    runs/<run_id>/report.json, .md      the run report (DESIGN §5) and its Markdown copy
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from docloop.aws.clients import AWSClients, aws_errors
from docloop.errors import ConfigError, InputError

M = TypeVar("M", bound=BaseModel)
#: Step Functions execution names: 1-80 letters, digits, '-' and '_' (docloop's ids fit too)
RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")


def run_key(run_id: str, name: str) -> str:
    """`runs/<run_id>/<name>`; InputError for a run id that could escape its folder."""
    if not RUN_ID.fullmatch(run_id):
        raise InputError(f"run_id {run_id!r}: use 1-80 letters, digits, '-' or '_' "
                         "(a Step Functions execution name)")
    return f"runs/{run_id}/{name}"


def task_name(rank: int) -> str:
    return f"tasks/{rank:05d}.json"


def result_name(rank: int) -> str:
    return f"results/{rank:05d}.json"


class RunArtifacts:
    """JSON documents in the stack's bucket (`s3_bucket`), through the stores' S3 client.

    Errors left after boto3's retries become docloop's (`aws.clients.aws_errors`):
    throttling and outages transient, access denied permanent, a missing bucket a
    ConfigError naming the setting.
    """

    def __init__(self, clients: AWSClients) -> None:
        if not clients.bucket:
            raise ConfigError("the AWS workflow needs s3_bucket (DOCLOOP_S3_BUCKET): the "
                              "bucket the SAM stack created")
        self.clients = clients
        self.bucket: str = clients.bucket

    def put(self, key: str, model: BaseModel) -> str:
        return self.put_text(key, model.model_dump_json(), "application/json")

    def put_json(self, key: str, value: Any) -> str:
        return self.put_text(key, json.dumps(value, ensure_ascii=False), "application/json")

    def put_text(self, key: str, text: str, content_type: str) -> str:
        with aws_errors(self.clients, f"write s3://{self.bucket}/{key}"):
            self.clients.s3.put_object(Bucket=self.bucket, Key=key,
                                       Body=text.encode("utf-8"), ContentType=content_type)
        return key

    def get(self, key: str, model: type[M]) -> M:
        """The document at `key` as `model`; InputError naming the key when it does not fit."""
        text = self.get_text(key)
        if text is None:
            raise InputError(f"s3://{self.bucket}/{key}: missing (was the previous step run?)")
        try:
            return model.model_validate_json(text)
        except ValidationError as exc:
            raise InputError(f"s3://{self.bucket}/{key}: not a {model.__name__} "
                             f"({exc.errors()[0]['msg']})") from None

    def get_json(self, key: str) -> Any:
        text = self.get_text(key)
        if text is None:
            raise InputError(f"s3://{self.bucket}/{key}: missing (was the previous step run?)")
        return json.loads(text)

    def get_text(self, key: str) -> str | None:
        """The object's text, or None when there is no such key."""
        s3 = self.clients.s3
        with aws_errors(self.clients, f"read s3://{self.bucket}/{key}"):
            try:
                body = s3.get_object(Bucket=self.bucket, Key=key)["Body"]
            except s3.exceptions.NoSuchKey:
                return None
            return str(body.read().decode("utf-8"))
