"""Errors of the HTTP API: one JSON shape, one status per kind of mistake.

Every error answer looks like this::

    {"error": {"code": "invalid_request", "message": "The body does not fit the request.",
               "details": [{"field": "bcId", "message": "not a GUID"}]}}

``translate`` maps the engine's errors to statuses: the caller's mistakes are 4xx with a
message that says what to change; failures of the services or the store are 502/503 so that
Power Automate's retry policy tries again. Nothing here ever holds a stack trace.
"""

from __future__ import annotations

from typing import Any

from sync.engine.record_operations import AlreadyCoupledError, RecordNotFoundError
from sync.engine.session import AlreadyRunningError
from sync.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    MappingError,
    StoreError,
    SyncError,
    TransientConnectorError,
)

Details = list[dict[str, Any]]


class ApiError(Exception):
    """An answer other than success, raised anywhere inside a request's handling.

    Attributes:
        status: The HTTP status.
        code: A stable, machine-readable code (``invalid_json``, ``mapping_running``...).
        message: What went wrong and what to do, for people.
        details: Per-field or per-problem specifics.
        headers: Extra headers of the answer (``Retry-After``).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Details | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


# Engine errors whose answer is fixed, most specific first; messages that could hold
# configuration details are replaced by a pointer to the log.
_FIXED: tuple[tuple[type[SyncError], int, str, str | None], ...] = (
    (AlreadyRunningError, 409, "mapping_running", None),
    (AlreadyCoupledError, 409, "already_coupled", None),
    (RecordNotFoundError, 404, "record_not_found", None),
    (ConfigError, 503, "not_configured", "The app is not fully configured; see its log."),
    (AuthError, 502, "service_auth_failed", "A service refused the app's credentials."),
    (ConnectorError, 502, "service_error", None),
    (StoreError, 503, "store_unavailable", "The state store failed; try again later."),
)


def translate(error: SyncError) -> ApiError:
    """The API error that answers an engine error."""
    if isinstance(error, MappingError):
        return ApiError(422, "invalid_mapping", str(error).splitlines()[0], mapping_details(error))
    if isinstance(error, TransientConnectorError):
        retry = str(int(error.retry_after or 30))
        return ApiError(503, "service_busy", str(error), headers={"Retry-After": retry})
    for kind, status, code, message in _FIXED:
        if isinstance(error, kind):
            return ApiError(status, code, message or str(error))
    return ApiError(422, "not_possible", str(error))


def mapping_details(error: MappingError) -> Details:
    """One detail per problem the mapping error lists; the first names mapping and field."""
    problems = [
        line.strip()[2:] for line in str(error).splitlines() if line.strip().startswith("- ")
    ]
    details: Details = [{"message": problem} for problem in problems or [str(error)]]
    details[0].update({"mapping": error.mapping, "field": error.field})
    return details
