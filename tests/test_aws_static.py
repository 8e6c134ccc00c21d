"""The deployment, checked without AWS: template lint, the SAM transform, the state machine
definition (schema, substitutions, moto's parser) and the handlers the template names."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.aws_bridge import resolve_handler
from tests.aws_stack import (
    DEPLOY,
    FUNCTIONS,
    PLACEHOLDER,
    REPO,
    TEMPLATE,
    load_definition,
    load_template,
    sam_transform,
)

pytestmark = pytest.mark.aws
ASL = DEPLOY / "statemachine" / "pipeline.asl.json"
ASL_VALIDATOR = REPO / "tools" / "node_modules" / ".bin" / "asl-validator"
HANDLERS = {"IngestFunction": "ingest", "AnalyseFunction": "analyse",
            "InsightFunction": "insight", "ReportFunction": "report",
            "WebhookFunction": "webhook"}


def _lint(text: str) -> list[str]:
    """cfn-lint's errors and warnings (what its command line reports by default)."""
    from cfnlint.api import lint_all

    return [str(m) for m in lint_all(text) if m.rule.id[0] in "EW"]


def test_cfn_lint_finds_nothing_in_the_template() -> None:
    assert _lint(TEMPLATE.read_text(encoding="utf-8")) == []
    broken = TEMPLATE.read_text(encoding="utf-8").replace("Runtime: python3.11",
                                                          "Runtime: python2.7")
    assert _lint(broken), "cfn-lint must flag a deprecated runtime (the check runs)"


@pytest.fixture(scope="module")
def transformed() -> dict[str, Any]:
    return sam_transform()


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_the_sam_transform_yields_one_function_per_handler(
        transformed: dict[str, Any]) -> None:
    functions = {name: f for name, f in _of_type(transformed, "AWS::Lambda::Function").items()
                 if f.get("Condition") != "LocalImage"}  # the default: zip functions
    assert {name: f["Properties"]["Handler"] for name, f in functions.items()} == {
        logical: f"docloop.aws.handlers.{name}" for logical, name in HANDLERS.items()}
    for function in functions.values():
        assert function["Properties"]["Runtime"] in {"python3.11", "python3.12"}
        assert function["Properties"]["Environment"]["Variables"]["DOCLOOP_S3_BUCKET"] == {
            "Ref": "ArtifactsBucket"}


def test_the_schedule_the_api_and_the_state_machine_are_wired(
        transformed: dict[str, Any]) -> None:
    schedule, = _of_type(transformed, "AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["ScheduleExpression"] == {"Ref": "Schedule"}
    assert schedule["Properties"]["Target"]["Arn"] == {"Ref": "Pipeline"}
    api, = _of_type(transformed, "AWS::ApiGatewayV2::Api").values()
    route = api["Properties"]["Body"]["paths"]["/webhooks/linear"]["post"]
    assert route["x-amazon-apigateway-integration"]["payloadFormatVersion"] == "2.0"
    machine = transformed["Resources"]["Pipeline"]["Properties"]
    assert machine["DefinitionS3Location"]["Key"] == "statemachine/pipeline.asl.json"


def _statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    policies = template["Resources"][role]["Properties"].get("Policies", [])
    return [s for p in policies for s in p["PolicyDocument"]["Statement"]]


def test_each_role_reaches_only_its_own_resources(transformed: dict[str, Any]) -> None:
    webhook = json.dumps(_statements(transformed, "WebhookFunctionRole"))
    assert "s3:" not in webhook and "ArtifactsBucket" not in webhook  # no run artifacts
    assert "StateTable" in webhook and "Secrets" in webhook
    for role in ("IngestFunctionRole", "AnalyseFunctionRole", "InsightFunctionRole",
                 "ReportFunctionRole"):
        statements = _statements(transformed, role)
        assert all(s["Resource"] != "*" for s in statements), role
        text = json.dumps(statements)
        assert "ArtifactsBucket" in text and "StateTable" in text and "Secrets" in text
    invoke = [s for s in _statements(transformed, "PipelineRole")
              if "lambda:InvokeFunction" in json.dumps(s["Action"])]
    targets = json.dumps([s["Resource"] for s in invoke])
    assert "WebhookFunction" not in targets
    assert all(f in targets for f in ("IngestFunction", "AnalyseFunction", "InsightFunction",
                                      "ReportFunction"))


def test_every_placeholder_has_a_substitution_and_every_substitution_is_used() -> None:
    used = set(PLACEHOLDER.findall(load_definition()))
    given = set(load_template()["Resources"]["Pipeline"]["Properties"]
                ["DefinitionSubstitutions"])
    assert used == given
    assert not re.search(r"\$\{[^}]*[^A-Za-z0-9_}][^}]*\}", load_definition())


def test_every_handler_the_template_names_is_a_callable_in_the_package() -> None:
    template = load_template()
    for logical in FUNCTIONS:
        handler = template["Resources"][logical]["Properties"]["Handler"]
        assert callable(resolve_handler(handler)), handler
        assert handler.startswith("docloop.aws.handlers.")


def test_the_definition_retries_only_service_and_transient_errors() -> None:
    definition = json.loads(load_definition())
    tasks = _tasks(definition["States"])
    assert set(tasks) == {"Ingest", "Analyse", "Insight", "RecordFailure", "Report",
                          "ReleaseLease"}
    release = tasks.pop("ReleaseLease")
    assert {e for r in release["Retry"] for e in r["ErrorEquals"]} <= {
        "DynamoDB.ProvisionedThroughputExceededException", "DynamoDB.ThrottlingException",
        "DynamoDB.InternalServerErrorException", "DynamoDB.RequestLimitExceeded"}
    for name, task in tasks.items():
        errors = {e for r in task["Retry"] for e in r["ErrorEquals"]}
        assert "States.ALL" not in errors and "States.TaskFailed" not in errors, name
        assert {"Lambda.ServiceException", "Lambda.TooManyRequestsException"} <= errors
        assert all(r["BackoffRate"] > 1 for r in task["Retry"])
    assert tasks["Insight"]["Catch"][0]["Next"] == "RecordFailure"
    mapped = definition["States"]["Insights"]
    assert mapped["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert mapped["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
    # moto's engine gaps, avoided on purpose (see the README's deploy section)
    assert not {"ItemBatcher", "ResultWriter", "ToleratedFailurePercentage",
                "ToleratedFailureCount"} & set(mapped)


def test_a_failed_step_gives_the_run_lease_back_and_a_locked_run_ends_as_locked() -> None:
    states = json.loads(load_definition())["States"]
    assert states["Ingest"]["Catch"][0] == {"ErrorEquals": ["RunLocked"],
                                            "ResultPath": "$.error", "Next": "Locked"}
    for name in ("Ingest", "Analyse", "Insights", "Report"):
        last = states[name]["Catch"][-1]
        assert last["ErrorEquals"] == ["States.ALL"] and last["Next"] == "ReleaseLease", name
    release = states["ReleaseLease"]
    assert release["Resource"] == "arn:aws:states:::dynamodb:deleteItem"
    assert release["Parameters"]["ExpressionAttributeValues"] == {
        ":owner": {"S.$": "$$.Execution.Name"}}  # only this run's own lease
    assert release["Next"] == release["Catch"][0]["Next"] == "Failed"
    for fail in ("Failed", "Locked"):
        assert states[fail] | {"Comment": ""} == {
            "Type": "Fail", "Comment": "", "ErrorPath": "$.error.Error",
            "CausePath": "$.error.Cause"}


def test_only_ingest_waits_for_a_held_lease_and_for_minutes_not_hours() -> None:
    """A review decision or a short CLI run holds the lease for seconds to minutes: a
    scheduled run waits it out; a run that lost its lease mid-way must not retry."""
    tasks = _tasks(json.loads(load_definition())["States"])
    waiting = {name: r for name, task in tasks.items() for r in task["Retry"]
               if "RunLocked" in r["ErrorEquals"]}
    assert set(waiting) == {"Ingest"}
    retry = waiting["Ingest"]
    assert retry["ErrorEquals"] == ["RunLocked"] and "JitterStrategy" not in retry
    waits = [retry["IntervalSeconds"] * retry["BackoffRate"] ** i
             for i in range(retry["MaxAttempts"])]
    assert waits[0] >= 10 and 5 * 60 <= sum(waits) <= 20 * 60


def _tasks(states: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, state in states.items():
        if state["Type"] == "Task":
            found[name] = state
        if "ItemProcessor" in state:
            found.update(_tasks(state["ItemProcessor"]["States"]))
    return found


def test_moto_s_asl_parser_accepts_the_definition_with_substitutions_filled() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    filled = PLACEHOLDER.sub(lambda m: "5" if m.group(1) == "MaxConcurrency" else
                             f"arn:aws:lambda:us-east-1:123456789012:function:{m.group(1)}",
                             load_definition())
    program, _ = AmazonStateLanguageParser.parse(filled)
    assert program is not None


def _asl_validator() -> Path:
    if ASL_VALIDATOR.exists():
        return ASL_VALIDATOR
    if shutil.which("node") is None:
        pytest.skip("node is not installed: asl-validator (npm) cannot run")
    pytest.skip("asl-validator is not installed: run `make test` (it installs tools/)")


def test_asl_validator_accepts_the_definition_and_rejects_a_broken_one(
        tmp_path: Path) -> None:
    validator = _asl_validator()
    ok = subprocess.run([str(validator), "--json-path", str(ASL)], capture_output=True,
                        text=True, timeout=120, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = json.loads(load_definition())
    broken["States"]["Ingest"]["Next"] = "Nowhere"
    path = tmp_path / "broken.asl.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    bad = subprocess.run([str(validator), "--json-path", str(path)], capture_output=True,
                         text=True, timeout=120, check=False)
    assert bad.returncode != 0 and "Nowhere" in bad.stdout + bad.stderr
