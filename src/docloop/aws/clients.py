"""boto3 handles for the DynamoDB/S3 stores: settings checked, retries, errors translated.

Retries are boto3's own (`standard` mode: throttling, 5xx and timeouts, with
backoff and jitter), so no store loops on errors itself. What is left after
them becomes a docloop error: a missing table or bucket or missing
credentials is a `ConfigError` (exit 2, says which setting), access denied a
`PermanentError` naming the IAM action, throttling and outages a
`TransientError`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from docloop.config import Settings
from docloop.errors import (
    BackendError,
    ConfigError,
    MissingDependencyError,
    PermanentError,
    TransientError,
)

#: attempts per call, first included (boto3's standard retry mode)
MAX_ATTEMPTS = 8
_MISSING = {"ResourceNotFoundException", "NoSuchBucket"}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnrecognizedClientException",
           "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException",
           "InvalidAccessKeyId", "SignatureDoesNotMatch"}
_TRANSIENT = {"ProvisionedThroughputExceededException", "ThrottlingException",
              "RequestLimitExceeded", "InternalServerError", "ServiceUnavailable",
              "SlowDown", "TransactionInProgressException", "InternalError"}
#: each thread's AWSClients by (table, bucket)
_per_thread = threading.local()


@dataclass
class AWSClients:
    """The table and (when the messages family needs it) the bucket, for every family."""

    table: Any  # boto3 DynamoDB Table resource
    s3: Any  # boto3 S3 client
    table_name: str
    bucket: str | None

    @classmethod
    def from_settings(cls, settings: Settings, need_bucket: bool = False) -> AWSClients:
        """Check the settings and give this thread's handles (no network call yet).

        Building them costs about half a second (boto3 loads the service models),
        which a webhook request or a warm Lambda must not pay each time, so they
        are kept per thread (boto3 resources must not be shared between threads).
        """
        if not settings.dynamodb_table:
            raise ConfigError("store = \"dynamodb\" needs dynamodb_table (DOCLOOP_DYNAMODB_TABLE): "
                              "the table the SAM stack created")
        if need_bucket and not settings.s3_bucket:
            raise ConfigError("store = \"dynamodb\" keeps messages in S3 and needs s3_bucket "
                              "(DOCLOOP_S3_BUCKET): the bucket the SAM stack created")
        built: dict[tuple[str, str | None], AWSClients] = _per_thread.__dict__.setdefault(
            "clients", {})
        key = (settings.dynamodb_table, settings.s3_bucket)
        if key not in built:
            built[key] = cls._build(*key)
        return built[key]

    @classmethod
    def _build(cls, table_name: str, bucket: str | None) -> AWSClients:
        try:
            import boto3
            from botocore.config import Config
            from botocore.exceptions import BotoCoreError
        except ImportError:
            raise MissingDependencyError("dynamodb", "aws") from None
        config = Config(retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS})
        try:
            session = boto3.session.Session()
            table = session.resource("dynamodb", config=config).Table(table_name)
            s3 = session.client("s3", config=config)
        except BotoCoreError as exc:  # no region configured, most often
            raise ConfigError(f"cannot set up AWS clients: {exc} (set AWS_REGION)") from None
        return cls(table, s3, table_name, bucket)

    def where(self) -> str:
        """Where the state lives, for messages."""
        bucket = f" and S3 bucket '{self.bucket}'" if self.bucket else ""
        return f"DynamoDB table '{self.table_name}'{bucket}"


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


@contextmanager
def aws_errors(clients: AWSClients, action: str) -> Iterator[None]:
    """Turn what boto3 raises (after its retries) into one docloop error naming `action`."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError,
        NoCredentialsError,
    )

    try:
        yield
    except ClientError as exc:
        raise _translated(clients, action, exc) from None
    except NoCredentialsError:
        raise ConfigError("no AWS credentials found: configure a profile, AWS_ACCESS_KEY_ID/"
                          "AWS_SECRET_ACCESS_KEY, or run where a role provides them") from None
    except ConnectionError as exc:
        raise TransientError(f"{action} in {clients.where()}: {exc}") from None
    except BotoCoreError as exc:
        raise BackendError(f"{action} in {clients.where()}: {exc}") from None


def _translated(clients: AWSClients, action: str, exc: Exception) -> BackendError | ConfigError:
    code = error_code(exc)
    message = getattr(exc, "response", {}).get("Error", {}).get("Message", str(exc))
    if code in _MISSING:
        return ConfigError(f"{action}: {clients.where()} not found ({message}): deploy the "
                           "stack (deploy/aws) or set dynamodb_table / s3_bucket to existing ones")
    if code in _DENIED:
        return PermanentError(f"{action}: access denied to {clients.where()} ({code}: "
                              f"{message}): give the role the IAM actions listed in "
                              "docloop/aws/dynamodb_layout.py")
    if code in _TRANSIENT:
        return TransientError(f"{action}: {clients.where()} still throttled or unavailable "
                              f"after {MAX_ATTEMPTS} attempts ({code})")
    return BackendError(f"{action} in {clients.where()} failed: {code}: {message}")
