"""Entity properties and errors at the Azure Table Storage boundary.

Table Storage has a few rules the adapters must respect on every write and read:

- A string property holds at most 64 KiB (32,768 UTF-16 code units). Long texts (a coupling's base
  values as JSON, a mapping set, an error message) are split over numbered properties
  ``Name``, ``Name_2``, ``Name_3``... and joined on read, so nothing is truncated. An entity
  holds at most 1 MiB in all; a write that would exceed it fails early with ``StoreError``.
- A Python int beyond Int32 must be sent as ``Edm.Int64`` and reads back as ``EntityProperty``.
- ``None`` is never stored: a missing property reads as None.
- Datetimes read back as the SDK's ``TablesEntityDatetime``; they become plain UTC datetimes.

``azure_errors`` translates every Azure SDK failure into ``StoreError`` (``ConcurrencyError``
for a failed ETag condition), keeping the cause.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import EdmType, EntityProperty, TableEntity, TableErrorCode
from azure.data.tables.aio import TableClient

from sync.errors import ConcurrencyError, StoreError

Entity = dict[str, Any]
"""An entity as the SDK takes it: PartitionKey, RowKey and properties."""

_INT32 = range(-(2**31), 2**31)
_PART_CHARS_ASCII = 32_000
# A non-ASCII character may take two UTF-16 code units (emoji), so parts hold half as many.
_PART_CHARS_OTHER = 16_000
_MAX_ENTITY_BYTES = 1_000_000  # Azure's limit is 1 MiB; keep a margin for system properties.


def int_value(value: int) -> int | EntityProperty:
    """An int as Table Storage accepts it: Int64 when it does not fit Int32."""
    return value if value in _INT32 else EntityProperty(value, EdmType.INT64)


def read_int(entity: Mapping[str, Any], name: str, default: int = 0) -> int:
    """An int property written by ``int_value`` (plain or Int64)."""
    value = entity.get(name)
    if value is None:
        return default
    if isinstance(value, EntityProperty):
        return int(value.value)
    return int(value)


def read_datetime(entity: Mapping[str, Any], name: str) -> datetime | None:
    """A datetime property as a plain timezone-aware UTC datetime, or None."""
    value = entity.get(name)
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise StoreError(f"property {name} holds {type(value).__name__}, expected a datetime")
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(aware.astimezone(UTC).isoformat())


def require_datetime(entity: Mapping[str, Any], name: str) -> datetime:
    """A datetime property that every entity of its kind carries.

    Raises:
        StoreError: The property is missing (the entity was not written by this adapter).
    """
    value = read_datetime(entity, name)
    if value is None:
        raise StoreError(f"entity {entity.get('RowKey')!r} lacks its {name} property")
    return value


def read_str(entity: Mapping[str, Any], name: str) -> str | None:
    """A string property, or None when it was not stored."""
    value = entity.get(name)
    return None if value is None else str(value)


def put_text(entity: Entity, name: str, text: str | None) -> None:
    """Store ``text`` under ``name``, split over ``name``, ``name_2``... when it is long."""
    if text is None:
        return
    size = _PART_CHARS_ASCII if text.isascii() else _PART_CHARS_OTHER
    parts = [text[start : start + size] for start in range(0, len(text), size)] or [""]
    entity[name] = parts[0]
    for number, part in enumerate(parts[1:], start=2):
        entity[f"{name}_{number}"] = part


def read_text(entity: Mapping[str, Any], name: str) -> str | None:
    """Undo ``put_text``: the whole text, or None when it was not stored."""
    first = entity.get(name)
    if first is None:
        return None
    parts = [str(first)]
    number = 2
    while (part := entity.get(f"{name}_{number}")) is not None:
        parts.append(str(part))
        number += 1
    return "".join(parts)


def etag_of(metadata: Mapping[str, Any]) -> str:
    """The ETag in the metadata the SDK returns after a write (or on ``entity.metadata``)."""
    etag = metadata.get("etag")
    if not isinstance(etag, str):
        raise StoreError("Table Storage answered a write without an ETag")
    return etag


def check_entity_size(entity: Entity, what: str) -> Entity:
    """Return ``entity`` if Table Storage can hold it, else raise a ``StoreError`` naming it.

    Raises:
        StoreError: The entity would exceed Table Storage's 1 MiB limit.
    """
    size = sum(_property_size(name, value) for name, value in entity.items())
    if size > _MAX_ENTITY_BYTES:
        raise StoreError(
            f"{what} needs about {size:,} bytes; a Table Storage entity holds at most 1 MiB"
        )
    return entity


def _property_size(name: str, value: object) -> int:
    # Azure counts 8 bytes per property plus the name and value in UTF-16.
    if isinstance(value, str):
        return 8 + 2 * len(name) + 4 + len(value.encode("utf-16-le"))
    return 8 + 2 * len(name) + 8


@contextmanager
def azure_errors(action: str) -> Iterator[None]:
    """Translate Azure SDK failures inside the block into ``StoreError``.

    Args:
        action: What was being done, for the message (``"save watermark scope/CUSTOMER/bc"``).

    Raises:
        ConcurrencyError: An ETag condition failed (HTTP 412).
        StoreError: Any other failure of Table Storage or of the connection to it.
    """
    try:
        yield
    except ResourceModifiedError as exc:
        raise ConcurrencyError(f"{action}: the row changed since it was read") from exc
    except HttpResponseError as exc:
        raise StoreError(f"{action}: {_describe(exc)}") from exc
    except AzureError as exc:
        raise StoreError(f"{action}: the request to Table Storage failed ({exc.message})") from exc


def _describe(exc: HttpResponseError) -> str:
    # ResourceExistsError carries no error_code attribute at all, hence getattr.
    if is_missing_table(exc):
        return "the table does not exist; call ensure_tables() first"
    code = getattr(exc, "error_code", None)
    code_text = getattr(code, "value", code) or "no error code"
    reason = exc.message.splitlines()[0] if exc.message else "no message"
    return f"Table Storage answered {exc.status_code} ({code_text}): {reason}"


async def read_entity(table: TableClient, partition_key: str, row_key: str) -> TableEntity | None:
    """A point read; None when the entity does not exist (a missing table still raises).

    Raises:
        ResourceNotFoundError: The table itself does not exist (translate with ``azure_errors``).
    """
    try:
        return await table.get_entity(partition_key, row_key)
    except ResourceNotFoundError as exc:
        if is_missing_table(exc):
            raise
        return None


def is_missing_table(exc: HttpResponseError) -> bool:
    """True when Table Storage refused a request because the table itself does not exist."""
    code = getattr(exc, "error_code", None)
    if code is None:
        # create_entity re-raises the undecoded error: the code is only in the header.
        headers = getattr(exc.response, "headers", None) or {}
        code = headers.get("x-ms-error-code")
    return code == TableErrorCode.TABLE_NOT_FOUND
