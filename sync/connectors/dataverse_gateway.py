"""Dataverse as the runner sees it: mapping-level reads and writes over the connector."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sync.connectors.dataverse import DataverseConnector
from sync.errors import PermanentConnectorError
from sync.mappings import DATAVERSE_TABLES, FieldType
from sync.mappings.catalog import COMPANY_COLUMN
from sync.models import (
    AnyOf,
    BusinessRelation,
    ChangePage,
    Condition,
    ErrorClass,
    Filter,
    JsonScalar,
    Operator,
    Record,
    Scope,
    TableMapping,
    WriteKind,
    WriteOutcome,
    WriteRequest,
)

_COMPANY_NAMESPACE = uuid.UUID("4c0d3f4e-8d0b-4a5e-9b8e-3f1f0e7a2c61")


@dataclass
class DataverseEnvironment:
    """What every gateway of one environment learns once per process, shared between runs."""

    registered_companies: set[str] = field(default_factory=set)
    base_currency_id: str | None = None
    base_currency_known: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(frozen=True)
class DataverseCompany:
    """The BC company as a ``cdm_company`` row, which company-scoped rows point at."""

    row_id: str
    name: str
    code: str

    @classmethod
    def for_scope(cls, scope: Scope, name: str | None = None) -> DataverseCompany:
        """The row of a scope: its id is derived from the scope, so every run agrees on it."""
        row_id = str(uuid.uuid5(_COMPANY_NAMESPACE, scope.key))
        return cls(row_id=row_id, name=name or scope.company_id, code=scope.company_id)


class DataverseGateway:  # implements SideGateway
    """Turns a table mapping into entity sets, ``$select`` columns and filters.

    Change tracking is used where the table has it (the connector falls back to ``modifiedon``
    where it has not, or the token expired). Tracked pages come unfiltered from Dataverse, so
    the mapping's filter is applied here in memory; deletions (tombstones) always pass.
    Option mappings (a code table ⇄ the choices of a column) are not row tables: reading and
    writing their choices needs the metadata API and is refused with a clear error.
    """

    def __init__(
        self,
        connector: DataverseConnector,
        *,
        page_size: int,
        company: DataverseCompany | None = None,
        environment: DataverseEnvironment | None = None,
        track_changes: bool = True,
    ) -> None:
        self._connector = connector
        self._page_size = page_size
        self._company = company
        self._environment = environment or DataverseEnvironment()
        self._track_changes = track_changes

    async def read_changes(
        self, mapping: TableMapping, *, since: datetime | None, delta_token: str | None
    ) -> AsyncIterator[ChangePage]:
        """Stream pages of changed rows and tombstones; the last page carries the delta link."""
        _refuse_options(mapping)
        row_filter = self._row_filter(mapping)
        pages = self._connector.read_changes(
            mapping.dataverse_entity_set,
            id_field=mapping.dataverse_id_field,
            fields=self._columns(mapping),
            since=since,
            delta_link=delta_token,
            overlap=timedelta(0),
            odata_filter=row_filter.to_odata(),
            page_size=self._page_size,
            # A watermark with a time but no delta link means the table has no change
            # tracking: asking again would cost a refused request on every run.
            track_changes=self._track_changes and not (since is not None and delta_token is None),
        )
        async for page in pages:
            records = tuple(r for r in page.records if r.deleted or row_filter.matches(r.values))
            yield ChangePage(records=records, delta_token=page.delta_link)

    async def read_by_ids(self, mapping: TableMapping, ids: Sequence[str]) -> AsyncIterator[Record]:
        """Stream the current state of the given rows."""
        _refuse_options(mapping)
        pages = self._connector.read_by_ids(
            mapping.dataverse_entity_set,
            ids,
            id_field=mapping.dataverse_id_field,
            fields=self._columns(mapping),
        )
        async for records in pages:
            for record in records:
                yield record

    async def write(
        self, mapping: TableMapping, requests: Sequence[WriteRequest]
    ) -> list[WriteOutcome]:
        """Write in bulk; one outcome per request, in order."""
        if mapping.is_option:
            return [_option_refusal(mapping, index) for index in range(len(requests))]
        if self._scoped(mapping):
            requests = await self._tagged(requests)
        return await self._connector.write(
            mapping.dataverse_entity_set,
            mapping.dataverse_table,
            mapping.dataverse_id_field,
            requests,
        )

    async def base_currency_id(self) -> str | None:
        """The organization's base currency, read once per environment."""
        environment = self._environment
        async with environment.lock:
            if not environment.base_currency_known:
                environment.base_currency_id = await self._connector.base_currency_id()
                environment.base_currency_known = True
            return environment.base_currency_id

    async def read_business_relations(
        self, mapping: TableMapping
    ) -> AsyncIterator[BusinessRelation]:
        """Dataverse has no business relations; an account's contacts point at it directly."""
        del mapping
        return
        yield  # makes this an async generator that yields nothing

    async def find_matching(
        self, mapping: TableMapping, values: Mapping[str, JsonScalar]
    ) -> list[Record]:
        """Never needed: Dataverse creates use deterministic ids, so a repeat is an upsert."""
        del mapping, values
        return []

    def _scoped(self, mapping: TableMapping) -> bool:
        return self._company is not None and mapping.company_scoped

    def _columns(self, mapping: TableMapping) -> list[str]:
        columns = dataverse_columns(mapping)
        if self._scoped(mapping):
            columns.append(f"_{COMPANY_COLUMN}_value")
        return sorted(set(columns))

    def _row_filter(self, mapping: TableMapping) -> Filter:
        if self._company is None or not mapping.company_scoped:
            return mapping.dataverse_filter
        # This company's rows, and rows of no company (created by users in Dataverse).
        field = f"_{COMPANY_COLUMN}_value"
        return mapping.dataverse_filter.narrowed(
            AnyOf(
                any_of=(
                    Condition(
                        field=field, op=Operator.EQ, value=self._company.row_id, literal="guid"
                    ),
                    Condition(field=field, op=Operator.EQ, value=None),
                )
            )
        )

    async def _tagged(self, requests: Sequence[WriteRequest]) -> list[WriteRequest]:
        assert self._company is not None  # noqa: S101 - only called for scoped mappings
        await self._register_company(self._company)
        bind = {f"{COMPANY_COLUMN}@odata.bind": f"/cdm_companies({self._company.row_id})"}
        return [
            r.model_copy(update={"values": r.values | bind}) if r.kind is WriteKind.CREATE else r
            for r in requests
        ]

    async def _register_company(self, company: DataverseCompany) -> None:
        environment = self._environment
        async with environment.lock:
            if company.row_id in environment.registered_companies:
                return
            row = WriteRequest(
                kind=WriteKind.UPSERT,
                record_id=company.row_id,
                values={"cdm_name": company.name[:100], "cdm_companycode": company.code[:30]},
            )
            [outcome] = await self._connector.write(
                "cdm_companies", "cdm_company", "cdm_companyid", [row]
            )
            if not outcome.ok:
                raise PermanentConnectorError(
                    f"cannot register BC company {company.name} in Dataverse: "
                    f"{outcome.error_message}",
                    service="dataverse",
                    code=outcome.error_code,
                )
            environment.registered_companies.add(company.row_id)


def dataverse_columns(mapping: TableMapping) -> list[str]:
    """The columns a mapping reads: mapped and filtered ones, lookups as ``_<col>_value``."""
    catalogue = DATAVERSE_TABLES.get(mapping.dataverse_table)
    names = {f.dataverse_field for f in mapping.fields if f.dataverse_field is not None}
    names |= set(mapping.dataverse_filter.fields())
    columns = set()
    for name in names:
        known = catalogue.get(name) if catalogue is not None else None
        columns.add(f"_{name}_value" if known and known.type is FieldType.LOOKUP else name)
    return sorted(columns)


def _refuse_options(mapping: TableMapping) -> None:
    if mapping.is_option:
        raise PermanentConnectorError(
            f"mapping {mapping.name}: syncing the choices of {mapping.dataverse_option_column} "
            "needs the Dataverse metadata API, which this release does not call; keep the "
            "choices aligned by hand, and the option lookups of CUSTOMER and VENDOR still work "
            "through the option mapping's couplings",
            service="dataverse",
            code="OptionMappingNotSupported",
        )


def _option_refusal(mapping: TableMapping, index: int) -> WriteOutcome:
    return WriteOutcome(
        index=index,
        error_class=ErrorClass.PERMANENT,
        error_code="OptionMappingNotSupported",
        error_message=f"mapping {mapping.name}: choices cannot be written in this release",
    )
