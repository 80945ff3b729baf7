"""Collection reads: `$filter`, `$select`, `$orderby`, `$top`, `$skip` and server-driven paging.

Paging is keyset-based. A page ends with a `$skiptoken` holding the sort values and id of its
last row; the next page starts right after that point of the order. Every order ends with the
id, so the point is exact: rows that are modified, added or deleted between pages never make the
walk skip or repeat a row that keeps its place (when unspecified the order is BC's primary key,
`number` or `code`, which ordinary edits do not change). Only a change of a row's own sort value
can move it across the cursor, as in any keyset pager, BC's included.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import zlib
from bisect import bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.business_central.api_error import bad_request
from sandbox.business_central.ordering import OrderTerm, SortKey, sort_key
from sandbox.odata_filter import FilterExpression, FilterSyntaxError, parse_filter

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from sandbox.business_central.schema import EntitySchema
    from sandbox.business_central.store import EntityTable, StoredRecord

KNOWN_OPTIONS = frozenset(
    {"$filter", "$select", "$orderby", "$top", "$skip", "$skiptoken", "$schemaversion", "$format"}
)
OR_ON_DISTINCT_FIELDS = (
    "An error occurred while processing this request. The 'OR' operator is not supported on "
    "distinct fields on an OData filter."
)


@dataclass(frozen=True, slots=True)
class CollectionQuery:
    """The parsed query options of one collection GET.

    Attributes:
        filter_text: the raw `$filter`, part of the continuation fingerprint.
        condition: the parsed filter, or None for all rows.
        select: the selected fields, or None for all.
        order: the `$orderby` terms; empty means the primary key.
        top: the most rows to return over all pages, or None.
        skip: rows to leave out before the first one returned.
    """

    filter_text: str
    condition: FilterExpression | None
    select: tuple[str, ...] | None
    order: tuple[OrderTerm, ...]
    top: int | None
    skip: int


@dataclass(frozen=True, slots=True)
class Page:
    """One page of rows and the `$skiptoken` of the next page (None on the last page)."""

    rows: list[StoredRecord]
    next_token: str | None


def parse_query(schema: EntitySchema, params: Mapping[str, str]) -> CollectionQuery:
    """Parse and check the OData query options of a collection GET.

    Example: `{"$filter": "lastModifiedDateTime gt 2024-05-01T00:00:00Z",
    "$select": "id,number", "$orderby": "displayName desc", "$top": "10"}`.

    Raises:
        ApiError: unknown option or property, bad syntax, or an OR across distinct fields.
    """
    for name in params:
        if name.startswith("$") and name not in KNOWN_OPTIONS:
            raise bad_request(f"The query parameter '{name}' is not supported.")
    filter_text = params.get("$filter", "").strip()
    return CollectionQuery(
        filter_text=filter_text,
        condition=compile_filter(schema, filter_text) if filter_text else None,
        select=parse_select(schema, params.get("$select", "")),
        order=_parse_order(schema, params.get("$orderby", "")),
        top=_parse_count("$top", params.get("$top")),
        skip=_parse_count("$skip", params.get("$skip")) or 0,
    )


def compile_filter(schema: EntitySchema, text: str) -> FilterExpression:
    """Parse a `$filter` once per distinct text and check it against the entity.

    Raises:
        ApiError: bad syntax, unknown property, or an OR across distinct fields.
    """
    try:
        expression = _cached_filter(text)
    except FilterSyntaxError as error:
        raise bad_request(str(error)) from error
    for name in sorted(expression.fields()):
        _require_property(schema, name)
    if expression.or_groups_on_distinct_fields():
        raise bad_request(OR_ON_DISTINCT_FIELDS)
    return expression


@functools.lru_cache(maxsize=512)
def _cached_filter(text: str) -> FilterExpression:
    return parse_filter(text)


def parse_select(schema: EntitySchema, text: str) -> tuple[str, ...] | None:
    """Parse `$select=id,displayName`; None means every field.

    Raises:
        ApiError: a property the entity does not have.
    """
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names or "*" in names:
        return None
    for name in names:
        _require_property(schema, name)
    return tuple(dict.fromkeys(names))


def _parse_order(schema: EntitySchema, text: str) -> tuple[OrderTerm, ...]:
    terms: list[OrderTerm] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        words = part.split()
        direction = words[1].lower() if len(words) == 2 else "asc"
        if len(words) > 2 or direction not in ("asc", "desc"):
            raise bad_request(f"Syntax error at position {len(words[0])} in '{part}'.")
        _require_property(schema, words[0])
        terms.append(OrderTerm(words[0], descending=direction == "desc"))
    return tuple(terms)


def _parse_count(option: str, text: str | None) -> int | None:
    if text is None:
        return None
    if not text.strip().isdigit():
        raise bad_request(
            f"Invalid value '{text}' for {option} query option found. "
            f"The {option} query option requires a non-negative integer value."
        )
    return int(text)


def _require_property(schema: EntitySchema, name: str) -> None:
    if name not in schema.by_name:
        raise bad_request(
            f"Could not find a property named '{name}' on type "
            f"'Microsoft.NAV.{schema.entity_type}'."
        )


def read_page(
    table: EntityTable, query: CollectionQuery, page_size: int, token: str | None
) -> Page:
    """Read one page of a collection, starting after the continuation `token` if given.

    `$top` counts over all pages and `$skip` applies to the first page only; the token carries
    what is left of `$top`, so the nextLink only needs the same `$filter` and `$orderby`.

    Raises:
        ApiError: a token that is malformed or belongs to another filter or order.
    """
    order = query.order or table.default_order
    keys = _candidate_keys(table, query, order)
    fingerprint = _fingerprint(query)
    if token is None:
        start, skip, remaining = 0, query.skip, query.top
    else:
        last_values, last_id, remaining = _decode_token(token, fingerprint, len(order))
        last_row = dict(zip((term.field for term in order), last_values, strict=True))
        start, skip = bisect_right(keys, sort_key(last_row, order, last_id)), 0
    limit = page_size if remaining is None else min(page_size, remaining)
    matches = query.condition.matches if query.condition is not None else None
    rows, position = _collect(table.rows, keys, start, limit=limit, skip=skip, matches=matches)
    left = None if remaining is None else remaining - len(rows)
    full = bool(rows) and len(rows) == limit and left != 0
    if not (full and _any_match(table.rows, keys, position, matches)):
        return Page(rows, None)
    last = rows[-1]
    values = [last.values.get(term.field) for term in order]
    return Page(rows, _encode_token(fingerprint, values, last.id, left))


def _candidate_keys(
    table: EntityTable, query: CollectionQuery, order: tuple[OrderTerm, ...]
) -> list[SortKey]:
    """Return the sort keys of the rows that may match, in the order of the page walk.

    A filter of nothing but `id eq … or id eq …` (how the sync engine reads partner records)
    can only match the rows it names: their keys are a sub-list of the table's, so the paging
    below walks them exactly as it would walk the whole table, minus the rows that never match.
    """
    pinned = query.condition.pinned_values("id") if query.condition is not None else None
    if pinned is None:
        return table.ordered_keys(query.order)
    return sorted(sort_key(row.values, order, row.id) for row in table.find_by_ids(pinned))


def _collect(
    rows: Mapping[str, StoredRecord],
    keys: list[tuple[Any, ...]],
    start: int,
    *,
    limit: int,
    skip: int,
    matches: Callable[[Mapping[str, Any]], bool] | None,
) -> tuple[list[StoredRecord], int]:
    if matches is None:
        # Without a filter the page is a plain slice of the ordered keys: no per-row work.
        begin = start + skip
        return [rows[key[-1]] for key in keys[begin : begin + limit]], begin + limit
    found: list[StoredRecord] = []
    position = start
    total = len(keys)
    while position < total and len(found) < limit:
        record = rows[keys[position][-1]]
        position += 1
        if matches(record.values):
            if skip:
                skip -= 1
            else:
                found.append(record)
    return found, position


def _any_match(
    rows: Mapping[str, StoredRecord],
    keys: list[tuple[Any, ...]],
    position: int,
    matches: Callable[[Mapping[str, Any]], bool] | None,
) -> bool:
    # Look ahead for one more matching row so the last page carries no nextLink.
    if matches is None:
        return position < len(keys)
    return any(matches(rows[keys[i][-1]].values) for i in range(position, len(keys)))


def _fingerprint(query: CollectionQuery) -> str:
    order = ",".join(f"{t.field}:{int(t.descending)}" for t in query.order)
    return f"{zlib.crc32(f'{query.filter_text}|{order}'.encode()):08x}"


def _encode_token(fingerprint: str, values: list[Any], last_id: str, left: int | None) -> str:
    raw = json.dumps(
        [fingerprint, values, last_id, left], separators=(",", ":"), ensure_ascii=False
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_token(
    token: str, fingerprint: str, order_length: int
) -> tuple[list[Any], str, int | None]:
    try:
        padded = token + "=" * (-len(token) % 4)
        found, values, last_id, left = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError, binascii.Error) as error:
        raise bad_request(f"The skip token value '{token}' is not valid.") from error
    shape_ok = isinstance(values, list) and len(values) == order_length
    shape_ok = shape_ok and (left is None or (isinstance(left, int) and left > 0))
    if found != fingerprint or not shape_ok or not isinstance(last_id, str):
        raise bad_request(f"The skip token value '{token}' is not valid for this query.")
    return values, last_id, left
