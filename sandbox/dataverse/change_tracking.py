r"""Change tracking: `Prefer: odata.track-changes`, delta links and `$deletedEntity` tombstones.

The first request returns every row (paged like any read) and, on its last page, a delta link::

    GET accounts?$select=name,accountnumber            Prefer: odata.track-changes
    -> {"@odata.context": ".../$metadata#accounts(name,accountnumber)", "value": [...],
        "@odata.deltaLink":
            ".../accounts?$select=name,accountnumber&$deltatoken=919042%2108%2F22%2F2017..."}

Following the delta link returns rows created or updated since, then deletions::

    -> {"@odata.context": ".../$metadata#accounts(name,accountnumber)/$delta",
        "value": [{"@odata.etag": "W/\\"915244\\"", "name": "...", "accountid": "..."},
                  {"@odata.context": ".../$metadata#accounts/$deletedEntity",
                   "id": "2e451703-c686-e711-80e5-00155db19e6d", "reason": "deleted"}],
        "@odata.deltaLink": "..."}

The token is `<version>!<MM/dd/yyyy HH:mm:ss>` like Dataverse's; the time lets the emulator
refuse tokens older than the retention period with ExpiredVersionStamp (0x80044352).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

from sandbox.dataverse.api_error import EXPIRED_VERSION_STAMP, ApiError, invalid_query
from sandbox.dataverse.options import SandboxOptions
from sandbox.dataverse.paging import PageCursor, build_link
from sandbox.dataverse.query import CollectionQuery, context_url, next_link, select_rows
from sandbox.dataverse.representation import RowSerializer
from sandbox.dataverse.store import Store
from sandbox.dataverse.tables import Table
from sandbox.dataverse.wire import ApiRequest

__all__ = ["DeltaToken", "count_changes", "read_tracked"]

_TOKEN: Final = re.compile(r"(?P<version>\d+)!(?P<moment>\d\d/\d\d/\d{4} \d\d:\d\d:\d\d)")
_TIME_FORMAT: Final = "%m/%d/%Y %H:%M:%S"
_REFUSED_OPTIONS: Final = ("$filter", "$orderby", "$expand", "$top")


@dataclass(frozen=True, slots=True)
class DeltaToken:
    """A `$deltatoken`: the version changes are reported after, and when it was issued."""

    version: int
    issued: datetime

    def encode(self) -> str:
        """Return the token text, e.g. `919042!08/22/2017 08:10:44`."""
        return f"{self.version}!{self.issued.strftime(_TIME_FORMAT)}"

    @classmethod
    def decode(cls, text: str) -> DeltaToken:
        """Parse a token; raise ApiError (400) when it is malformed."""
        match = _TOKEN.fullmatch(text.strip())
        if match is None:
            raise invalid_query(f"The $deltatoken '{text}' is not valid.")
        issued = datetime.strptime(match.group("moment"), _TIME_FORMAT).replace(tzinfo=UTC)
        return cls(int(match.group("version")), issued)


def _check_tracked(
    store: Store, table: Table, query: CollectionQuery, options: SandboxOptions
) -> bool:
    for name in _REFUSED_OPTIONS:
        if name in query.given:
            raise ApiError(
                400,
                "0x80060888",
                f'The "{name}" query parameter isn\'t supported when Change Tracking is enabled.',
            )
    if store.table_rows(table.logical_name).tracking:
        return True
    if options.untracked_table == "ignore" and query.delta_token is None:
        return False
    raise ApiError(
        400,
        "0x80040203",
        f"Change tracking is not enabled for the entity "
        f"'{table.logical_name}'. Set ChangeTrackingEnabled on the table first.",
    )


def _valid_token(store: Store, text: str, options: SandboxOptions) -> DeltaToken:
    token = DeltaToken.decode(text)
    expired = store.now() - token.issued > options.change_token_ttl
    if expired or token.version < store.log_floor or token.version > store.version:
        raise ApiError(
            options.expired_token_status,
            EXPIRED_VERSION_STAMP,
            "Version stamp associated with the client has expired. Please perform a full sync.",
        )
    return token


def read_tracked(
    store: Store, request: ApiRequest, table: Table, query: CollectionQuery, options: SandboxOptions
) -> tuple[dict[str, Any], dict[str, str]] | None:
    """Serve a change-tracking read; None when the table is untracked and that is ignored.

    Raises:
        ApiError: a refused query option, an untracked table, or an expired token.
    """
    if not _check_tracked(store, table, query, options):
        return None
    preferences = request.preferences
    applied = preferences.applied(tracking=preferences.track_changes)
    headers = {"Preference-Applied": applied} if applied else {}
    if query.delta_token is not None:
        token = _valid_token(store, query.delta_token, options)
        return _read_delta(store, request, table, query, token=token, options=options), headers
    return _read_initial(store, request, table, query, options), headers


def _delta_link(store: Store, request: ApiRequest, table: Table, version: int) -> str:
    token = DeltaToken(version, store.now()).encode()
    select = [(name, value) for name, value in request.query if name == "$select"]
    link = build_link(request.service_root, table.entity_set, select)
    # Dataverse escapes the token's "!", "/", ":" and spaces in its links.
    return f"{link}{'&' if select else '?'}$deltatoken={quote(token, safe='')}"


def _read_initial(
    store: Store, request: ApiRequest, table: Table, query: CollectionQuery, options: SandboxOptions
) -> dict[str, Any]:
    snapshot = store.version
    if query.cursor is not None and query.cursor.snapshot is not None:
        snapshot = query.cursor.snapshot
    size = min(request.preferences.max_page_size or options.max_page_size, options.max_page_size)
    page, more_key = select_rows(store.table_rows(table.logical_name), query, size)
    serializer = RowSerializer(store, table, query.projection, request.preferences.annotations)
    body: dict[str, Any] = {
        "@odata.context": context_url(request.service_root, table.entity_set, query.projection),
        "value": [serializer.serialize(row) for row in page],
    }
    if more_key is None:
        body["@odata.deltaLink"] = _delta_link(store, request, table, snapshot)
        return body
    page_number = query.cursor.page + 1 if query.cursor is not None else 2
    cursor = PageCursor(
        page=page_number,
        last_key=more_key,
        snapshot=snapshot,
        tracking=True,
        first_id=page[0].values[table.primary_id],
        last_id=page[-1].values[table.primary_id],
    )
    body["@odata.nextLink"] = next_link(request, table, cursor)
    return body


def _read_delta(
    store: Store,
    request: ApiRequest,
    table: Table,
    query: CollectionQuery,
    *,
    token: DeltaToken,
    options: SandboxOptions,
) -> dict[str, Any]:
    cursor = query.cursor
    snapshot = store.version
    if cursor is not None and cursor.snapshot is not None:
        snapshot = cursor.snapshot
    offset = cursor.offset if cursor is not None else 0
    rows = store.table_rows(table.logical_name)
    changes = rows.changes(token.version, snapshot)
    entries = [(row_id, False) for row_id in changes.upserted]
    entries += [(row_id, True) for row_id in changes.deleted]
    size = min(request.preferences.max_page_size or options.max_page_size, options.max_page_size)
    serializer = RowSerializer(store, table, query.projection, request.preferences.annotations)
    tombstone_context = f"{request.service_root}$metadata#{table.entity_set}/$deletedEntity"
    value: list[dict[str, Any]] = []
    for row_id, deleted in entries[offset : offset + size]:
        row = None if deleted else rows.get(row_id)
        if row is None:  # deleted, possibly after the snapshot: report the deletion
            value.append({"@odata.context": tombstone_context, "id": row_id, "reason": "deleted"})
        else:
            value.append(serializer.serialize(row))
    context = context_url(request.service_root, table.entity_set, query.projection)
    body: dict[str, Any] = {"@odata.context": f"{context}/$delta", "value": value}
    if offset + size < len(entries):
        next_cursor = PageCursor(
            page=(cursor.page if cursor else 1) + 1,
            snapshot=snapshot,
            offset=offset + size,
            tracking=True,
        )
        body["@odata.nextLink"] = next_link(request, table, next_cursor)
    else:
        body["@odata.deltaLink"] = _delta_link(store, request, table, snapshot)
    return body


def count_changes(store: Store, table: Table, text: str, options: SandboxOptions) -> int:
    """Return how many changes a delta token would report (`accounts/$count?$deltatoken=`)."""
    token = _valid_token(store, text, options)
    changes = store.table_rows(table.logical_name).changes(token.version, store.version)
    return len(changes.upserted) + len(changes.deleted)
