"""An in-memory side (BC company or Dataverse environment) for runner tests."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

from sync.models import (
    BusinessRelation,
    ChangePage,
    ErrorClass,
    JsonScalar,
    Record,
    Side,
    TableMapping,
    WriteKind,
    WriteOutcome,
    WriteRequest,
)

_BIND = re.compile(r"^(?P<column>\w+)@odata\.bind$")
_BOUND_ID = re.compile(r"\((?P<id>[^)]+)\)$")
_POLYMORPHIC = {
    "parentcustomerid_account": ("parentcustomerid", "account"),
    "parentcustomerid_contact": ("parentcustomerid", "contact"),
}
"""Navigation properties of polymorphic lookups: the column and table each one binds."""
LOOKUP_TABLE = "@Microsoft.Dynamics.CRM.lookuplogicalname"


class SteppingClock:  # implements Clock
    """Each reading is one millisecond later, like a busy server."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        self.current += timedelta(milliseconds=1)
        return self.current


class InMemorySide:  # implements SideGateway
    """Rows per table, change times from a clock, writes with injectable failures.

    Dataverse lookup binds (``x@odata.bind: /set(id)``) are stored as ``_x_value`` the way the
    Web API returns them (a polymorphic one with its table annotation), so echo detection sees
    what it would see in production. On the BC side, ``relate`` gives a customer or vendor its
    company contact (BC's business relation).
    """

    def __init__(self, side: Side, clock: SteppingClock, *, page_size: int = 50) -> None:
        self.side = side
        self.clock = clock
        self.page_size = page_size
        self.tables: dict[str, dict[str, Record]] = {}
        self.tombstones: dict[str, dict[str, datetime]] = {}
        self.fail: dict[str, ErrorClass] = {}
        self.fail_names: dict[str, ErrorClass] = {}
        self.write_calls = 0
        self.base_currency: str | None = None
        self.id_reads = 0
        self.writes: list[WriteRequest] = []
        self.relations: dict[str, BusinessRelation] = {}
        self.relation_reads = 0

    def table(self, mapping: TableMapping) -> dict[str, Record]:
        name = mapping.bc_entity if self.side is Side.BC else mapping.dataverse_entity_set
        return self.tables.setdefault(name, {})

    def put(
        self, mapping: TableMapping, values: dict[str, JsonScalar], record_id: str | None = None
    ) -> Record:
        """Create or edit a row "as a user would"."""
        table = self.table(mapping)
        record_id = record_id or str(uuid.uuid4())
        old = table.get(record_id)
        merged = {**(old.values if old else {}), **values}
        record = Record(
            id=record_id,
            version=f'W/"{uuid.uuid4().hex[:8]}"',
            modified_at=self.clock.now(),
            values=merged,
        )
        table[record_id] = record
        return record

    def relate(self, related_id: str, contact: Record, *, related_number: str = "") -> None:
        """Make ``contact`` (a BC company contact) the company of a customer or vendor."""
        self.relations[related_id] = BusinessRelation(
            related_id=related_id,
            related_number=related_number,
            contact_id=contact.id,
            contact_number=str(contact.values["number"]),
        )

    def remove(self, mapping: TableMapping, record_id: str) -> None:
        self.table(mapping).pop(record_id)
        name = mapping.bc_entity if self.side is Side.BC else mapping.dataverse_entity_set
        self.tombstones.setdefault(name, {})[record_id] = self.clock.now()

    async def read_changes(
        self, mapping: TableMapping, *, since: datetime | None, delta_token: str | None
    ) -> AsyncIterator[ChangePage]:
        if delta_token is not None:
            since = datetime.fromisoformat(delta_token)
        started = self.clock.now()
        filt = mapping.bc_filter if self.side is Side.BC else mapping.dataverse_filter
        rows = [
            r
            for r in self.table(mapping).values()
            if (since is None or r.modified_at >= since) and filt.matches(r.values)
        ]
        name = mapping.bc_entity if self.side is Side.BC else mapping.dataverse_entity_set
        if since is not None:
            rows += [
                Record(id=i, deleted=True)
                for i, at in self.tombstones.get(name, {}).items()
                if at >= since
            ]
        for start in range(0, max(len(rows), 1), self.page_size):
            last = start + self.page_size >= len(rows)
            token = started.isoformat() if last and self.side is Side.DATAVERSE else None
            yield ChangePage(records=tuple(rows[start : start + self.page_size]), delta_token=token)

    async def read_by_ids(self, mapping: TableMapping, ids: Sequence[str]) -> AsyncIterator[Record]:
        self.id_reads += 1
        table = self.table(mapping)
        for record_id in ids:
            if record_id in table:
                yield table[record_id]

    async def write(
        self, mapping: TableMapping, requests: Sequence[WriteRequest]
    ) -> list[WriteOutcome]:
        self.write_calls += 1
        self.writes.extend(requests)
        return [self._write_one(mapping, index, request) for index, request in enumerate(requests)]

    async def base_currency_id(self) -> str | None:
        return self.base_currency

    async def read_business_relations(
        self, mapping: TableMapping
    ) -> AsyncIterator[BusinessRelation]:
        self.relation_reads += 1
        table = self.table(mapping)
        for related_id, relation in self.relations.items():
            if related_id in table:
                yield relation

    async def find_matching(self, mapping: TableMapping, values) -> list[Record]:
        stored = _stored_values(dict(values))
        return [
            record
            for record in self.table(mapping).values()
            if all(record.values.get(k) == v for k, v in stored.items())
        ]

    def _write_one(self, mapping: TableMapping, index: int, request: WriteRequest) -> WriteOutcome:
        failure = self.fail.get(request.record_id or "") or next(
            (c for name, c in self.fail_names.items() if name in request.values.values()), None
        )
        if failure is not None:
            return WriteOutcome(
                index=index,
                error_class=failure,
                error_code="Injected",
                error_message="injected failure",
            )
        table = self.table(mapping)
        if request.kind is WriteKind.DELETE:
            if request.record_id not in table:
                return WriteOutcome(
                    index=index,
                    error_class=ErrorClass.PERMANENT,
                    error_code="NotFound",
                    error_message="gone",
                )
            self.remove(mapping, request.record_id)
            return WriteOutcome(index=index, record_id=request.record_id)
        if request.kind is WriteKind.UPDATE and request.record_id not in table:
            return WriteOutcome(
                index=index,
                error_class=ErrorClass.PERMANENT,
                error_code="NotFound",
                error_message="gone",
            )
        record = self.put(mapping, _stored_values(request.values), request.record_id)
        # Like UpsertMultiple, Dataverse bulk writes answer without the new version.
        version = record.version if self.side is Side.BC else None
        return WriteOutcome(
            index=index, record_id=record.id, version=version, modified_at=record.modified_at
        )


def _stored_values(values: dict[str, JsonScalar]) -> dict[str, JsonScalar]:
    stored: dict[str, JsonScalar] = {}
    for key, value in values.items():
        bind = _BIND.match(key)
        if bind is None:
            stored[key] = value
            continue
        found = _BOUND_ID.search(value) if isinstance(value, str) else None
        column, table = _POLYMORPHIC.get(bind["column"], (bind["column"], None))
        stored[f"_{column}_value"] = found["id"] if found else None
        if table is not None:
            stored[f"_{column}_value{LOOKUP_TABLE}"] = table if found else None
    return stored
