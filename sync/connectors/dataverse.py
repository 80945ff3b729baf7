"""The Dataverse connector: reads changes and writes records of one Dataverse environment.

``DataverseConnector`` is bound to one environment's Web API (``<url>/api/data/v9.2/``) through
one ``ServiceClient``, which brings auth, retries, throttling and error translation. Reading
lives in ``dataverse_reads``, writing in ``dataverse_writes`` and ``dataverse_batch``.

Usage::

    client = ServiceClient(service="dataverse", base_url=f"{url}/api/data/v9.2/",
                           auth=BearerTokenAuth(provider, f"{url}/.default"),
                           limiter=AdaptiveLimiter(initial=4, maximum=52))
    dataverse = DataverseConnector(client)
    async for page in dataverse.read_changes("accounts", id_field="accountid", ...):
        ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

from sync.connectors.dataverse_reads import ChangePage, ChangeQuery, DataverseReader, ReadMode
from sync.connectors.dataverse_writes import DataverseWriter, WriteTarget
from sync.connectors.paging import NextLinkPaginator
from sync.connectors.service_client import ServiceClient
from sync.models.record import Record, WriteOutcome, WriteRequest

__all__ = ["ChangePage", "DataverseConnector", "ReadMode"]


class DataverseConnector:
    """Reads and writes the rows of one Dataverse environment.

    Args:
        client: The environment's service client (base URL ``<url>/api/data/v9.2/``).
        bulk_size: Targets per ``UpsertMultiple`` / ``UpdateMultiple`` request.
        batch_size: Operations per ``$batch`` (at most 1,000).
        ids_per_request: Ids per request of ``read_by_ids``.

    Raises:
        ConfigError: A size out of range.
    """

    def __init__(
        self,
        client: ServiceClient,
        *,
        bulk_size: int = 1000,
        batch_size: int = 1000,
        ids_per_request: int = 100,
    ) -> None:
        self._client = client
        self._reader = DataverseReader(client, ids_per_request=ids_per_request)
        self._writer = DataverseWriter(client, bulk_size=bulk_size, batch_size=batch_size)

    def read_changes(
        self,
        entity_set: str,
        *,
        id_field: str,
        fields: Sequence[str],
        since: datetime | None,
        delta_link: str | None,
        overlap: timedelta,
        odata_filter: str | None,
        page_size: int,
        track_changes: bool,
    ) -> AsyncIterator[ChangePage]:
        """Stream the rows changed since the watermark, one page at a time.

        With ``track_changes``, the first call (no ``delta_link``) reads every row with
        ``Prefer: odata.track-changes`` and ``$select`` only; later calls follow the stored
        ``delta_link`` verbatim and also see deletions (tombstones). Those pages are NOT
        filtered by ``odata_filter`` (Dataverse refuses ``$filter`` with change tracking): the
        engine applies the mapping's filter in memory. The last page carries the new delta
        link. A delta link keeps the ``$select`` of the read that made it: after changing
        ``fields``, drop it and start again.

        Without change tracking, or when the table has none or the delta token expired, rows
        with ``modifiedon ge since - overlap`` (every row when ``since`` is None) matching
        ``odata_filter`` are read; pages then say why in ``fallback_reason`` (after an expired
        token the engine should re-baseline) and carry no delta link. Deletions are not seen.

        Args:
            entity_set: E.g. ``accounts``.
            id_field: The primary id column, e.g. ``accountid``.
            fields: Columns to read; lookups as ``_x_value`` (their target table comes along
                as ``_x_value@Microsoft.Dynamics.CRM.lookuplogicalname``).
            since: The timestamp watermark, timezone-aware; None for everything.
            delta_link: The stored ``@odata.deltaLink``, or None.
            overlap: How far before ``since`` to start reading (clock skew, long transactions).
            odata_filter: The mapping's ``$filter`` (only used without change tracking).
            page_size: Rows per page, 1..5,000 (``Prefer: odata.maxpagesize``).
            track_changes: Whether to use change tracking.

        Yields:
            One ``ChangePage`` per page read.

        Raises:
            ConfigError: ``page_size`` out of range.
            TransientConnectorError: A page could not be read after retries.
            PermanentConnectorError: Dataverse refused the query.
        """
        query = ChangeQuery(
            entity_set=entity_set,
            id_field=id_field,
            fields=tuple(fields),
            since=since,
            delta_link=delta_link,
            overlap=overlap,
            odata_filter=odata_filter,
            page_size=page_size,
            track_changes=track_changes,
        )
        return self._reader.read_changes(query)

    def read_by_ids(
        self, entity_set: str, ids: Sequence[str], *, id_field: str, fields: Sequence[str]
    ) -> AsyncIterator[list[Record]]:
        """Stream the rows with the given ids, a chunk at a time.

        Rows that do not exist, and ids that are no GUID, are simply absent from the result.

        Args:
            entity_set: E.g. ``contacts``.
            ids: Row ids (GUIDs); duplicates are read once.
            id_field: The primary id column, e.g. ``contactid``.
            fields: Columns to read, as in ``read_changes``.

        Yields:
            The records found, one list per page read.
        """
        return self._reader.read_by_ids(entity_set, ids, id_field=id_field, fields=fields)

    async def write(
        self,
        entity_set: str,
        logical_name: str,
        id_field: str,
        requests: Sequence[WriteRequest],
    ) -> list[WriteOutcome]:
        """Apply writes to one table; one refused record never costs the others.

        Creates and upserts go through ``UpsertMultiple`` with the client-chosen id in
        ``record_id``, so a repeated create updates the row instead of adding another. Updates
        without a version go through ``UpdateMultiple``; updates and upserts with a version
        are PATCHed one by one with ``If-Match`` in a ``$batch`` (so such an upsert only
        updates); deletes go through ``$batch``
        (with ``If-Match`` when a version is set; a row already gone counts as deleted).
        Lookups are set by ``"<nav>@odata.bind": "/<set>(<id>)"`` entries in ``values``.
        Requests run concurrently, so two requests for one row in one call have no set order.

        Args:
            entity_set: E.g. ``accounts``.
            logical_name: E.g. ``account`` (for ``@odata.type``).
            id_field: The primary id column, e.g. ``accountid``.
            requests: The writes; each ``record_id`` must be the row's GUID.

        Returns:
            One outcome per request, in input order: ok (``version`` set when Dataverse returned
            the new ETag, which bulk messages do not), or a transient (429, 5xx, lost answer)
            or permanent (4xx, with Dataverse's hex code and message) error.

        Raises:
            AuthError: The token was refused; nothing can be written.
        """
        target = WriteTarget(entity_set, logical_name, id_field)
        return await self._writer.write(target, requests)

    async def base_currency_id(self) -> str | None:
        """The organization's base transaction currency (where a blank BC currency code points).

        Example answer of ``GET organizations?$select=_basecurrencyid_value``::

            {"value": [{"organizationid": "…", "_basecurrencyid_value": "3f2c…"}]}
        """
        params = {"$select": "_basecurrencyid_value"}
        pages = NextLinkPaginator(self._client).pages("organizations", params)
        async for page in pages:
            for row in page.get("value", []):
                value = row.get("_basecurrencyid_value") if isinstance(row, dict) else None
                if isinstance(value, str):
                    return value.lower()
        return None
