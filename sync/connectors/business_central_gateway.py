"""Business Central as the runner sees it: mapping-level reads and writes over the connector."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta

from sync.connectors.business_central import BusinessCentralConnector
from sync.engine.fields import BC_BUSINESS_KEYS, same_value
from sync.mappings import BC_ENTITIES, Catalogue, FieldType
from sync.models import (
    BusinessRelation,
    ChangePage,
    JsonScalar,
    Record,
    TableMapping,
    WriteKind,
    WriteOutcome,
    WriteRequest,
)

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
"""BC's blank id."""


class BusinessCentralGateway:  # implements SideGateway
    """Turns a table mapping into BC entity sets, selected fields and ``$filter``.

    The runner already widened ``since`` by its overlap window, so reads start exactly there.
    """

    def __init__(self, connector: BusinessCentralConnector, *, page_size: int) -> None:
        self._connector = connector
        self._page_size = page_size

    async def read_changes(
        self, mapping: TableMapping, *, since: datetime | None, delta_token: str | None
    ) -> AsyncIterator[ChangePage]:
        """Stream pages of changed records; BC has no change tracking, so no delta token."""
        del delta_token  # BC reads by lastModifiedDateTime only
        pages = self._connector.read_changes(
            mapping.bc_entity,
            fields=bc_fields(mapping),
            since=since,
            overlap=timedelta(0),
            odata_filter=mapping.bc_filter.to_odata(),
            page_size=self._page_size,
            api=mapping.bc_api,
        )
        async for records in pages:
            yield ChangePage(records=tuple(records))

    async def read_by_ids(self, mapping: TableMapping, ids: Sequence[str]) -> AsyncIterator[Record]:
        """Stream the current state of the given BC records."""
        pages = self._connector.read_by_ids(
            mapping.bc_entity, ids, fields=bc_fields(mapping), api=mapping.bc_api
        )
        async for records in pages:
            for record in records:
                yield record

    async def write(
        self, mapping: TableMapping, requests: Sequence[WriteRequest]
    ) -> list[WriteOutcome]:
        """Write through JSON ``$batch``; one outcome per request, in order."""
        prepared = [_prepared(mapping.bc_entity, request) for request in requests]
        return await self._connector.write(mapping.bc_entity, prepared, api=mapping.bc_api)

    async def base_currency_id(self) -> str | None:
        """BC has no such thing in its API; the base currency is Dataverse's."""
        return None

    async def read_business_relations(
        self, mapping: TableMapping
    ) -> AsyncIterator[BusinessRelation]:
        """Stream the company contacts of the mapping's customers or vendors."""
        pages = self._connector.read_business_relations(
            mapping.bc_entity, page_size=self._page_size, api=mapping.bc_api
        )
        async for relations in pages:
            for relation in relations:
                yield relation

    async def find_matching(
        self, mapping: TableMapping, values: Mapping[str, JsonScalar]
    ) -> list[Record]:
        """BC records whose fields equal ``values``, found by the most selective key field."""
        expected = _prepared(
            mapping.bc_entity, WriteRequest(kind=WriteKind.UPDATE, values=dict(values))
        ).values
        key = next((k for k in _MATCH_KEYS if expected.get(k) not in (None, "")), None)
        if key is None:
            return []
        candidates = await self._connector.find_by_key(
            mapping.bc_entity, key, expected[key], fields=bc_fields(mapping), api=mapping.bc_api
        )
        return [
            record
            for record in candidates
            if all(same_value(record.values.get(name), value) for name, value in expected.items())
        ]


_MATCH_KEYS = ("number", "code", "email", "displayName")
"""Fields a lookup by values filters on in BC, most selective first; the rest is compared here."""


def bc_fields(mapping: TableMapping) -> list[str]:
    """The BC fields a mapping reads: mapped fields, filtered fields and business keys."""
    names = {f.bc_field for f in mapping.fields if f.bc_field is not None}
    names |= set(mapping.bc_filter.fields())
    catalogue = BC_ENTITIES.get(mapping.bc_entity)
    if catalogue is not None:
        names |= {key for key in BC_BUSINESS_KEYS if catalogue.get(key) is not None}
    return sorted(names)


def _prepared(entity: str, request: WriteRequest) -> WriteRequest:
    """BC has no null texts or ids: a cleared value is written as BC's blank."""
    catalogue = BC_ENTITIES.get(entity)
    values = {
        name: _blank_for(catalogue, name) if value is None else value
        for name, value in request.values.items()
    }
    if (
        entity == "salespeoplePurchasers"
        and request.kind is WriteKind.CREATE
        and not values.get("code")
    ):
        values["code"] = salesperson_code(values)
    return request.model_copy(update={"values": values})


def _blank_for(catalogue: Catalogue | None, name: str) -> JsonScalar:
    known = catalogue.get(name) if catalogue is not None else None
    if known is not None and known.type is FieldType.GUID:
        return EMPTY_GUID
    if known is not None and known.type in (FieldType.TEXT, FieldType.CODE, FieldType.ENUM):
        return ""
    return None


def salesperson_code(values: Mapping[str, JsonScalar]) -> str:
    """A code for a salesperson created from a Dataverse user (BC's code field is required).

    Initials of the name plus a short stable hash of the e-mail (or name), e.g. ``AL-3F9C``:
    the same user always gets the same code, two users rarely collide, and it fits Code[20].
    """
    name = str(values.get("displayName") or "")
    initials = "".join(word[0] for word in name.split() if word[:1].isalnum()).upper()[:6] or "DV"
    seed = str(values.get("email") or name).lower().encode()
    return f"{initials}-{hashlib.sha1(seed).hexdigest()[:4].upper()}"  # noqa: S324 - not security
