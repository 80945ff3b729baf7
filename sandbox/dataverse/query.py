r"""Collection reads: `$select`, `$filter`, `$orderby`, `$top`, `$count` and server paging.

A trimmed page of `GET accounts?$select=name` with `Prefer: odata.maxpagesize=2`::

    {"@odata.context": "https://org/api/data/v9.2/$metadata#accounts(name)",
     "value": [{"@odata.etag": "W/\\"8\\"", "name": "A", "accountid": "0b..."},
               {"@odata.etag": "W/\\"3\\"", "name": "B", "accountid": "1f..."}],
     "@odata.nextLink": "https://org/api/data/v9.2/accounts?$select=name&$skiptoken=%3Ccookie..."}

Rows come in a total order (the `$orderby` columns, then the primary id), and the skiptoken
holds the sort key of the last row, so a walk over the nextLinks returns every row exactly once
even while rows are written between pages.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, Final

from sandbox.dataverse.api_error import ApiError, invalid_query
from sandbox.dataverse.paging import PageCursor, build_link, decode_skiptoken, encode_skiptoken
from sandbox.dataverse.representation import Projection, RowSerializer, parse_projection
from sandbox.dataverse.store import Store, StoredRow, TableRows
from sandbox.dataverse.tables import Table
from sandbox.dataverse.wire import ApiRequest
from sandbox.odata_filter import FilterExpression, FilterSyntaxError, parse_filter

__all__ = ["CollectionQuery", "context_url", "parse_collection_query", "read_page"]

_OPTIONS: Final = frozenset(
    {"$select", "$filter", "$orderby", "$top", "$count", "$expand", "$skiptoken", "$deltatoken"}
)
_NOT_EMULATED: Final = frozenset({"fetchXml", "savedQuery", "userQuery", "sql", "$apply"})
TOTAL_COUNT: Final = "Microsoft.Dynamics.CRM.totalrecordcount"
COUNT_EXCEEDED: Final = "Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"


@dataclass(frozen=True, slots=True)
class CollectionQuery:
    """The query options of a collection request, validated against the table.

    Attributes:
        projection: `$select` and `$expand`.
        filter: the compiled `$filter`.
        order: (property, descending) pairs of `$orderby`.
        top: `$top`.
        count: `$count=true`.
        cursor: the decoded `$skiptoken`.
        delta_token: the raw `$deltatoken`.
        given: names of the query options present.
    """

    projection: Projection
    filter: FilterExpression | None
    order: tuple[tuple[str, bool], ...]
    top: int | None
    count: bool
    cursor: PageCursor | None
    delta_token: str | None
    given: frozenset[str]


def parse_collection_query(table: Table, request: ApiRequest) -> CollectionQuery:
    """Validate the query options of a collection GET.

    Raises:
        ApiError: `$skip`, an unknown option, a bad value or an unknown column.
    """
    given = frozenset(name for name, _ in request.query)
    for name in given:
        if name in _NOT_EMULATED:
            raise invalid_query(f"The query parameter {name} is not supported by the emulator.")
        if name.startswith("$") and name not in _OPTIONS:
            raise invalid_query(f"The query parameter {name} is not supported")
    top = request.param("$top")
    if top is not None and not top.isdigit():
        raise invalid_query(
            f"Invalid value '{top}' for $top query option found. The $top "
            "query option requires a non-negative integer value."
        )
    token = request.param("$skiptoken")
    return CollectionQuery(
        projection=parse_projection(table, request.param("$select"), request.param("$expand")),
        filter=_parse_filter(table, request.param("$filter")),
        order=_parse_order(table, request.param("$orderby")),
        top=int(top) if top is not None else None,
        count=(request.param("$count") or "").lower() == "true",
        cursor=decode_skiptoken(token) if token is not None else None,
        delta_token=request.param("$deltatoken"),
        given=given,
    )


def _unknown(table: Table, name: str) -> ApiError:
    return invalid_query(
        f"Could not find a property named '{name}' on type "
        f"'Microsoft.Dynamics.CRM.{table.logical_name}'."
    )


def _parse_filter(table: Table, text: str | None) -> FilterExpression | None:
    if text is None:
        return None
    try:
        expression = parse_filter(text, case_insensitive=True)
    except FilterSyntaxError as error:
        raise invalid_query(f"Syntax error in $filter: {error}.") from None
    for name in expression.fields():
        if "/" in name:
            raise invalid_query(
                f"Filtering on the related column '{name}' is not supported by the emulator."
            )
        if name not in table.properties:
            raise _unknown(table, name)
    return expression


def _parse_order(table: Table, text: str | None) -> tuple[tuple[str, bool], ...]:
    if not text:
        return ()
    order: list[tuple[str, bool]] = []
    for item in text.split(","):
        words = item.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise invalid_query(f"Syntax error in $orderby: '{item.strip()}'.")
        if words[0] not in table.properties:
            raise _unknown(table, words[0])
        order.append((words[0], len(words) == 2 and words[1] == "desc"))
    return tuple(order)


class _Descending:
    """Wraps a sort value so that ascending order on the wrapper is descending on the value."""

    __slots__ = ("value",)

    def __init__(self, value: tuple[int, object]) -> None:
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.value == other.value

    __hash__ = None  # type: ignore[assignment]


def _sortable(value: object) -> tuple[int, object]:
    # Nulls first, as SQL Server sorts them ascending; strings without case, as Dataverse does.
    if value is None:
        return (0, 0)
    if isinstance(value, str):
        return (1, value.casefold())
    if isinstance(value, datetime):
        return (1, value.isoformat())
    if isinstance(value, bool):
        return (1, int(value))
    return (1, value)


def _key_function(
    order: tuple[tuple[str, bool], ...], primary_id: str
) -> Callable[[StoredRow], tuple[Any, ...]]:
    def key(row: StoredRow) -> tuple[Any, ...]:
        values = row.values
        parts: list[Any] = []
        for name, descending in order:
            sortable = _sortable(values.get(name))
            parts.append(_Descending(sortable) if descending else sortable)
        parts.append(values[primary_id])
        return tuple(parts)

    return key


def _plain_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(part.value if isinstance(part, _Descending) else part for part in key)


def _wrapped_key(plain: tuple[Any, ...], order: tuple[tuple[str, bool], ...]) -> tuple[Any, ...]:
    if len(plain) != len(order) + 1:
        raise invalid_query("The $skiptoken does not belong to this query.")
    parts = [
        (_Descending(tuple(value)) if descending else tuple(value))
        for value, (_, descending) in zip(plain, order, strict=False)
    ]
    return (*parts, plain[-1])


def _pinned_ids(rows: TableRows, expression: FilterExpression | None) -> list[str] | None:
    """Return, in ascending order, the stored ids an `accountid eq … or …` filter names.

    Such a filter (how the sync engine reads partner records) can match no other row, so
    looking these up replaces a walk over the whole table. None for any other filter.
    """
    pinned = expression.pinned_values(rows.table.primary_id) if expression is not None else None
    if pinned is None:
        return None
    return sorted(row_id for row_id in pinned if rows.get(row_id) is not None)


def _candidate_ids(
    rows: TableRows, expression: FilterExpression | None, after: str | None
) -> Iterable[str]:
    pinned = _pinned_ids(rows, expression)
    if pinned is None:
        return rows.ids_after(after)
    return pinned[bisect.bisect_right(pinned, after) :] if after is not None else pinned


def _matching_rows(rows: TableRows, expression: FilterExpression | None) -> Iterable[StoredRow]:
    if expression is None:
        return rows.rows.values()
    candidates = (rows.rows[row_id] for row_id in _candidate_ids(rows, expression, None))
    return (row for row in candidates if expression.matches(row.values))


def _page_by_id(
    rows: TableRows, query: CollectionQuery, after: str | None, size: int
) -> list[StoredRow]:
    page: list[StoredRow] = []
    matches = query.filter.matches if query.filter is not None else None
    for row_id in _candidate_ids(rows, query.filter, after):
        row = rows.rows[row_id]
        if matches is None or matches(row.values):
            page.append(row)
            if len(page) > size:
                break
    return page


def _sorted_rows(
    rows: TableRows, query: CollectionQuery, key: Callable[[StoredRow], Any]
) -> tuple[list[Any], list[StoredRow]]:
    # A walk asks for the same order page after page; sort again only after a write.
    cache_key = (query.order, query.filter.text if query.filter is not None else None)
    cached = rows.sorted_cache.get(cache_key)
    if cached is not None and cached[0] == rows.revision:
        return cached[1], cached[2]
    decorated = sorted(
        ((key(row), row) for row in _matching_rows(rows, query.filter)), key=itemgetter(0)
    )
    keys, ordered = [pair[0] for pair in decorated], [pair[1] for pair in decorated]
    rows.sorted_cache = {cache_key: (rows.revision, keys, ordered)}
    return keys, ordered


def _page_sorted(
    rows: TableRows,
    query: CollectionQuery,
    key: Callable[[StoredRow], Any],
    after: tuple[Any, ...] | None,
    size: int,
) -> list[StoredRow]:
    keys, ordered = _sorted_rows(rows, query, key)
    start = 0 if after is None else bisect.bisect_right(keys, after)
    return ordered[start : start + size + 1]


def select_rows(
    rows: TableRows, query: CollectionQuery, size: int
) -> tuple[list[StoredRow], tuple[Any, ...] | None]:
    """Return up to `size` rows after the query's cursor.

    Returns:
        The rows, and the plain sort key of the last one when more rows follow.
    """
    cursor = query.cursor
    if not query.order:
        after = None if cursor is None or cursor.last_key is None else cursor.last_key[0]
        page = _page_by_id(rows, query, after, size)
        more_key = (page[size - 1].values[rows.table.primary_id],) if len(page) > size else None
        return page[:size], more_key
    key = _key_function(query.order, rows.table.primary_id)
    after_key = None
    if cursor is not None and cursor.last_key is not None:
        after_key = _wrapped_key(cursor.last_key, query.order)
    page = _page_sorted(rows, query, key, after_key, size)
    more_key = _plain_key(key(page[size - 1])) if len(page) > size else None
    return page[:size], more_key


def context_url(service_root: str, entity_set: str, projection: Projection) -> str:
    """Return `@odata.context` of a collection: `<root>$metadata#accounts(name,telephone1)`."""
    names = list(projection.select or ())
    for expansion in projection.expand:
        names.append(f"{expansion.navigation}({','.join(expansion.select or ())})")
    return f"{service_root}$metadata#{entity_set}" + (f"({','.join(names)})" if names else "")


def count_matches(rows: TableRows, expression: FilterExpression | None, limit: int) -> int:
    """Count rows matching the filter, stopping at `limit` + 1 (Dataverse stops at 5,000)."""
    if expression is None:
        return len(rows)
    found = 0
    for _row in _matching_rows(rows, expression):
        found += 1
        if found > limit:
            break
    return found


def read_page(
    store: Store,
    request: ApiRequest,
    table: Table,
    query: CollectionQuery,
    *,
    max_page_size: int,
    count_limit: int,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Serve one page of a collection; return the JSON body and extra response headers."""
    preferences = request.preferences
    size = min(preferences.max_page_size or max_page_size, max_page_size)
    returned = query.cursor.returned if query.cursor is not None else 0
    top = query.top if preferences.max_page_size is None else None  # $top yields to paging
    if top is not None:
        size = min(size, max(top - returned, 0))
    rows = store.table_rows(table.logical_name)
    page, more_key = select_rows(rows, query, size) if size else ([], None)
    serializer = RowSerializer(store, table, query.projection, preferences.annotations)
    body: dict[str, Any] = {
        "@odata.context": context_url(request.service_root, table.entity_set, query.projection)
    }
    if query.count or (preferences.annotations and preferences.annotations.wants(TOTAL_COUNT)):
        _add_count(body, query, rows, count_limit, request)
    body["value"] = [serializer.serialize(row) for row in page]
    if more_key is not None and (top is None or returned + len(page) < top):
        cursor = PageCursor(
            page=(query.cursor.page if query.cursor else 1) + 1,
            last_key=more_key,
            returned=returned + len(page),
            first_id=page[0].values[table.primary_id],
            last_id=page[-1].values[table.primary_id],
        )
        body["@odata.nextLink"] = next_link(request, table, cursor)
    applied = preferences.applied(page_size=size if preferences.max_page_size else None)
    return body, ({"Preference-Applied": applied} if applied else {})


def _add_count(
    body: dict[str, Any], query: CollectionQuery, rows: TableRows, limit: int, request: ApiRequest
) -> None:
    annotations = request.preferences.annotations
    total = count_matches(rows, query.filter, limit) if query.count else -1
    if query.count:
        body["@odata.count"] = min(total, limit)
    if annotations is not None and annotations.wants(TOTAL_COUNT):
        body[f"@{TOTAL_COUNT}"] = min(total, limit)
    if annotations is not None and annotations.wants(COUNT_EXCEEDED):
        body[f"@{COUNT_EXCEEDED}"] = total > limit


def next_link(request: ApiRequest, table: Table, cursor: PageCursor) -> str:
    """Return `@odata.nextLink`: the request's options (without `$count`) and a skiptoken."""
    options = [
        (name, value) for name, value in request.query if name not in ("$skiptoken", "$count")
    ]
    options.append(("$skiptoken", encode_skiptoken(cursor, table.primary_id)))
    return build_link(request.service_root, table.entity_set, options)
