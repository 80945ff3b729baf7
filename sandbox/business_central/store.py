"""In-memory tables of the Business Central emulator, with etags, indexes and an undo journal.

The store knows nothing of HTTP or validation: it keeps rows, stamps every write with a fresh
`lastModifiedDateTime` and etag, keeps the primary-key order for paging, and can roll a group of
writes back (the `Isolation: snapshot` batch). Every committed write of a company's record is
announced to `listener` as a `RecordChange` (what webhooks are made of).
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from sandbox.business_central.ordering import OrderTerm, SortedIndex, SortKey, sort_key
from sandbox.business_central.schema import COMPANY

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sandbox.business_central.schema import EntitySchema

ChangeType = Literal["created", "updated", "deleted"]


@dataclass(frozen=True, slots=True)
class RecordChange:
    """One committed write of a company's record.

    Attributes:
        company_id: the company owning the record.
        entity_set: the record's entity set, e.g. `customers`.
        record_id: the record's SystemId.
        change_type: `created`, `updated` or `deleted`.
        last_modified: when it happened, formatted as `lastModifiedDateTime`.
    """

    company_id: str
    entity_set: str
    record_id: str
    change_type: ChangeType
    last_modified: str


ChangeListener = Callable[[RecordChange], None]
"""Told about every committed write; must not write to the store itself."""


def format_timestamp(moment: datetime) -> str:
    """Format a datetime the way BC serialises `lastModifiedDateTime`.

    Example: `2020-08-21T07:38:44.293Z` (UTC, milliseconds, `Z`).
    """
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


class StoredRecord:
    """One row as stored: immutable values plus the etag of this version.

    A write never changes a StoredRecord; it stores a new one. That keeps the cached JSON valid
    and lets the undo journal hold the previous version as is.
    """

    __slots__ = ("_json", "etag", "values")

    def __init__(self, values: dict[str, Any], etag: str) -> None:
        """Wrap the values (not copied: the caller hands them over) and their etag."""
        self.values = values
        self.etag = etag
        self._json: str | None = None

    @property
    def id(self) -> str:
        """Return the record's SystemId."""
        return str(self.values["id"])

    def to_dict(self) -> dict[str, Any]:
        """Return the full API representation, starting with `@odata.etag`."""
        return {"@odata.etag": self.etag, **self.values}

    def to_json(self) -> str:
        """Return the full API representation as compact JSON, computed once per version."""
        if self._json is None:
            self._json = json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))
        return self._json


class EntityTable:
    """The rows of one entity set in one company, with a primary-key index.

    Attributes:
        schema: what the rows look like.
        company_id: the company owning the rows.
        rows: records by id.
        version: bumped on every write; invalidates cached non-default orderings.
        next_number: the next position of the number series (C00010 is position 10).
    """

    def __init__(self, schema: EntitySchema, company_id: str = "") -> None:
        """Create an empty table of a company ("" for the companies table itself)."""
        self.schema = schema
        self.company_id = company_id
        self.rows: dict[str, StoredRecord] = {}
        self.version = 0
        self.next_number = 10
        self.default_order = (OrderTerm(schema.key_field),)
        self._primary = SortedIndex()
        self._ids_by_key: dict[str, str] = {}
        self._views: dict[tuple[OrderTerm, ...], tuple[int, list[SortKey]]] = {}

    def find_by_key(self, key_value: str) -> StoredRecord | None:
        """Return the row whose primary key (number or code) equals `key_value`."""
        record_id = self._ids_by_key.get(key_value)
        return None if record_id is None else self.rows[record_id]

    def find_by_ids(self, record_ids: Iterable[str]) -> list[StoredRecord]:
        """Return the rows with these ids (lower-case GUID text), skipping ids not stored."""
        rows = self.rows
        return [rows[record_id] for record_id in record_ids if record_id in rows]

    def ordered_keys(self, terms: tuple[OrderTerm, ...]) -> list[SortKey]:
        """Return every row's sort key in the given order (the default order if `terms` is empty).

        The primary-key order is maintained on each write; any other order is sorted once and
        cached until the next write, so walking its pages costs one sort, not one per page.
        """
        if not terms or terms == self.default_order:
            return self._primary.keys
        cached = self._views.get(terms)
        if cached is not None and cached[0] == self.version:
            return cached[1]
        keys = sorted(sort_key(r.values, terms, r.id) for r in self.rows.values())
        self._views[terms] = (self.version, keys)
        return keys

    def put(self, record: StoredRecord) -> StoredRecord | None:
        """Store a record (insert or replace) and return the version it replaced."""
        previous = self.rows.get(record.id)
        if previous is not None:
            self._unindex(previous)
        self.rows[record.id] = record
        self._primary.add(self._primary_key(record))
        self._ids_by_key[record.values[self.schema.key_field]] = record.id
        self.version += 1
        return previous

    def pop(self, record_id: str) -> StoredRecord | None:
        """Remove a record and return it (None when absent)."""
        previous = self.rows.pop(record_id, None)
        if previous is not None:
            self._unindex(previous)
            self.version += 1
        return previous

    def load(self, records: list[StoredRecord]) -> None:
        """Add many new records at once, sorting the index once instead of per row."""
        for record in records:
            self.rows[record.id] = record
            self._ids_by_key[record.values[self.schema.key_field]] = record.id
        self._primary = SortedIndex(self._primary_key(r) for r in self.rows.values())
        self.version += 1

    def _unindex(self, record: StoredRecord) -> None:
        self._primary.discard(self._primary_key(record))
        key_value = record.values[self.schema.key_field]
        if self._ids_by_key.get(key_value) == record.id:
            del self._ids_by_key[key_value]

    def _primary_key(self, record: StoredRecord) -> SortKey:
        return sort_key(record.values, self.default_order, record.id)


@dataclass(frozen=True, slots=True)
class _Undo:
    table: EntityTable
    record_id: str
    previous: StoredRecord | None
    next_number: int


class BusinessCentralStore:
    """All companies and their tables, with etag stamping and an undo journal.

    Attributes:
        companies: the `companies` entity set (read-only through the API).
        clock: returns the current UTC time; drives `lastModifiedDateTime`.
        listener: told about each committed write of a company table; None tells no one.
    """

    def __init__(self, clock: Callable[[], datetime]) -> None:
        """Create an empty store."""
        self.clock = clock
        self.companies = EntityTable(COMPANY)
        self.listener: ChangeListener | None = None
        self._tables: dict[tuple[str, str], EntityTable] = {}
        self._row_version = 0
        self._journal: list[_Undo] | None = None
        self._held: list[RecordChange] = []

    def add_table(self, table: EntityTable) -> None:
        """Register an entity table of one company."""
        self._tables[(table.company_id, table.schema.entity_set)] = table

    def table(self, company_id: str, entity_set: str) -> EntityTable | None:
        """Return one company's table of an entity set, or None."""
        return self._tables.get((company_id, entity_set))

    def stamp(self, values: dict[str, Any], modified_at: datetime | None = None) -> StoredRecord:
        """Give values a new `lastModifiedDateTime` and etag, as every BC write does."""
        values["lastModifiedDateTime"] = format_timestamp(modified_at or self.clock())
        return StoredRecord(values, self.new_etag(str(values["id"])))

    def save(self, table: EntityTable, record: StoredRecord) -> None:
        """Insert or replace a record, journaling the previous version."""
        self._remember(table, record.id)
        previous = table.put(record)
        modified = str(record.values["lastModifiedDateTime"])
        self._announce(table, record.id, "created" if previous is None else "updated", modified)

    def load(self, table: EntityTable, records: list[StoredRecord]) -> None:
        """Add many new records at once (not journaled), announcing each as created."""
        table.load(records)
        for record in records:
            modified = str(record.values["lastModifiedDateTime"])
            self._announce(table, record.id, "created", modified)

    def remove(self, table: EntityTable, record_id: str) -> None:
        """Delete a record, journaling it."""
        self._remember(table, record_id)
        if table.pop(record_id) is not None:
            self._announce(table, record_id, "deleted", format_timestamp(self.clock()))

    def allocate_number(self, table: EntityTable) -> str:
        """Take the next free number of the table's number series (C00010, C00020, ...)."""
        schema = table.schema
        if self._journal is not None:
            # An empty record id undoes nothing but the series position, like a rolled-back
            # No. Series line in BC.
            self._journal.append(_Undo(table, "", None, table.next_number))
        while True:
            position = table.next_number
            table.next_number += 10
            number = f"{schema.number_prefix}{position:0{schema.number_digits}d}"
            if table.find_by_key(number) is None:
                return number

    def begin(self) -> None:
        """Start journaling writes so that `rollback` can undo them."""
        self._journal = []

    def commit(self) -> None:
        """Keep the journaled writes, stop journaling and announce them."""
        self._journal = None
        held, self._held = self._held, []
        for change in held:
            self._tell(change)

    def rollback(self) -> None:
        """Undo every write since `begin`, newest first, and stop journaling."""
        journal, self._journal = self._journal or [], None
        # Rolled-back writes never happened as far as subscribers can tell.
        self._held = []
        for undo in reversed(journal):
            undo.table.next_number = undo.next_number
            if undo.previous is None:
                undo.table.pop(undo.record_id)
            else:
                undo.table.put(undo.previous)

    def _announce(
        self, table: EntityTable, record_id: str, change_type: ChangeType, modified: str
    ) -> None:
        if self.listener is None:
            return
        change = RecordChange(
            table.company_id, table.schema.entity_set, record_id, change_type, modified
        )
        if self._journal is not None:
            self._held.append(change)
        else:
            self._tell(change)

    def _tell(self, change: RecordChange) -> None:
        if self.listener is not None:
            self.listener(change)

    def _remember(self, table: EntityTable, record_id: str) -> None:
        if self._journal is not None:
            previous = table.rows.get(record_id)
            self._journal.append(_Undo(table, record_id, previous, table.next_number))

    def new_etag(self, record_id: str) -> str:
        """Return a fresh etag for a record; no two writes ever get the same one."""
        # Real etags are base64 of a quoted "<length>;<digits>;" string; clients must treat them
        # as opaque, so only the shape and the change-on-every-write property matter.
        self._row_version += 1
        digits = f"{zlib.crc32(record_id.encode()):010d}{self._row_version}"
        token = base64.b64encode(f"'{len(digits)};{digits};'".encode()).decode()
        return f'W/"{token}"'
