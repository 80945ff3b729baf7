"""In-memory rows with a global row version, a change log and undoable transactions.

Every write takes the next global `versionnumber` (like SQL Server's rowversion that Dataverse
exposes), so ETags change on every write and change tracking can ask "what changed after
version N". Rows are kept with their ids in sorted order, so paging by id is a binary search.
All methods are synchronous: a request's writes run without an `await` in between, which makes
them atomic with respect to other requests on the event loop.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.dataverse.tables import TABLES, Table

__all__ = ["ChangeSet", "Organization", "Store", "StoredRow", "TableRows"]


@dataclass(slots=True)
class Organization:
    """Who and where the caller is: answered by WhoAmI and used for default owners.

    Attributes:
        organization_id: the environment's organization id.
        business_unit_id: the root business unit.
        caller_id: the systemuser the emulator treats as the caller (an application user).
        base_currency_id: the organization's base transactioncurrency.
    """

    organization_id: str = "00000000-0000-0000-0000-000000000000"
    business_unit_id: str = "00000000-0000-0000-0000-000000000000"
    caller_id: str = "00000000-0000-0000-0000-000000000000"
    base_currency_id: str | None = None


@dataclass(slots=True)
class StoredRow:
    """One row as the emulator keeps it.

    Attributes:
        values: JSON property name -> Python value (`name`, `_ownerid_value`, `modifiedon`
            as an aware datetime, `versionnumber`...). Lookups hold the target id as a string.
        lookup_targets: lookup column name -> logical name of the table it points to.
    """

    values: dict[str, Any]
    lookup_targets: dict[str, str] = field(default_factory=dict)

    @property
    def version(self) -> int:
        """The row version (`versionnumber`), which is also its ETag."""
        return int(self.values["versionnumber"])

    def copy(self) -> StoredRow:
        """Return a shallow copy that can be changed without touching this row."""
        return StoredRow(dict(self.values), dict(self.lookup_targets))


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """Rows changed between two versions, in the order change tracking reports them.

    Attributes:
        upserted: ids of rows created or updated, by version of their last change.
        deleted: ids of rows deleted, by version of their deletion.
    """

    upserted: tuple[str, ...]
    deleted: tuple[str, ...]


class TableRows:
    """The rows of one table, ordered by id, with the table's change log.

    Attributes:
        table: the table.
        tracking: whether change tracking is enabled.
        rows: id -> row.
        ordered_ids: the ids in ascending order.
        revision: bumped on every write, to tell when `sorted_cache` is stale.
        sorted_cache: one `$orderby` result kept between the pages of a walk.
    """

    def __init__(self, table: Table, *, tracking: bool) -> None:
        self.table = table
        self.tracking = tracking
        self.rows: dict[str, StoredRow] = {}
        self.ordered_ids: list[str] = []
        self.revision = 0
        self.sorted_cache: dict[object, tuple[int, list[Any], list[StoredRow]]] = {}
        self._log_versions: list[int] = []
        self._log_entries: list[tuple[str, bool]] = []

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, row_id: str) -> StoredRow | None:
        """Return the row with this id (lower-case GUID text), if any."""
        return self.rows.get(row_id)

    def ids_after(self, row_id: str | None) -> Iterator[str]:
        """Yield ids in ascending order, starting after `row_id` (from the start when None)."""
        start = 0 if row_id is None else bisect.bisect_right(self.ordered_ids, row_id)
        ids = self.ordered_ids
        for index in range(start, len(ids)):
            yield ids[index]

    def changes(self, after_version: int, up_to_version: int) -> ChangeSet:
        """Return the rows whose last change lies in (`after_version`, `up_to_version`]."""
        start = bisect.bisect_right(self._log_versions, after_version)
        stop = bisect.bisect_right(self._log_versions, up_to_version)
        last_change: dict[str, bool] = {}
        for row_id, deleted in self._log_entries[start:stop]:
            last_change.pop(row_id, None)
            last_change[row_id] = deleted
        upserted = tuple(row_id for row_id, deleted in last_change.items() if not deleted)
        removed = tuple(row_id for row_id, deleted in last_change.items() if deleted)
        return ChangeSet(upserted, removed)

    def _place(self, row_id: str, row: StoredRow | None) -> None:
        self.revision += 1
        if row is None:
            if self.rows.pop(row_id, None) is not None:
                index = bisect.bisect_left(self.ordered_ids, row_id)
                del self.ordered_ids[index]
            return
        if row_id not in self.rows:
            bisect.insort(self.ordered_ids, row_id)
        self.rows[row_id] = row

    def _clear(self) -> None:
        self.rows.clear()
        self.ordered_ids.clear()
        self.sorted_cache.clear()
        self.revision += 1
        self._truncate_log(0)

    def _log(self, version: int, row_id: str, *, deleted: bool) -> None:
        self._log_versions.append(version)
        self._log_entries.append((row_id, deleted))

    def _truncate_log(self, length: int) -> None:
        del self._log_versions[length:]
        del self._log_entries[length:]

    @property
    def _log_length(self) -> int:
        return len(self._log_versions)


@dataclass(slots=True)
class _UndoStep:
    rows: TableRows
    row_id: str
    previous: StoredRow | None
    log_length: int


class Store:
    """All tables' rows, the global version counter and the transaction (undo) log.

    Args:
        clock: returns the current time, timezone-aware UTC.
        tracking: logical name -> whether change tracking is enabled.

    Attributes:
        version: the last row version handed out (never reused, not even after `clear`).
        log_floor: versions below this one are no longer in the change logs.
        writes: rows written so far (creates, updates, deletes), for per-record costs.
        organization: the caller, business unit and base currency.
    """

    def __init__(self, clock: Callable[[], datetime], tracking: Mapping[str, bool]) -> None:
        self._clock = clock
        self.version = 0
        self.log_floor = 0
        self.writes = 0
        self.tables = {
            name: TableRows(table, tracking=tracking.get(name, table.change_tracking))
            for name, table in TABLES.items()
        }
        self._undo: list[_UndoStep] | None = None
        self.organization = Organization()

    def now(self) -> datetime:
        """Return the current time truncated to whole seconds, as Dataverse stores it."""
        return self._clock().replace(microsecond=0)

    def table_rows(self, logical_name: str) -> TableRows:
        """Return the rows of a table by logical name."""
        return self.tables[logical_name]

    def next_version(self) -> int:
        """Take the next global row version."""
        self.version += 1
        return self.version

    def put(self, logical_name: str, row_id: str, row: StoredRow) -> None:
        """Insert or replace a row whose `versionnumber` was already set, and log the change."""
        rows = self.tables[logical_name]
        self._remember(rows, row_id)
        rows._place(row_id, row)
        rows._log(row.version, row_id, deleted=False)
        self.writes += 1

    def remove(self, logical_name: str, row_id: str) -> None:
        """Delete a row and log the deletion under a new version."""
        rows = self.tables[logical_name]
        self._remember(rows, row_id)
        rows._place(row_id, None)
        rows._log(self.next_version(), row_id, deleted=True)
        self.writes += 1

    def clear(self) -> None:
        """Drop every row; change logs restart, so older delta tokens count as expired."""
        for rows in self.tables.values():
            rows._clear()
        # Skip a version so that every token issued before the reset lies below the floor.
        self.version += 1
        self.log_floor = self.version
        self._undo = None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Undo every write made inside the block when it raises; nesting is allowed."""
        outermost = self._undo is None
        undo: list[_UndoStep] = [] if self._undo is None else self._undo
        self._undo = undo
        savepoint = len(undo)
        try:
            yield
        except BaseException:
            _roll_back(undo, savepoint)
            raise
        finally:
            if outermost:
                self._undo = None

    def _remember(self, rows: TableRows, row_id: str) -> None:
        if self._undo is not None:
            self._undo.append(_UndoStep(rows, row_id, rows.rows.get(row_id), rows._log_length))


def _roll_back(undo: list[_UndoStep], savepoint: int) -> None:
    for step in reversed(undo[savepoint:]):
        step.rows._place(step.row_id, step.previous)
        step.rows._truncate_log(step.log_length)
    del undo[savepoint:]
