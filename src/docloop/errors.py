"""The exception tree, drawn once.

    DocloopError
    ├── UserError            bad input or configuration: exit 2 / HTTP 4xx, nothing written
    │   ├── ConfigError      a setting is wrong or missing
    │   ├── InputError       a file or payload is malformed (names the file and field)
    │   │   └── NotFoundError  an id names nothing docloop knows (HTTP 404)
    │   └── ConflictError    the request contradicts the current state (HTTP 409)
    ├── BackendError         an external service failed
    │   ├── TransientError   worth retrying (429, 5xx, timeouts)
    │   └── PermanentError   retrying will not help (401/403, schema errors)
    └── StageError           one stage failed for one item; the run goes on

Core code raises these; adapters (CLI, web, Lambda) turn them into exit codes,
HTTP statuses or failed states. Messages are written for the user: what is
wrong, where, and what to do.
"""

from __future__ import annotations


class DocloopError(Exception):
    """Base of every error docloop raises on purpose."""


class UserError(DocloopError):
    """Bad input or configuration; the command exits 2 and writes nothing."""


class ConfigError(UserError):
    """A setting is invalid or missing."""


class InputError(UserError):
    """An input file or payload is malformed."""


class NotFoundError(InputError):
    """An id (insight, ticket) names nothing docloop knows; a web adapter answers 404."""


class ConflictError(UserError):
    """The request contradicts the current state (accepting a rejected insight, merging
    an insight into itself); a web adapter answers 409."""


class BackendError(DocloopError):
    """An external service (Discord, Linear, an LLM API, AWS) failed."""


class TransientError(BackendError):
    """A failure that may succeed on retry (429, 5xx, timeout)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(BackendError):
    """A failure that retrying will not fix (bad token, missing permission)."""


class OutcomeUnknown(BackendError):
    """A write that may have taken effect though its answer could not be read (a success
    with a body that is not the service's): whoever retries it must first look for it."""


class StageError(DocloopError):
    """A stage failed for one item; recorded in the report, the run continues."""


class MissingDependencyError(ConfigError):
    """A backend needs an optional extra that is not installed."""

    def __init__(self, backend: str, extra: str) -> None:
        super().__init__(f"Backend '{backend}' needs: pip install 'docloop[{extra}]'")
