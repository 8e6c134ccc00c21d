"""The steps' payloads cross process boundaries intact, and the adapters' edges refuse bad input.

The Lambdas run the same four steps as `docloop run`, each reading the previous
step's output from JSON. Run here in one process but through JSON between every
step, on fresh contexts like separate Lambdas, the loop must report what the CLI
reports for the same data.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from docloop import registry
from docloop.config import Settings
from docloop.errors import ConfigError, InputError
from docloop.pipeline import RunOptions, run_pipeline
from docloop.stages.index_docs import index_docs
from docloop.steps import (
    AnalyseOutput,
    IngestOutput,
    IngestRequest,
    InsightOutcome,
    InsightTask,
    StepContext,
    analyse_step,
    ingest_step,
    insight_step,
    report_step,
)
from tests.aws_bridge import LambdaContext, http_api_event

pytestmark = [pytest.mark.aws, pytest.mark.usefixtures("minilm")]
REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "tidepool"


def _through_json(payload: Any) -> Any:
    return type(payload).model_validate_json(payload.model_dump_json())


def _settings(home: Path) -> Settings:
    settings = Settings(home=home, sources=[f"discord-export:{EXAMPLE / 'discord'}"],
                        max_insights=3)
    index_docs(settings, EXAMPLE / "docs", [])
    return settings


def _comparable(report: Any) -> dict[str, Any]:
    data: dict[str, Any] = report.model_dump(mode="json", exclude={"run_id", "started_at",
                                                                     "finished_at"})
    for insight in data["insights"]:
        if insight["ticket"]:
            insight["ticket"]["url"] = None  # the outbox path names the home
    return data


def test_steps_through_json_in_separate_contexts_report_what_the_cli_reports(
        tmp_path: Path) -> None:
    cli = run_pipeline(_settings(tmp_path / "cli"), RunOptions())
    settings = _settings(tmp_path / "steps")
    tracker = registry.build_tracker(settings)

    def context() -> Any:
        return registry.open_stores(settings)

    with context() as stores:
        ingested = _through_json(ingest_step(StepContext(settings, stores),
                                             IngestRequest(run_id="r1")))
    assert isinstance(ingested, IngestOutput)
    with context() as stores:
        analysed = _through_json(analyse_step(StepContext(settings, stores), ingested))
    assert isinstance(analysed, AnalyseOutput) and len(analysed.tasks) > 3
    outcomes = []
    for task in analysed.tasks:
        with context() as stores:
            outcome = insight_step(StepContext(settings, stores, tracker=tracker),
                                   _through_json(task))
        outcomes.append(_through_json(outcome))
    assert all(isinstance(o, InsightOutcome) for o in outcomes)
    assert [o.insight.ticket is not None for o in outcomes] == [
        rank < 3 for rank in range(len(outcomes))]  # the cap, decided by rank
    with context() as stores:
        report = report_step(StepContext(settings, stores), analysed, outcomes,
                             [analysed.usage, *(o.usage for o in outcomes)])
    assert _comparable(report) == _comparable(cli)


def test_an_insight_task_is_small_enough_for_s3_and_never_for_a_state(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "home")
    with registry.open_stores(settings) as stores:
        ctx = StepContext(settings, stores)
        analysed = analyse_step(ctx, ingest_step(ctx, IngestRequest(run_id="r1")))
    task = analysed.tasks[0]
    assert isinstance(InsightTask.model_validate_json(task.model_dump_json()), InsightTask)
    assert len(task.vectors) <= 8 and len(task.centroid) == 384


def test_a_secret_that_is_not_docloop_s_is_refused_with_its_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from docloop.aws.secrets import parse_secret

    assert parse_secret("s", '{"LINEAR_API_KEY": "k", "OPENAI_API_KEY": ""}') == {
        "LINEAR_API_KEY": "k"}
    with pytest.raises(ConfigError, match="secret s: unknown key 'LINEAR_KEY'"):
        parse_secret("s", '{"LINEAR_KEY": "k"}')
    with pytest.raises(ConfigError, match="secret s: not a JSON object"):
        parse_secret("s", "lin_api_123")
    with pytest.raises(ConfigError, match="'LINEAR_API_KEY' must be a string"):
        parse_secret("s", '{"LINEAR_API_KEY": 5}')


def test_the_secret_is_read_once_per_container(monkeypatch: pytest.MonkeyPatch) -> None:
    moto = pytest.importorskip("moto")
    import boto3

    from docloop.aws import handlers, secrets

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    handlers.reset_container()
    with moto.mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        arn = client.create_secret(Name="docloop", SecretString=json.dumps(
            {"LINEAR_WEBHOOK_SECRET": "first"}))["ARN"]
        monkeypatch.setenv(secrets.SECRET_ID_VARIABLE, arn)
        assert handlers.lambda_settings().linear_webhook_secret.get_secret_value() == "first"
        client.put_secret_value(SecretId=arn, SecretString=json.dumps(
            {"LINEAR_WEBHOOK_SECRET": "rotated"}))
        kept = handlers.lambda_settings().linear_webhook_secret
        assert kept is not None and kept.get_secret_value() == "first"  # the container's copy
        handlers.reset_container()  # a new container reads the rotated value
        fresh = handlers.lambda_settings().linear_webhook_secret
        assert fresh is not None and fresh.get_secret_value() == "rotated"
    handlers.reset_container()


def test_a_webhook_body_that_is_not_base64_is_a_bad_request(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    from docloop.aws import handlers

    monkeypatch.setenv("DOCLOOP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LINEAR_WEBHOOK_SECRET", "whsec")
    event = http_api_event(b"{}", {"Linear-Delivery": "d-1"})
    event["body"] = "not base64 at all!"
    reply = handlers.webhook(event, LambdaContext("webhook", 512, "arn:test", 10))
    assert reply["statusCode"] == 400 and "base64" in json.loads(reply["body"])["error"]
    event["body"] = base64.b64encode(b"x" * (300 * 1024)).decode()
    reply = handlers.webhook(event, LambdaContext("webhook", 512, "arn:test", 10))
    assert reply["statusCode"] == 413


def test_a_step_event_without_its_keys_is_one_clear_error(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    from docloop.aws import handlers

    monkeypatch.setenv("DOCLOOP_HOME", str(tmp_path / "home"))
    context = LambdaContext("insight", 1024, "arn:test", 300)
    with pytest.raises(InputError, match="event field 'run_id'"):
        handlers.insight({"item": {}}, context)
    with pytest.raises(InputError, match="event field 'item'"):
        handlers.insight({"run_id": "r1", "item": {"rank": "x"}}, context)
