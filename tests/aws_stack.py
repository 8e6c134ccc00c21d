"""deploy/aws/template.yaml stood up in moto, as CloudFormation would, for the AWS tests.

Reads the SAM template (CloudFormation's short tags kept as {tag: value}) and
creates what the workflow needs from it: the DynamoDB table (its key schema and
TTL attribute), the bucket, the secret, one Lambda function per handler (its
`Handler`, memory, timeout and environment with `!Ref`/`!If` resolved against
the given parameters; with EmbedderMode=local-image the image functions, whose
handler is their `ImageConfig.Command`) and the state machine from the real ASL file with its
`DefinitionSubstitutions` filled. Call inside `mock_aws`, with
`tests.aws_bridge.bridge_lambda` active so the functions run docloop's handlers.
"""

from __future__ import annotations

import copy
import io
import json
import re
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy" / "aws"
TEMPLATE = DEPLOY / "template.yaml"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
REGION = "us-east-1"
FUNCTIONS = ("IngestFunction", "AnalyseFunction", "InsightFunction", "ReportFunction",
             "WebhookFunction")


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (`!Ref X` -> {"Ref": "X"})."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template() -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=_CfnLoader)
    return data


def image_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's container-image functions (EmbedderMode=local-image), by logical id."""
    return {name: r for name, r in template["Resources"].items()
            if r["Type"] == "AWS::Serverless::Function"
            and r["Properties"].get("PackageType") == "Image"}


def packaged_template() -> dict[str, Any]:
    """The template as `sam build && sam package` leave it: local code and definition
    uploaded to S3, images pushed to ECR."""
    template = copy.deepcopy(load_template())
    template["Globals"]["Function"]["CodeUri"] = "s3://bucket/code.zip"
    template["Resources"]["Pipeline"]["Properties"]["DefinitionUri"] = \
        "s3://bucket/statemachine/pipeline.asl.json"
    for name, resource in image_functions(template).items():
        resource["Properties"]["ImageUri"] = \
            f"123456789012.dkr.ecr.{REGION}.amazonaws.com/docloop:{name}"
    return template


class _ManagedPolicies:
    """The AWS managed policies the transform looks up by name (tracing adds X-Ray's)."""

    def load(self) -> dict[str, str]:
        return {"AWSXRayDaemonWriteAccess": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"}


def sam_transform() -> dict[str, Any]:
    """The packaged template through the SAM transform, offline (aws-sam-translator);
    conditions (EmbedderMode) stay for CloudFormation to evaluate."""
    from samtranslator.translator.transform import transform

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        result: dict[str, Any] = transform(packaged_template(), {"Sources": "discord-guild:1"},
                                           _ManagedPolicies())
    return result


def load_definition() -> str:
    return (DEPLOY / "statemachine" / "pipeline.asl.json").read_text(encoding="utf-8")


@dataclass
class Stack:
    """The resources created, by logical id."""

    names: dict[str, str] = field(default_factory=dict)  # Ref value per logical id
    arns: dict[str, str] = field(default_factory=dict)
    memory: dict[str, int] = field(default_factory=dict)  # function name -> MB

    @property
    def state_machine_arn(self) -> str:
        return self.arns["Pipeline"]


class _Resolver:
    """Just enough of CloudFormation's intrinsic functions for the template's values."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str],
                 stack: Stack) -> None:
        self.template = template
        self.parameters = {name: str(spec.get("Default", ""))
                           for name, spec in template["Parameters"].items()}
        self.parameters.update(parameters)
        self.stack = stack

    def value(self, node: Any) -> Any:
        if not isinstance(node, dict) or len(node) != 1:
            return node
        (name, arg), = node.items()
        if name == "Ref":
            if arg == "AWS::NoValue":
                return None
            return self.parameters[arg] if arg in self.parameters else self.stack.names[arg]
        if name == "Fn::GetAtt":
            target = arg.split(".")[0] if isinstance(arg, str) else arg[0]
            return self.stack.arns[target]
        if name == "Fn::If":
            condition, then, otherwise = arg
            return self.value(then if self.condition(condition) else otherwise)
        raise AssertionError(f"the test stack cannot resolve {name}")

    def condition(self, name: str) -> bool:
        return bool(self.evaluate(self.template["Conditions"][name]))

    def evaluate(self, node: Any) -> Any:
        (name, arg), = node.items()
        if name == "Fn::Not":
            return not self.evaluate(arg[0])
        if name == "Fn::Equals":
            return str(self.value(arg[0])) == str(self.value(arg[1]))
        if name == "Fn::Condition":
            return self.condition(arg)
        raise AssertionError(f"the test stack cannot evaluate {name}")


def deploy(parameters: dict[str, str], environment: dict[str, str],
           secret: dict[str, str]) -> Stack:
    """Create the template's resources in moto; `environment` adds or replaces variables."""
    template = load_template()
    resources = template["Resources"]
    stack = Stack()
    resolver = _Resolver(template, parameters, stack)
    _table(resources["StateTable"]["Properties"], stack)
    stack.names["ArtifactsBucket"] = "docloop-artifacts-test"
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="docloop-artifacts-test")
    created = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="docloop-secrets-test", SecretString=json.dumps(secret))
    stack.names["Secrets"] = created["ARN"]
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="docloop-test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    for step in FUNCTIONS:
        logical = _live_function(step, resources, resolver)
        _function(logical, template, resolver, stack, role, environment)
    _state_machine(resources["Pipeline"]["Properties"], resolver, stack, role)
    return stack


def _live_function(step: str, resources: dict[str, Any], resolver: _Resolver) -> str:
    """The resource that runs `step` with these parameters: the zip function, or with
    EmbedderMode=local-image its image twin (`AnalyseFunction` -> `AnalyseImageFunction`)."""
    for logical in (step, step.replace("Function", "ImageFunction")):
        condition = resources.get(logical, {}).get("Condition")
        if logical in resources and (not condition or resolver.condition(condition)):
            return logical
    raise AssertionError(f"no function of the template runs {step} with these parameters")


def _table(properties: dict[str, Any], stack: Stack) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(TableName="docloop-state-test", BillingMode=properties["BillingMode"],
                        AttributeDefinitions=properties["AttributeDefinitions"],
                        KeySchema=properties["KeySchema"])
    ttl = properties["TimeToLiveSpecification"]
    client.update_time_to_live(TableName="docloop-state-test", TimeToLiveSpecification={
        "AttributeName": ttl["AttributeName"], "Enabled": ttl["Enabled"]})
    stack.names["StateTable"] = "docloop-state-test"


def _function(logical: str, template: dict[str, Any], resolver: _Resolver, stack: Stack,
              role: str, environment: dict[str, str]) -> None:
    defaults = template["Globals"]["Function"]
    properties = {**defaults, **template["Resources"][logical]["Properties"]}
    variables = {name: resolver.value(value)
                 for name, value in defaults["Environment"]["Variables"].items()}
    variables = {name: str(value) for name, value in {**variables, **environment}.items()
                 if value is not None}
    name = f"docloop-{logical}"
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("README.txt", "the bridge runs the installed docloop package")
    if properties.get("PackageType") == "Image":  # moto stubs ECR: the image need not exist
        package: dict[str, Any] = {
            "PackageType": "Image", "ImageConfig": properties["ImageConfig"],
            "Code": {"ImageUri": f"123456789012.dkr.ecr.{REGION}.amazonaws.com/docloop:"
                                 f"{template['Resources'][logical]['Metadata']['DockerTag']}"}}
    else:
        package = {"Runtime": properties["Runtime"], "Handler": properties["Handler"],
                   "Code": {"ZipFile": code.getvalue()}}
    created = boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name, Role=role, MemorySize=int(properties["MemorySize"]),
        Timeout=int(properties["Timeout"]), Environment={"Variables": variables}, **package)
    stack.names[logical] = name
    stack.arns[logical] = created["FunctionArn"]
    stack.memory[name] = int(properties["MemorySize"])


def _state_machine(properties: dict[str, Any], resolver: _Resolver, stack: Stack,
                   role: str) -> None:
    substitutions = {key: str(resolver.value(value))
                     for key, value in properties["DefinitionSubstitutions"].items()}
    definition = PLACEHOLDER.sub(lambda m: substitutions[m.group(1)], load_definition())
    definition = quick_lock_retries(definition)
    created = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name="docloop-pipeline-test", definition=definition, roleArn=role,
        type=properties.get("Type", "STANDARD"))
    stack.arns["Pipeline"] = created["stateMachineArn"]


def quick_lock_retries(definition: str) -> str:
    """The definition with its `RunLocked` retries waiting 1 s each (no backoff).

    moto's engine sleeps each retry's interval for real; the deployed definition waits
    minutes for a lease holder to finish. Only the waiting shrinks: the retried states,
    the number of attempts and the Catch that follows are the deployed ones.
    """
    data = json.loads(definition)
    for retrier in _retriers(data):
        if "RunLocked" in retrier["ErrorEquals"]:
            retrier.update(IntervalSeconds=1, BackoffRate=1.0)
    return json.dumps(data)


def _retriers(node: Any) -> list[dict[str, Any]]:
    """Every Retry entry anywhere in a parsed definition."""
    if isinstance(node, list):
        return [r for item in node for r in _retriers(item)]
    if not isinstance(node, dict):
        return []
    found = [r for r in node.get("Retry", []) if isinstance(r, dict)]
    return found + [r for key, value in node.items() if key != "Retry"
                    for r in _retriers(value)]


def run_execution(stack: Stack, name: str, execution_input: dict[str, Any],
                  timeout_s: float = 600.0) -> dict[str, Any]:
    """Start an execution and wait for it to end; its description."""
    client = boto3.client("stepfunctions", region_name=REGION)
    arn = client.start_execution(stateMachineArn=stack.state_machine_arn, name=name,
                                 input=json.dumps(execution_input))["executionArn"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        described: dict[str, Any] = client.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.2)
    raise AssertionError(f"execution {name} still running after {timeout_s} s")


def history(execution_arn: str) -> list[dict[str, Any]]:
    client = boto3.client("stepfunctions", region_name=REGION)
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = client.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]
