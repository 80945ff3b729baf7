r"""Reads of Dataverse rows: change tracking, ``modifiedon`` windows and fetches by id.

A change-tracking read asks for every row once (``Prefer: odata.track-changes``, ``$select``
only), then follows the delta link the last page carries. A delta page holds changed rows and
then tombstones::

    {"@odata.context": "https://org.crm.dynamics.com/api/data/v9.2/$metadata#accounts(name)/$delta",
     "value": [
        {"@odata.etag": "W/\"915244\"", "name": "Contoso", "modifiedon": "2025-06-02T12:00:01Z",
         "_parentaccountid_value": "9b1c...",
         "_parentaccountid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "account",
         "accountid": "2e45..."},
        {"@odata.context": "https://org.../$metadata#accounts/$deletedEntity",
         "id": "7a11...", "reason": "deleted"}],
     "@odata.deltaLink": "https://org.../accounts?$select=name&$deltatoken=919042%2108%2F22..."}

Dataverse refuses ``$filter`` together with change tracking, so those pages are unfiltered: the
engine applies the mapping's filter in memory. When the table has no change tracking or the
delta token expired, the read falls back to ``modifiedon ge <since - overlap>`` with the
mapping's filter, and says so on every page (``ChangePage.fallback_reason``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sync.connectors.odata import format_datetime, in_chunks, parse_datetime
from sync.connectors.paging import NextLinkPaginator
from sync.connectors.service_client import ServiceClient
from sync.errors import ConfigError, PermanentConnectorError
from sync.models.record import Record

__all__ = ["ChangePage", "ChangeQuery", "DataverseReader", "ReadMode", "parse_row"]

LOOKUP_LOGICAL_NAME: Final = "Microsoft.Dynamics.CRM.lookuplogicalname"
MAX_PAGE_SIZE: Final = 5000
MODIFIED_ON: Final = "modifiedon"
EXPIRED_VERSION_STAMP: Final = "0x80044352"
DELTA_LINK: Final = "@odata.deltaLink"

_NOT_TRACKED: Final = re.compile(
    r"change tracking is not enabled|not enabled for change tracking|"
    r"change tracking isn't enabled",
    re.IGNORECASE,
)
_EXPIRED: Final = re.compile(r"version stamp .* expired", re.IGNORECASE)


class ReadMode(StrEnum):
    """How a page of changes was read, which tells the engine how to treat it.

    ``SNAPSHOT``: the first change-tracking read, every row, unfiltered.
    ``DELTA``: rows changed and deleted since the stored delta link, unfiltered.
    ``MODIFIED_SINCE``: rows with ``modifiedon`` in the window, filtered by the mapping;
    deletions are not seen.
    """

    SNAPSHOT = "snapshot"
    DELTA = "delta"
    MODIFIED_SINCE = "modified_since"


@dataclass(frozen=True, slots=True)
class ChangePage:
    """One page of changes.

    Attributes:
        records: The rows of the page; tombstones have ``deleted=True`` and no values.
        delta_link: On the last page of a change-tracking read only: the new delta link to store
            as the watermark. None on every other page and in ``MODIFIED_SINCE`` mode.
        mode: How the page was read.
        fallback_reason: Set when change tracking was asked for but could not be used (the
            table has none, or the delta token expired): the engine should re-baseline.
    """

    records: list[Record]
    mode: ReadMode
    delta_link: str | None = None
    fallback_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeQuery:
    """What one ``read_changes`` call asks for (see ``DataverseConnector.read_changes``)."""

    entity_set: str
    id_field: str
    fields: Sequence[str]
    since: datetime | None
    delta_link: str | None
    overlap: timedelta
    odata_filter: str | None
    page_size: int
    track_changes: bool


def parse_row(row: Mapping[str, Any], *, id_field: str, fields: Sequence[str]) -> Record:
    r"""Turn one row (or tombstone) of a Web API page into a ``Record``.

    ``values`` keeps the selected ``fields`` and, for lookups, the target table annotation
    (``_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname``), so a polymorphic
    lookup keeps its table. ``version`` is ``@odata.etag``; ``modified_at`` is ``modifiedon``.

    Example::

        {"@odata.etag": "W/\"1042\"", "name": "Contoso", "modifiedon": "2025-06-02T12:00:01Z",
         "accountid": "2e45..."}
        -> Record(id="2e45...", version='W/"1042"', modified_at=2025-06-02 12:00:01+00:00,
                  values={"name": "Contoso"})

    Args:
        row: One object of a page's ``value``.
        id_field: The primary id column, e.g. ``accountid``.
        fields: The columns to keep (lookups as ``_x_value``).

    Returns:
        The record; a tombstone (``{"id": ..., "reason": "deleted"}``) becomes a deleted record.

    Raises:
        PermanentConnectorError: The row carries no id.
    """
    context = row.get("@odata.context")
    if (isinstance(context, str) and context.endswith("/$deletedEntity")) or (
        row.get("reason") == "deleted" and id_field not in row
    ):
        return Record(id=_text_id(row.get("id"), "id"), deleted=True)
    values: dict[str, Any] = {}
    for name in fields:
        if name in row:
            values[name] = row[name]
        annotation = f"{name}@{LOOKUP_LOGICAL_NAME}"
        if annotation in row:
            values[annotation] = row[annotation]
    modified = row.get(MODIFIED_ON)
    etag = row.get("@odata.etag")
    return Record(
        id=_text_id(row.get(id_field), id_field),
        version=etag if isinstance(etag, str) else None,
        modified_at=parse_datetime(modified) if isinstance(modified, str) else None,
        values=values,
    )


def _text_id(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise PermanentConnectorError(
            f"A Dataverse row came without its id column '{name}'.", service="dataverse"
        )
    return value


def tracking_unavailable(error: PermanentConnectorError) -> str | None:
    """Tell why a change-tracking request failed for a reason a ``modifiedon`` read avoids.

    Args:
        error: The failure of the first change-tracking request.

    Returns:
        A reason for the run history, or None when the failure is of another kind.
    """
    message = str(error)
    if error.code == EXPIRED_VERSION_STAMP or _EXPIRED.search(message):
        return f"the delta token expired ({error.code or error.status}): {message}"
    if _NOT_TRACKED.search(message):
        return f"change tracking is not enabled for the table: {message}"
    return None


def _prefer(page_size: int, *, track: bool) -> str:
    preferences = [
        f"odata.maxpagesize={page_size}",
        f'odata.include-annotations="{LOOKUP_LOGICAL_NAME}"',
    ]
    if track:
        preferences.append("odata.track-changes")
    return ",".join(preferences)


def _select(id_field: str, fields: Sequence[str]) -> str:
    return ",".join(dict.fromkeys([*fields, id_field, MODIFIED_ON]))


def _check_page_size(page_size: int) -> None:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ConfigError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")


class DataverseReader:
    """Streams rows of one Dataverse environment, one page at a time.

    Args:
        client: The Dataverse service client.
        ids_per_request: Ids per fetch-by-ids request; 100 GUIDs keep the URL near 6,000
            characters, far under the 32,768 Dataverse accepts.
    """

    def __init__(self, client: ServiceClient, *, ids_per_request: int = 100) -> None:
        self._client = client
        self._ids_per_request = ids_per_request

    async def read_changes(self, query: ChangeQuery) -> AsyncGenerator[ChangePage, None]:
        """Yield pages of changes (see ``DataverseConnector.read_changes``)."""
        _check_page_size(query.page_size)
        reason = None
        if query.track_changes:
            async with aclosing(self._read_tracked(query)) as tracked:
                try:
                    first = await anext(tracked)
                except PermanentConnectorError as error:
                    reason = tracking_unavailable(error)
                    if reason is None:
                        raise
                else:
                    yield first
                    async for page in tracked:
                        yield page
                    return
        async with aclosing(self._read_modified(query, reason)) as modified:
            async for page in modified:
                yield page

    async def _read_tracked(self, query: ChangeQuery) -> AsyncGenerator[ChangePage, None]:
        headers = {"Prefer": _prefer(query.page_size, track=True)}
        paginator = NextLinkPaginator(self._client, headers=headers)
        if query.delta_link is not None:
            mode, pages = ReadMode.DELTA, paginator.pages(query.delta_link)
        else:
            select = {"$select": _select(query.id_field, query.fields)}
            mode, pages = ReadMode.SNAPSHOT, paginator.pages(query.entity_set, select)
        async for page in pages:
            link = page.get(DELTA_LINK)
            yield ChangePage(
                records=self._records(page, query.id_field, query.fields),
                mode=mode,
                delta_link=link if isinstance(link, str) else None,
            )

    async def _read_modified(
        self, query: ChangeQuery, reason: str | None
    ) -> AsyncGenerator[ChangePage, None]:
        conditions: list[str] = []
        if query.since is not None:
            conditions.append(f"{MODIFIED_ON} ge {format_datetime(query.since - query.overlap)}")
        if query.odata_filter:
            conditions.append(f"({query.odata_filter})")
        params = {"$select": _select(query.id_field, query.fields)}
        if conditions:
            params["$filter"] = " and ".join(conditions)
        headers = {"Prefer": _prefer(query.page_size, track=False)}
        pages = NextLinkPaginator(self._client, headers=headers).pages(query.entity_set, params)
        async for page in pages:
            records = self._records(page, query.id_field, query.fields)
            yield ChangePage(records, ReadMode.MODIFIED_SINCE, fallback_reason=reason)

    async def read_by_ids(
        self, entity_set: str, ids: Sequence[str], *, id_field: str, fields: Sequence[str]
    ) -> AsyncIterator[list[Record]]:
        """Yield the rows with these ids (see ``DataverseConnector.read_by_ids``)."""
        # A text that is no GUID names no row; leaving it out keeps it out of the filter.
        guids = list(dict.fromkeys(guid for guid in map(_as_guid, ids) if guid is not None))
        headers = {"Prefer": _prefer(MAX_PAGE_SIZE, track=False)}
        paginator = NextLinkPaginator(self._client, headers=headers)
        for chunk in in_chunks(guids, self._ids_per_request):
            params = {
                "$select": _select(id_field, fields),
                "$filter": " or ".join(f"{id_field} eq {guid}" for guid in chunk),
            }
            async for page in paginator.pages(entity_set, params):
                yield self._records(page, id_field, fields)

    @staticmethod
    def _records(page: Mapping[str, Any], id_field: str, fields: Sequence[str]) -> list[Record]:
        rows = page.get("value")
        if not isinstance(rows, list):
            raise PermanentConnectorError(
                "A Dataverse page came without its 'value' list.", service="dataverse"
            )
        records: list[Record] = []
        for row in rows:
            if not isinstance(row, dict):
                raise PermanentConnectorError(
                    "A Dataverse page holds a row that is not a JSON object.", service="dataverse"
                )
            records.append(parse_row(row, id_field=id_field, fields=fields))
        return records


def _as_guid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text.strip().strip("{}")))
    except ValueError:
        return None
