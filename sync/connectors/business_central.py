"""Business Central connector: one company's records, read page by page and written in batches.

Every URL is relative to the client's API root, ``{host}/v2.0/{tenant}/{environment}/api``
(api-contracts B1), and names the API and the company (B2, B5)::

    v2.0/companies(5d1c...)/customers?$filter=lastModifiedDateTime ge 2024-05-01T07:55:00.000Z
    bcsync/integration/v1.0/companies(5d1c...)/shippingAgents
    v2.0/$batch

One connector serves one company; several companies mean several connectors, which may share
one ``ServiceClient`` (BC's limits count per user, so one limiter for all is right).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Final

from sync.connectors.accounting import RequestAccounting
from sync.connectors.business_central_batch import (
    MAX_BATCH_SIZE,
    MAX_CONCURRENT_BATCHES,
    BusinessCentralBatchWriter,
)
from sync.connectors.business_central_payload import (
    is_guid,
    parse_business_relations,
    parse_rows,
)
from sync.connectors.odata import format_datetime, in_chunks, quote_literal
from sync.connectors.paging import NextLinkPaginator
from sync.connectors.service_client import ServiceClient
from sync.errors import ConfigError
from sync.models import BusinessRelation, JsonScalar, Record, Scope, WriteOutcome, WriteRequest

__all__ = [
    "IDS_PER_REQUEST",
    "MAX_PAGE_SIZE",
    "STANDARD_API",
    "BusinessCentralConnector",
    "business_central_api_root",
]

STANDARD_API: Final = "v2.0"
MAX_PAGE_SIZE: Final = 20_000
"""BC online serves at most 20,000 entities per page and answers 413 above (B3, B7)."""
IDS_PER_REQUEST: Final = 50
"""Ids per ``id eq X or id eq Y`` filter: about 2,400 characters of URL, well under limits."""

_SYSTEM_FIELDS: Final = ("id", "lastModifiedDateTime")
_COMPANY_CONTACTS: Final = (
    "contactsInformation($filter=contactType eq 'Company';"
    "$select=contactId,contactNumber,contactType)"
)
_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_API: Final = re.compile(r"^(?:v2\.0|[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/v\d+\.\d+)$")


def business_central_api_root(host: str, *, tenant: str, environment: str) -> str:
    """Build the API root every connector URL is relative to.

    Example:
        >>> business_central_api_root(
        ...     "https://api.businesscentral.dynamics.com", tenant="contoso", environment="prod"
        ... )
        'https://api.businesscentral.dynamics.com/v2.0/contoso/prod/api'

    Args:
        host: ``SYNC_BC__API_BASE_URL``, or an emulator's address.
        tenant: The Entra tenant id or domain.
        environment: The BC environment name.
    """
    return f"{host.rstrip('/')}/v2.0/{tenant}/{environment}/api"


class BusinessCentralConnector:
    """Reads and writes the records of one Business Central company.

    Reads stream: each method yields one page of Records at a time and never holds a table.
    Writes go through JSON ``$batch`` and answer one ``WriteOutcome`` per request.

    Args:
        client: The service client for BC; its base URL is ``business_central_api_root(...)``.
        scope: The tenant, environment and company this connector is bound to.
        batch_size: Requests per ``$batch``, 1 to 100.
        concurrent_batches: ``$batch`` requests in flight at once (BC runs 5 per user).

    Raises:
        ConfigError: The company id is no GUID, or a size is out of range.
    """

    def __init__(
        self,
        client: ServiceClient,
        scope: Scope,
        *,
        batch_size: int = MAX_BATCH_SIZE,
        concurrent_batches: int = MAX_CONCURRENT_BATCHES,
    ) -> None:
        if not is_guid(scope.company_id):
            raise ConfigError(f"the BC company id must be a GUID, not {scope.company_id!r}")
        self._client = client
        self._scope = scope
        self._writer = BusinessCentralBatchWriter(
            client,
            company_path=self._company_path(),
            batch_size=batch_size,
            concurrent_batches=concurrent_batches,
        )

    @property
    def scope(self) -> Scope:
        """The company this connector reads and writes."""
        return self._scope

    @property
    def accounting(self) -> RequestAccounting:
        """Request counters of the underlying client (shared by connectors on one client)."""
        return self._client.accounting

    async def read_changes(
        self,
        entity: str,
        *,
        fields: Sequence[str],
        since: datetime | None,
        overlap: timedelta,
        odata_filter: str | None,
        page_size: int,
        api: str = STANDARD_API,
    ) -> AsyncIterator[list[Record]]:
        """Stream the records changed since a watermark, one page at a time.

        Sends ``$filter=lastModifiedDateTime ge <since - overlap> and (<odata_filter>)``,
        ``$select`` of ``fields`` plus ``id,lastModifiedDateTime`` and
        ``Prefer: odata.maxpagesize=<page_size>``, then follows ``@odata.nextLink``. No
        ``$orderby``: BC's primary-key order pages stably.

        Args:
            entity: The entity set, e.g. ``customers``.
            fields: The mapped fields; they become ``Record.values``.
            since: The watermark; None reads every record (a full sync).
            overlap: How far before ``since`` to start, so late commits are not missed.
            odata_filter: The mapping's BC filter in OData syntax, or None.
            page_size: Records per page, 1 to 20,000.
            api: ``v2.0`` or a custom API as ``publisher/group/version``.

        Yields:
            Non-empty lists of Records, one per page.

        Raises:
            ConfigError: A bad entity, field, API name, page size or negative overlap.
            TransientConnectorError: BC stayed throttled or unavailable after retries.
            PermanentConnectorError: BC refused the query (e.g. an unknown field).
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ConfigError(f"the BC page size must be 1 to {MAX_PAGE_SIZE}, not {page_size}")
        if overlap < timedelta(0):
            raise ConfigError("the read overlap must not be negative")
        conditions = []
        if since is not None:
            conditions.append(f"lastModifiedDateTime ge {format_datetime(since - overlap)}")
        if odata_filter:
            conditions.append(f"({odata_filter})")
        pages = self._read(entity, api, fields, " and ".join(conditions), page_size=page_size)
        async for records in pages:
            yield records

    async def read_by_ids(
        self, entity: str, ids: Sequence[str], *, fields: Sequence[str], api: str = STANDARD_API
    ) -> AsyncIterator[list[Record]]:
        """Stream the records with the given ids, ``IDS_PER_REQUEST`` ids per request.

        Ids that do not exist (or are no GUID, so cannot exist) are simply absent.

        Args:
            entity: The entity set, e.g. ``customers``.
            ids: BC SystemIds (``id``); duplicates are fetched once.
            fields: The fields to put in ``Record.values``.
            api: ``v2.0`` or a custom API as ``publisher/group/version``.

        Yields:
            Non-empty lists of the Records found, in BC's order within each chunk.

        Raises:
            ConfigError: A bad entity, field or API name.
            ConnectorError: BC failed (see ``read_changes``).
        """
        wanted = list(dict.fromkeys(record_id.lower() for record_id in ids if is_guid(record_id)))
        for chunk in in_chunks(wanted, IDS_PER_REQUEST):
            # OR is allowed on one field (B3); GUID literals go unquoted.
            id_filter = " or ".join(f"id eq {record_id}" for record_id in chunk)
            async for records in self._read(entity, api, fields, id_filter):
                yield records

    async def read_business_relations(
        self, entity: str, *, page_size: int, api: str = STANDARD_API
    ) -> AsyncIterator[list[BusinessRelation]]:
        """Stream the company contact of every customer or vendor, one page at a time.

        Sends ``$select=id,number`` and ``$expand=contactsInformation($filter=contactType eq
        'Company';$select=contactId,contactNumber,contactType)`` with ``Prefer:
        odata.maxpagesize=<page_size>``, then follows ``@odata.nextLink``. The navigation is
        only served below a customer or vendor, so expanding it is the one way to read the
        relations of many in one request (see ``sync.engine.company_link``).

        Args:
            entity: ``customers`` or ``vendors``.
            page_size: Records per page, 1 to 20,000.
            api: ``v2.0``, which serves ``contactsInformation``.

        Yields:
            Lists of relations, one per page that holds any.

        Raises:
            ConfigError: A bad entity or API name, or an entity without business relations.
            ConnectorError: BC failed (see ``read_changes``).
        """
        if entity not in ("customers", "vendors"):
            raise ConfigError(f"{entity!r} has no business relations; use customers or vendors")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ConfigError(f"the BC page size must be 1 to {MAX_PAGE_SIZE}, not {page_size}")
        _check_api(api)
        params = {"$select": "id,number", "$expand": _COMPANY_CONTACTS}
        paginator = NextLinkPaginator(
            self._client, headers={"Prefer": f"odata.maxpagesize={page_size}"}
        )
        async for page in paginator.pages(f"{api}/{self._company_path()}/{entity}", params):
            relations = parse_business_relations(page)
            if relations:
                yield relations

    async def find_by_key(
        self,
        entity: str,
        field: str,
        value: JsonScalar,
        *,
        fields: Sequence[str],
        api: str = STANDARD_API,
    ) -> list[Record]:
        """Find the records whose ``field`` equals ``value``, e.g. before creating again.

        The engine's create guard asks this after a create whose outcome is unknown: if the
        record is there, it couples it instead of creating a second one.

        Args:
            entity: The entity set, e.g. ``customers``.
            field: The match key, e.g. ``number`` or ``displayName``.
            value: The key's value; text is quoted with ``quote_literal`` (``O'Brien`` is safe).
            fields: The fields to put in ``Record.values``.
            api: ``v2.0`` or a custom API as ``publisher/group/version``.

        Returns:
            Every match (usually none or one).

        Raises:
            ConfigError: A bad entity, field or API name.
            ConnectorError: BC failed (see ``read_changes``).
        """
        _check_name(field, "field")
        found: list[Record] = []
        async for records in self._read(entity, api, fields, f"{field} eq {_literal(value)}"):
            found.extend(records)
        return found

    async def write(
        self, entity: str, requests: Sequence[WriteRequest], *, api: str = STANDARD_API
    ) -> list[WriteOutcome]:
        """Create, update and delete records through JSON ``$batch``; see the batch writer.

        Args:
            entity: The entity set, e.g. ``customers``.
            requests: The writes; creates POST, updates PATCH and deletes DELETE with
                ``If-Match`` (the request's version, or ``*``). Upserts are refused per record.
            api: ``v2.0`` or a custom API as ``publisher/group/version``.

        Returns:
            One outcome per request, in input order (``outcome.index`` is its position).

        Raises:
            ConfigError: A bad entity or API name.
        """
        _check_name(entity, "entity set")
        _check_api(api)
        return await self._writer.write(entity, requests, api=api)

    async def _read(
        self,
        entity: str,
        api: str,
        fields: Sequence[str],
        odata_filter: str,
        *,
        page_size: int | None = None,
    ) -> AsyncIterator[list[Record]]:
        _check_name(entity, "entity set")
        _check_api(api)
        for name in fields:
            _check_name(name, "field")
        params = {"$select": ",".join(dict.fromkeys((*_SYSTEM_FIELDS, *fields)))}
        if odata_filter:
            params["$filter"] = odata_filter
        headers = None if page_size is None else {"Prefer": f"odata.maxpagesize={page_size}"}
        paginator = NextLinkPaginator(self._client, headers=headers)
        async for page in paginator.pages(f"{api}/{self._company_path()}/{entity}", params):
            records = parse_rows(page, fields)
            if records:
                yield records

    def _company_path(self) -> str:
        return f"companies({self._scope.company_id})"


def _literal(value: JsonScalar) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return quote_literal(value)


def _check_name(name: str, what: str) -> None:
    if not _NAME.match(name):
        raise ConfigError(f"{name!r} is no valid BC {what} name")


def _check_api(api: str) -> None:
    if not _API.match(api):
        raise ConfigError(f"{api!r} is no BC API: use 'v2.0' or 'publisher/group/version'")
