"""One error tree for the whole engine.

Every failure the engine can explain is a ``SyncError``. Adapters translate third-party exceptions
into this tree at the boundary (keeping the cause with ``raise ... from exc``), so callers decide
on the *kind* of failure, never on an SDK's class.

    SyncError
    ├── ConfigError                 a setting, mapping or request the engine cannot work with
    │   └── MappingError            a mapping or mapping file is invalid
    ├── AuthError                   a token could not be obtained or was refused
    ├── ConnectorError              Business Central or Dataverse failed
    │   ├── TransientConnectorError throttled, timed out, 5xx: worth retrying later
    │   └── PermanentConnectorError 4xx, validation: retrying the same request fails again
    ├── StoreError                  the state store failed
    │   └── ConcurrencyError        an ETag check failed: someone else wrote first
    └── ConflictError               both sides changed one field and the policy says "stop"

``is_transient`` tells the runner whether a record's failure is retried on a later run.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConcurrencyError",
    "ConfigError",
    "ConflictError",
    "ConnectorError",
    "MappingError",
    "PermanentConnectorError",
    "StoreError",
    "SyncError",
    "TransientConnectorError",
    "is_transient",
]


class SyncError(Exception):
    """Root of every error the engine raises on purpose."""


class ConfigError(SyncError):
    """A setting is missing or malformed; the message names it and says what is expected."""


class MappingError(ConfigError):
    """A table or field mapping is invalid.

    Attributes:
        mapping: Name of the offending table mapping, when known.
        field: Name of the offending field (BC field or Dataverse column), when known.
    """

    def __init__(
        self, message: str, *, mapping: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.mapping = mapping
        self.field = field


class AuthError(SyncError):
    """A token could not be obtained, or the service refused it."""


class ConnectorError(SyncError):
    """A call to Business Central or Dataverse failed.

    Attributes:
        service: ``"bc"`` or ``"dataverse"``.
        code: The service's error code (for example ``Request_EntityChanged`` or ``0x80072322``).
        status: The HTTP status, when there was a response.
        request: ``"METHOD path"`` of the request that failed, without query secrets.
    """

    def __init__(
        self,
        message: str,
        *,
        service: str,
        code: str = "",
        status: int | None = None,
        request: str = "",
    ) -> None:
        super().__init__(message)
        self.service = service
        self.code = code
        self.status = status
        self.request = request


class TransientConnectorError(ConnectorError):
    """Throttling, timeouts, connection failures and 5xx: the same request may succeed later.

    Attributes:
        retry_after: Seconds the service asked us to wait, when it said so.
    """

    def __init__(
        self,
        message: str,
        *,
        service: str,
        code: str = "",
        status: int | None = None,
        request: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, service=service, code=code, status=status, request=request)
        self.retry_after = retry_after


class PermanentConnectorError(ConnectorError):
    """4xx and validation failures: repeating the same request fails the same way."""


class StoreError(SyncError):
    """The state store (Azure Table Storage or SQLite) failed."""


class ConcurrencyError(StoreError):
    """An optimistic-concurrency check failed: the row changed since it was read."""


class ConflictError(SyncError):
    """A field changed differently on both sides and the mapping's policy records it instead."""


def is_transient(error: BaseException) -> bool:
    """Tell whether a failure is worth retrying on a later run.

    Args:
        error: Any exception raised while syncing one record.

    Returns:
        True for transient connector failures; False for everything else.
    """
    return isinstance(error, TransientConnectorError)
