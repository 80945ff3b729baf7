"""Parsing of Web API resource paths, row keys and entity references.

Examples of what is understood::

    accounts                                       -> [Segment("accounts")]
    accounts(00000000-0000-0000-0000-000000000001)/name
    accounts(accountnumber='A''1',name='x')        (alternate key, quotes doubled)
    EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata
    https://org.crm.dynamics.com/api/data/v9.2/contacts(<guid>)   (an @odata.bind value)
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from sandbox.dataverse.api_error import ApiError, invalid_query

__all__ = [
    "API_PREFIX",
    "RowKey",
    "Segment",
    "normalize_guid",
    "parse_key",
    "parse_path",
    "parse_reference",
]

API_PREFIX: Final = "/api/data/v9.2/"
_NUMBER: Final = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass(frozen=True, slots=True)
class Segment:
    """One path segment: a name and the text between its parentheses, if any."""

    name: str
    key: str | None = None


@dataclass(frozen=True, slots=True)
class RowKey:
    """A parsed key: a bare primary id, or named parts (`accountnumber='X'`).

    Attributes:
        row_id: the GUID when the key was a bare id.
        parts: (name, value) pairs of a named key; values are str, int or float.
    """

    row_id: str | None
    parts: tuple[tuple[str, Any], ...] = ()


def normalize_guid(text: str) -> str | None:
    """Return the GUID in lower-case canonical form, or None when `text` is not a GUID."""
    cleaned = text.strip().strip("{}")
    if len(cleaned) != 36:
        return None
    try:
        return str(uuid.UUID(cleaned))
    except ValueError:
        return None


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    depth, quoted, start = 0, False, 0
    for index, character in enumerate(text):
        if character == "'":
            quoted = not quoted
        elif not quoted and character == "(":
            depth += 1
        elif not quoted and character == ")":
            depth -= 1
        elif not quoted and depth == 0 and character == separator:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def parse_path(path: str) -> list[Segment]:
    """Split a resource path (after the service root) into segments.

    Raises:
        ApiError: a segment's parentheses are unbalanced.
    """
    segments: list[Segment] = []
    for raw in _split_outside_quotes(path.strip("/"), "/"):
        if "(" not in raw:
            segments.append(Segment(raw))
            continue
        if not raw.endswith(")"):
            raise invalid_query(f"Bad Request - Error in query syntax: '{raw}'.")
        name, _, key = raw.partition("(")
        segments.append(Segment(name, key[:-1]))
    return segments


def _parse_key_value(text: str) -> str | int | float:
    value = text.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    guid = normalize_guid(value)
    if guid is not None:
        return guid
    if _NUMBER.fullmatch(value):
        return float(value) if "." in value else int(value)
    raise invalid_query(f"Bad Request - Error in query syntax: unrecognized key value '{value}'.")


def parse_key(text: str) -> RowKey:
    """Parse the text between a segment's parentheses.

    Raises:
        ApiError: the key is neither a GUID nor `name=value` pairs.
    """
    guid = normalize_guid(text)
    if guid is not None:
        return RowKey(guid)
    parts: list[tuple[str, Any]] = []
    for pair in _split_outside_quotes(text, ","):
        name, equals, value = pair.partition("=")
        if not equals or not name.strip():
            raise invalid_query(f"Bad Request - Error in query syntax: invalid key '{text}'.")
        parts.append((name.strip(), _parse_key_value(value)))
    return RowKey(None, tuple(parts))


def parse_reference(reference: str) -> tuple[str, RowKey]:
    """Parse an entity reference (`/contacts(<guid>)`, absolute URL) into set name and key.

    Raises:
        ApiError: the reference does not name exactly one row of an entity set.
    """
    path = urlsplit(reference).path if "://" in reference else reference
    if API_PREFIX.rstrip("/") in path:
        path = path.split(API_PREFIX.rstrip("/"), 1)[1]
    segments = parse_path(path)
    if len(segments) != 1 or segments[0].key is None:
        raise ApiError(
            400,
            "0x80060888",
            f"The entity reference '{reference}' is not valid. Use the form '/<entityset>(<id>)'.",
        )
    return segments[0].name, parse_key(segments[0].key)
