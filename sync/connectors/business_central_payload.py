"""What Business Central sends back, parsed at the boundary: rows into Records.

Rows of customers or vendors that expand ``contactsInformation`` become ``BusinessRelation``s.

Both the reads (collection pages) and the ``$batch`` writer use these parsers, so ``Any`` from a
JSON body never reaches the engine. Error bodies are read by the core's ``service_error``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from pydantic import ValidationError

from sync.connectors.odata import parse_datetime
from sync.errors import PermanentConnectorError
from sync.models import BusinessRelation, JsonScalar, Record

SERVICE: Final = "bc"
INVALID_RESPONSE: Final = "InvalidResponse"
"""Error code for a body that is not what BC's API v2.0 documents (ours, not BC's)."""

_GUID: Final = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def is_guid(text: str) -> bool:
    """Tell whether ``text`` is a bare GUID, as BC's SystemIds (``id``) are."""
    return _GUID.match(text) is not None


def parse_rows(page: Mapping[str, Any], fields: Sequence[str]) -> list[Record]:
    r"""Turn one collection page into Records.

    Example page (trimmed)::

        {"@odata.context": ".../$metadata#companies(5d1c...)/customers(number,displayName)",
         "value": [{"@odata.etag": "W/\"JzQ0O0pTVT0nOyc=\"", "id": "9a1e...",
                    "number": "C00010", "displayName": "Adatum",
                    "lastModifiedDateTime": "2024-05-01T08:00:00.123Z"}],
         "@odata.nextLink": "...customers?$skiptoken=..."}

    Args:
        page: The parsed JSON of one page.
        fields: The mapped fields to keep in ``Record.values``.

    Returns:
        One Record per row, in the page's order.

    Raises:
        PermanentConnectorError: The page has no ``value`` list, or a row is malformed.
    """
    rows = page.get("value")
    if not isinstance(rows, list):
        raise _invalid("a collection page has no 'value' list")
    return [parse_row(row, fields) for row in rows]


def parse_row(row: object, fields: Sequence[str]) -> Record:
    r"""Turn one entity (a page row or a write's response body) into a Record.

    Example row (trimmed)::

        {"@odata.etag": "W/\"JzQ0O0pTVT0nOyc=\"", "id": "9a1e5f0c-...",
         "number": "C00010", "displayName": "Adatum",
         "lastModifiedDateTime": "2024-05-01T08:00:00.123Z"}

    ``id`` becomes ``Record.id``, ``@odata.etag`` the version, ``lastModifiedDateTime`` the
    change time; ``values`` holds the requested ``fields`` the row carries.

    Raises:
        PermanentConnectorError: Not an object, no ``id``, a non-scalar field (a navigation
            property was selected), or an unreadable date-time.
    """
    if not isinstance(row, dict):
        raise _invalid("a row is not a JSON object")
    record_id = row.get("id")
    if not isinstance(record_id, str):
        raise _invalid("a row has no 'id'")
    values: dict[str, JsonScalar] = {}
    for name in fields:
        if name in row:
            value = row[name]
            if isinstance(value, dict | list):
                raise _invalid(f"field {name!r} is not a scalar; select plain fields only")
            values[name] = value
    try:
        return Record(
            id=record_id,
            version=row.get("@odata.etag"),
            modified_at=parse_modified(row.get("lastModifiedDateTime")),
            values=values,
        )
    except ValidationError as error:
        raise _invalid(f"a row does not fit a record: {error.errors()[0]['msg']}") from error


def parse_business_relations(page: Mapping[str, Any]) -> list[BusinessRelation]:
    r"""Turn a page of customers or vendors with their company contacts into relations.

    Example page (trimmed; ``contactsInformation`` expanded and filtered on
    ``contactType eq 'Company'``)::

        {"value": [
            {"@odata.etag": "W/\"JzQ0O0pTVT0nOyc=\"", "id": "8e253caa-...", "number": "C00010",
             "contactsInformation": [
                {"contactId": "8f253caa-...", "contactNumber": "CT000001",
                 "contactType": "Company"}]},
            {"id": "91a0...", "number": "C00020", "contactsInformation": []}],
         "@odata.nextLink": "...customers?$skiptoken=..."}

    Returns:
        One relation per row with a company contact (the first, should BC list several), in
        the page's order; rows without one are left out.

    Raises:
        PermanentConnectorError: No ``value`` list, a row without ``id``, or a company contact
            without ``contactId`` or ``contactNumber``.
    """
    rows = page.get("value")
    if not isinstance(rows, list):
        raise _invalid("a collection page has no 'value' list")
    relations = []
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("id"), str):
            raise _invalid("a row has no 'id'")
        contacts = row.get("contactsInformation")
        if not isinstance(contacts, list):
            raise _invalid("a row lacks its expanded 'contactsInformation'")
        company = next(
            (c for c in contacts if isinstance(c, dict) and c.get("contactType") == "Company"),
            None,
        )
        if company is None:
            continue
        try:
            relations.append(
                BusinessRelation.model_validate(
                    {
                        "related_id": row["id"],
                        "related_number": str(row.get("number") or ""),
                        "contact_id": company.get("contactId"),
                        "contact_number": company.get("contactNumber"),
                    }
                )
            )
        except ValidationError as exc:
            raise _invalid(f"a company contact of {row['id']} is malformed: {exc}") from exc
    return relations


def parse_modified(value: object) -> datetime | None:
    """Read ``lastModifiedDateTime`` (``2024-05-01T08:00:00.123Z``); None when absent.

    Raises:
        PermanentConnectorError: Present but not an ISO 8601 date-time with an offset.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid("lastModifiedDateTime is not a string")
    try:
        return parse_datetime(value)
    except ValueError as error:
        raise _invalid(f"lastModifiedDateTime {value!r} is unreadable") from error


def _invalid(detail: str) -> PermanentConnectorError:
    return PermanentConnectorError(
        f"Business Central sent an unexpected body: {detail}.",
        service=SERVICE,
        code=INVALID_RESPONSE,
    )
