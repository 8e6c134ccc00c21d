"""One Lambda handler per step of the loop, and one for Linear's webhook.

Each handler is a thin adapter (the state machine is deploy/aws/statemachine/
pipeline.asl.json): parse the event, load settings (environment + the Secrets
Manager secret, `docloop.aws.secrets`), run the step of `docloop.steps`, write
its output to S3 under `runs/<run_id>/` (`docloop.aws.artifacts`) and return
only keys and counts, so no state payload comes near Step Functions' 256 KB.

    ingest   {"run_id", "input": {"since"?: DAYS|"all"}}   -> {"run_id", "ingest_key", ...}
    analyse  {"run_id", "ingest_key"}                     -> {"run_id", "analyse_key",
                                                              "items_key", "insights"}
    insight  {"run_id", "item": {"rank", "insight_id", "task_key"}}
             (+ "failure": {"Error", "Cause"} from the Map's Catch: record it)
                                                          -> {"rank", "insight_id", "ok"}
    report   {"run_id", "analyse_key", "items_key"}       -> {"run_id", "report_key", counts}
    webhook  API Gateway HTTP API event, payload format 2.0 -> {"statusCode", "body", ...}

One execution runs at a time: ingest takes the table's run lease
(`docloop.aws.run_lease`; a second execution meanwhile fails with `RunLocked`
before writing), the report gives it back, and a failed execution's
`ReleaseLease` state does.

Errors propagate as the Lambda's error, whose type Step Functions matches:
`TransientError` is retried with backoff (the definition's Retry), anything else
fails the state; a failed insight is caught per item and recorded, and the report
fails the execution only when every insight failed (`AllInsightsFailed`).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import BaseModel, ValidationError

from docloop import registry
from docloop.aws.artifacts import RunArtifacts, result_name, run_key, task_name
from docloop.aws.clients import MAX_ATTEMPTS, AWSClients
from docloop.aws.run_lease import RunLease
from docloop.aws.secrets import secret_environment
from docloop.backends.trackers.base import Tracker
from docloop.config import Settings, load_settings
from docloop.errors import DocloopError, InputError, TransientError
from docloop.pipeline import new_run_id
from docloop.report import render_markdown, report_dict
from docloop.stages.ingest import parse_since
from docloop.stages.preflight import checked_tracker, preflight_run
from docloop.steps import (
    AnalyseOutput,
    IngestOutput,
    IngestRequest,
    InsightOutcome,
    InsightTask,
    RunOptions,
    StepContext,
    analyse_step,
    failure_message,
    ingest_step,
    insight_step,
    report_step,
)
from docloop.webhook_receiver import (
    MAX_BODY,
    WebhookReply,
    oversized,
    receive_linear_webhook,
)

logger = Logger(service="docloop-aws")
metrics = Metrics(namespace="docloop", service="docloop")
#: how long a finished insight task's result is remembered (a re-driven Map within it
#: returns the stored result instead of running the task again)
IDEMPOTENCY_TTL_S = 24 * 3600
MAX_CAUSE = 500

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


#: the webhook's clock (its 60 s replay window); tests replay recorded deliveries at their time
clock: Callable[[], datetime] = _utc_now


class AllInsightsFailed(DocloopError):
    """Every insight of the run failed: the execution fails (its report is written first)."""


class InsightItem(BaseModel):
    """One item of the Distributed Map: which insight, and where its task is."""

    rank: int
    insight_id: str
    task_key: str


class _Container:
    """What a Lambda container keeps between invocations: AWS clients and the proven tracker."""

    def __init__(self) -> None:
        self.clients: dict[tuple[str | None, str | None], AWSClients] = {}
        self.trackers: dict[str, Tracker] = {}
        self.idempotency: dict[str, Any] = {}  # table -> Powertools' persistence layer

    def artifacts(self, settings: Settings) -> RunArtifacts:
        where = (settings.dynamodb_table, settings.s3_bucket)
        if where not in self.clients:
            self.clients[where] = AWSClients.from_settings(settings, need_bucket=True)
        return RunArtifacts(self.clients[where])

    def lease(self, settings: Settings) -> RunLease:
        """The table's run lease (through the same clients as the artifacts)."""
        return RunLease(self.artifacts(settings).clients)

    def tracker(self, settings: Settings) -> Tracker | None:
        """The configured tracker, proven once per container (None for `tracker = none`)."""
        if settings.tracker == "none":
            return None
        key = settings.model_dump_json()
        if key not in self.trackers:
            self.trackers[key] = checked_tracker(settings)
        return self.trackers[key]

    def idempotency_store(self, table: str) -> Any:
        """Powertools' DynamoDB persistence layer for `table`, built once per container
        (Powertools documents it outside the handler). A layer built per invocation made
        a new boto3 client each time, which loads DynamoDB's service model: about 0.4 s of
        every warm insight task. (Its client is a plain one: the table resource's own
        client converts values itself, and would read the layer's typed keys as maps.)"""
        if table not in self.idempotency:
            from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
            from botocore.config import Config

            retries = Config(retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS})
            self.idempotency[table] = DynamoDBPersistenceLayer(
                table_name=table, key_attr="pk", sort_key_attr="sk",
                static_pk_value="idempotency#insight", expiry_attr="ttl", boto_config=retries)
        return self.idempotency[table]


_container = _Container()


def reset_container() -> None:
    """Forget cached clients, trackers and the secret, as a new container would."""
    from aws_lambda_powertools.utilities.parameters import clear_caches

    from docloop.aws.secrets import read_secret

    global _container
    _container = _Container()
    read_secret.cache_clear()
    clear_caches()


def lambda_settings() -> Settings:
    """Settings from the function's environment and the secret (the environment wins)."""
    return load_settings(environ=secret_environment(os.environ))


def _handler(fn: Handler) -> Handler:
    """Powertools logging (with the Lambda context) and metrics around a handler."""
    return logger.inject_lambda_context(clear_state=True)(metrics.log_metrics(fn))


@contextmanager
def _context(settings: Settings, tracker: Tracker | None = None) -> Iterator[StepContext]:
    """The stores `settings.store` names, open for one invocation."""
    with registry.open_stores(settings) as stores:
        yield StepContext(settings, stores, RunOptions(), tracker)


def _run_of(event: dict[str, Any]) -> tuple[Settings, str, RunArtifacts]:
    """What a step of a run starts from: settings, the event's run id, the run's artifacts."""
    settings = lambda_settings()
    return settings, _field(event, "run_id"), _container.artifacts(settings)


def _field(event: dict[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value:
        raise InputError(f"event field '{name}' is missing or not a string")
    return value


@_handler
def ingest(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Prove the tracker and model settings, then read every source into the store."""
    settings = lambda_settings()
    run_id = str(event.get("run_id") or new_run_id())
    execution_input = event.get("input")
    if not isinstance(execution_input, dict):
        execution_input = {}
    since_value = execution_input.get("since", settings.since_days)
    since = parse_since(None if since_value is None else str(since_value), datetime.now(UTC))
    # one run at a time (RunLocked otherwise); the report step or the definition's
    # ReleaseLease state gives the lease back
    _container.lease(settings).acquire(run_id)
    preflight_run(settings, dry_run=False)  # a wrong key or id fails the run before a write
    with _context(settings) as ctx:
        ingested = ingest_step(ctx, IngestRequest(run_id=run_id, since=since))
    artifacts = _container.artifacts(settings)
    key = artifacts.put(run_key(run_id, "ingest.json"), ingested)
    metrics.add_metric(name="MessagesStored", unit=MetricUnit.Count,
                       value=ingested.stats.messages)
    return {"run_id": run_id, "ingest_key": key, "messages": ingested.stats.messages,
            "window_messages": ingested.stats.window_messages}


@_handler
def analyse(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Analyse the window; write one task per insight and the Map's item list."""
    settings, run_id, artifacts = _run_of(event)
    _renew_lease(settings, run_id)
    ingested = artifacts.get(_field(event, "ingest_key"), IngestOutput)
    with _context(settings) as ctx:
        analysed = analyse_step(ctx, ingested)
    items = [InsightItem(rank=task.rank, insight_id=task.insight.id,
                         task_key=artifacts.put(run_key(run_id, task_name(task.rank)), task))
             for task in analysed.tasks]
    items_key = artifacts.put_json(run_key(run_id, "insights.json"),
                                   [item.model_dump() for item in items])
    analyse_key = artifacts.put(run_key(run_id, "analyse.json"),
                                analysed.model_copy(update={"tasks": []}))
    metrics.add_metric(name="Insights", unit=MetricUnit.Count, value=len(items))
    return {"run_id": run_id, "analyse_key": analyse_key, "items_key": items_key,
            "insights": len(items)}


@_handler
def insight(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Match, suggest and file one insight; or record the failure the Map's Catch passes."""
    run_id = _field(event, "run_id")
    item = _item(event)
    if "failure" in event:
        return _record_failure(lambda_settings(), run_id, item, event["failure"])
    settings = lambda_settings()
    _renew_lease(settings, run_id)
    return _idempotent(_run_insight, settings, context)(run_id=run_id, item=item.model_dump())


def _renew_lease(settings: Settings, run_id: str) -> None:
    """Renew this run's lease at the start of a step (it lasts `LEASE_S` from now), so a
    live run never loses it however many steps it takes, and a crashed one frees it soon.
    A run whose lease lapsed and was taken by another stops here with `RunLocked`,
    before writing: its remaining insights fail instead of filing beside the other run."""
    _container.lease(settings).acquire(run_id)


def _item(event: dict[str, Any]) -> InsightItem:
    try:
        return InsightItem.model_validate(event.get("item"))
    except ValidationError as exc:
        raise InputError(f"event field 'item': {exc.errors()[0]['msg']}") from None


def _run_insight(run_id: str, item: dict[str, Any]) -> dict[str, Any]:
    """The insight step for one item; a transient failure is raised for the state's Retry."""
    settings = lambda_settings()
    artifacts = _container.artifacts(settings)
    entry = InsightItem.model_validate(item)
    task = artifacts.get(entry.task_key, InsightTask)
    with _context(settings, _container.tracker(settings)) as ctx:
        outcome = insight_step(ctx, task)
    if outcome.retryable:
        raise TransientError(outcome.errors[-1])
    artifacts.put(run_key(run_id, result_name(entry.rank)), outcome)
    filed = outcome.insight.ticket.action if outcome.insight.ticket else None
    if outcome.errors:
        metrics.add_metric(name="InsightsFailed", unit=MetricUnit.Count, value=1)
    return {"rank": entry.rank, "insight_id": entry.insight_id, "ok": not outcome.errors,
            "ticket": filed}


def _idempotent(fn: Callable[..., dict[str, Any]], settings: Settings,
                context: Any) -> Callable[..., dict[str, Any]]:
    """`fn` made idempotent per (run, task) with Powertools' DynamoDB persistence.

    A Map iteration Step Functions runs twice (a re-driven execution, a duplicate
    delivery) returns the stored result instead of filing again. Without a table
    (a test of the handler alone) the call is plain.
    """
    table = settings.dynamodb_table
    if not table:
        return fn
    from aws_lambda_powertools.utilities.idempotency import (
        IdempotencyConfig,
        idempotent_function,
    )

    config = IdempotencyConfig(event_key_jmespath="task_key",
                               expires_after_seconds=IDEMPOTENCY_TTL_S)
    config.register_lambda_context(context)
    persistence = _container.idempotency_store(table)
    wrapped: Callable[..., dict[str, Any]] = idempotent_function(
        data_keyword_argument="item", config=config, persistence_store=persistence)(fn)
    return wrapped


def _record_failure(settings: Settings, run_id: str, item: InsightItem,
                    failure: Any) -> dict[str, Any]:
    """Write the failed item's outcome, so the report lists it with the Lambda's error."""
    artifacts = _container.artifacts(settings)
    task = artifacts.get(item.task_key, InsightTask)
    error, cause = _error_and_cause(failure)
    message = failure_message(task.insight, "insight task", f"{error}: {cause}")
    task.insight.error = message
    outcome = InsightOutcome(run_id=run_id, rank=item.rank, insight=task.insight,
                             errors=[message])
    artifacts.put(run_key(run_id, result_name(item.rank)), outcome)
    metrics.add_metric(name="InsightsFailed", unit=MetricUnit.Count, value=1)
    return {"rank": item.rank, "insight_id": item.insight_id, "ok": False, "ticket": None}


def _error_and_cause(failure: Any) -> tuple[str, str]:
    """The Catch's `Error` and a short `Cause` (a Lambda's cause is its error JSON)."""
    if not isinstance(failure, dict):
        return "Unknown", str(failure)[:MAX_CAUSE]
    cause = str(failure.get("Cause", ""))
    return str(failure.get("Error", "Unknown")), _error_message(cause)[:MAX_CAUSE]


def _error_message(cause: str) -> str:
    """A Lambda error's `errorMessage`; a plain-text cause (a timeout, States.*) as it is."""
    try:
        parsed = json.loads(cause)
    except json.JSONDecodeError:
        return cause
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        return str(parsed["errorMessage"])
    return cause


@_handler
def report(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Gather every insight's outcome into the run report; fail only if all failed."""
    settings, run_id, artifacts = _run_of(event)
    analysed = artifacts.get(_field(event, "analyse_key"), AnalyseOutput)
    items = [InsightItem.model_validate(raw)
             for raw in artifacts.get_json(_field(event, "items_key"))]
    outcomes = [_outcome(artifacts, run_id, item) for item in items]
    with _context(settings) as ctx:
        run = report_step(ctx, analysed, outcomes,
                          [analysed.usage, *(o.usage for o in outcomes)])
        ctx.stores.runs.record(run)  # the review desk's runs and list (aws/dynamodb_runs)
    key = artifacts.put_json(run_key(run_id, "report.json"), report_dict(run))
    artifacts.put_text(run_key(run_id, "report.md"), render_markdown(run), "text/markdown")
    failed = sum(1 for i in run.insights if i.error)
    filed = sum(1 for i in run.insights if i.ticket and i.ticket.action != "unchanged")
    metrics.add_metric(name="TicketsFiled", unit=MetricUnit.Count, value=filed)
    _container.lease(settings).release(run_id)  # the run's writes are done
    if items and failed == len(items):
        raise AllInsightsFailed(f"all {failed} insight(s) failed; see s3://"
                                f"{artifacts.bucket}/{key}")
    return {"run_id": run_id, "report_key": key, "insights": len(items), "filed": filed,
            "failed": failed}


def _outcome(artifacts: RunArtifacts, run_id: str, item: InsightItem) -> InsightOutcome:
    """The item's recorded outcome, or a failure when none was written."""
    text = artifacts.get_text(run_key(run_id, result_name(item.rank)))
    if text is not None:
        return InsightOutcome.model_validate_json(text)
    task = artifacts.get(item.task_key, InsightTask)
    message = failure_message(task.insight, "insight task", "no outcome was recorded")
    task.insight.error = message
    return InsightOutcome(run_id=run_id, rank=item.rank, insight=task.insight,
                          errors=[message])


@_handler
def webhook(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Linear's signed webhook through API Gateway (HTTP API, payload format 2.0)."""
    request = APIGatewayProxyEventV2(event)
    headers = dict(request.headers or {})
    body = _raw_body(request)
    if body is None:
        reply = WebhookReply(400, {"error": "body is not valid base64"})
    elif len(body) > MAX_BODY:
        reply = oversized(headers)
    else:
        settings = lambda_settings()
        secret = settings.linear_webhook_secret
        reply = receive_linear_webhook(
            body, headers, clock(), secret.get_secret_value() if secret else None,
            lambda: closing(registry.build_records(settings)))
    metrics.add_metric(name="WebhookAccepted" if reply.status == 200 else "WebhookRefused",
                       unit=MetricUnit.Count, value=1)
    return {"statusCode": reply.status, "headers": {"content-type": "application/json"},
            "body": json.dumps(reply.body), "isBase64Encoded": False}


def _raw_body(request: APIGatewayProxyEventV2) -> bytes | None:
    """The body exactly as Linear sent it (the signature is over these bytes); None when
    API Gateway's base64 does not decode."""
    body = request.body or ""
    if not request.is_base64_encoded:
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error:
        return None
