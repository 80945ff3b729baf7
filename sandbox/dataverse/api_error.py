"""The one exception the emulator raises for a request Dataverse would refuse, and its catalogue.

Handlers raise `ApiError`; the dispatcher turns it into Dataverse's error body through
`sandbox.errors.dataverse_error`. Messages and codes follow api-contracts A4, A6, A9 and the
Dataverse docs; where the contract sheet marks one unconfirmed the docstring says so.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ApiError",
    "duplicate_record",
    "invalid_query",
    "key_exists",
    "record_missing",
    "unknown_property",
    "version_mismatch",
]

OBJECT_DOES_NOT_EXIST: Final = "0x80040217"
DUPLICATE_RECORD: Final = "0x80040237"
ODATA_QUERY_ERROR: Final = "0x80060888"
STRING_TOO_LONG: Final = "0x80044331"
VALUE_OUT_OF_RANGE: Final = "0x8004431a"
INVALID_ARGUMENT: Final = "0x80040203"
# ConcurrencyVersionMismatch: the hex is unconfirmed in api-contracts A9.
CONCURRENCY_VERSION_MISMATCH: Final = "0x80060882"
EXPIRED_VERSION_STAMP: Final = "0x80044352"


class ApiError(Exception):
    """A request refused the way Dataverse refuses it.

    Attributes:
        status: HTTP status code.
        code: Dataverse's hex error code (`0x80040217`), sometimes empty as on the real service.
        message: the error message.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def with_context(self, suffix: str) -> ApiError:
        """Return the same error with `suffix` appended to its message."""
        return ApiError(self.status, self.code, f"{self.message} {suffix}")


def record_missing(logical_name: str, row_id: str) -> ApiError:
    """404 for a row that does not exist: `account With Id = <guid> Does Not Exist`."""
    return ApiError(404, OBJECT_DOES_NOT_EXIST, f"{logical_name} With Id = {row_id} Does Not Exist")


def duplicate_record() -> ApiError:
    """412 for a create whose primary key is already taken."""
    return ApiError(412, DUPLICATE_RECORD, "Cannot insert duplicate key.")


def key_exists() -> ApiError:
    """412 for a create-only upsert (`If-None-Match: *`) on an existing row."""
    return ApiError(412, DUPLICATE_RECORD, "A record with matching key values already exists.")


def version_mismatch() -> ApiError:
    """412 for a stale `If-Match` ETag."""
    return ApiError(
        412,
        CONCURRENCY_VERSION_MISMATCH,
        "The version of the existing record doesn't match the RowVersion property provided.",
    )


def unknown_property(logical_name: str, name: str) -> ApiError:
    """400 for a body property the table does not have (Dataverse sends an empty code)."""
    return ApiError(
        400,
        "",
        f"The property '{name}' does not exist on type "
        f"'Microsoft.Dynamics.CRM.{logical_name}'. Make sure to only use property "
        "names that are defined by the type.",
    )


def invalid_query(message: str) -> ApiError:
    """400 for a query option Dataverse refuses (`$skip`, an unknown `$select` column...)."""
    return ApiError(400, ODATA_QUERY_ERROR, message)
