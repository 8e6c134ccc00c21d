"""Run docloop's Lambda handlers inside moto's Step Functions executions, in this process.

Why: moto executes a state machine's real definition
(`mock_aws(config={"stepfunctions": {"execute_state_machine": True}})`), but without
Docker its Lambda backend ("lambda-simple") only echoes each invocation's payload,
so the handlers would never run. `bridge_lambda` replaces that backend's `invoke`
with a call to the function its `Handler` names (the dotted path the SAM template
gives, resolved in the installed `docloop` package), under the function's own
environment variables and with a minimal Lambda context. An exception becomes what
Lambda answers for an unhandled error (`X-Amz-Function-Error: Unhandled` and
`{"errorType", "errorMessage"}`), so the definition's Retry and Catch see the
error names they see on AWS. Every invocation is recorded (function, memory,
duration) for the cost benchmark. Handlers run one at a time, on one thread that lives
as long as the bridge: the Distributed Map starts each iteration on a new thread, and
moto's in-memory backends are not thread-safe (a DynamoDB transaction deep-copies a
table another thread is writing). One long-lived thread is also what a warm Lambda
container is: what the handlers keep between invocations (boto3 clients, kept per
thread) is reused as on AWS, instead of every task paying a cold start.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import time
import traceback
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend

#: the name of the thread every bridged invocation runs on (one warm Lambda container)
CONTAINER_THREAD = "lambda-container"


@dataclass
class Invocation:
    function: str
    memory_mb: int
    seconds: float
    error: str | None = None


@dataclass
class LambdaContext:
    """The attributes of the Lambda runtime's context object that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_s: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))


def resolve_handler(dotted: str) -> Any:
    """`package.module.function` -> the function (ImportError/AttributeError if absent)."""
    module_name, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), name)


@contextmanager
def bridge_lambda() -> Iterator[list[Invocation]]:
    """Patch lambda-simple's invoke to run the named handler; yields the invocation log."""
    calls: list[Invocation] = []
    original = LambdaSimpleBackend.invoke
    saved: dict[str, str | None] = {}  # variables as they were before any function ran
    container = ThreadPoolExecutor(max_workers=1, thread_name_prefix=CONTAINER_THREAD)

    def invoke(self: LambdaSimpleBackend, function_name: str, qualifier: str | None,
               body: Any, headers: Any, response_headers: Any) -> bytes:
        function = self.get_function(function_name, qualifier)
        # a zip function names its handler; an image function's command overrides its CMD
        handler = resolve_handler(function.handler or function.image_config.cmd[0])
        context = LambdaContext(function.function_name, int(function.memory_size),
                                function.function_arn, int(function.timeout))
        event = json.loads(body) if body else {}
        return container.submit(_run, function, handler, context, event,
                                response_headers).result()

    def _run(function: Any, handler: Any, context: LambdaContext, event: Any,
             response_headers: Any) -> bytes:
        started = time.perf_counter()
        error = None
        # The function's environment, set and left set: Map iterations run in threads, and
        # every function of the template has the same variables (restored at the end).
        for name, value in function.environment_vars.items():
            saved.setdefault(name, os.environ.get(name))
            os.environ[name] = value
        try:
            result = json.dumps(handler(event, context))
        except Exception as exc:  # Lambda's answer for an unhandled error
            error = type(exc).__name__
            response_headers["x-amz-function-error"] = "Unhandled"
            result = json.dumps({"errorType": error, "errorMessage": str(exc),
                                 "stackTrace": traceback.format_tb(exc.__traceback__)})
        calls.append(Invocation(function.function_name, int(function.memory_size),
                                time.perf_counter() - started, error))
        return result.encode("utf-8")

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        container.shutdown(wait=True)
        LambdaSimpleBackend.invoke = original  # type: ignore[method-assign]
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def http_api_event(body: bytes, headers: dict[str, str], path: str = "/webhooks/linear",
                   method: str = "POST") -> dict[str, Any]:
    """An API Gateway HTTP API request as a Lambda sees it (payload format 2.0): header names
    lower-cased, repeated headers joined with commas, a body that is not text base64-encoded
    (API Gateway encodes every body that is not a text content type; docloop must decode)."""
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    return {
        "version": "2.0", "routeKey": f"{method} {path}", "rawPath": path, "rawQueryString": "",
        "headers": lowered,
        "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "203.0.113.9", "userAgent": "Linear-Webhook"},
                           "requestId": str(uuid.uuid4()), "routeKey": f"{method} {path}",
                           "stage": "$default", "timeEpoch": int(time.time() * 1000)},
        "body": base64.b64encode(body).decode("ascii"), "isBase64Encoded": True,
    }
