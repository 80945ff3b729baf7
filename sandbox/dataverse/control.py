"""The control plane: reset, seed, and edit rows "as a user would", in-process or over HTTP.

In-process tests use `app.state.dataverse` (a `DataverseSandbox`); out-of-process tests use the
same operations under `/_sandbox/dataverse/`::

    POST   /_sandbox/dataverse/reset                          {"seed": 7, "records": 200}
    POST   /_sandbox/dataverse/tables/{table}/seed            {"count": 10}  -> {"ids": [...]}
    GET    /_sandbox/dataverse/tables/{table}/rows            -> {"value": [...]}
    POST   /_sandbox/dataverse/tables/{table}/rows            {"name": "X"}  -> row
    GET    /_sandbox/dataverse/tables/{table}/rows/{id}       -> row
    PATCH  /_sandbox/dataverse/tables/{table}/rows/{id}       {"telephone1": "555"} -> row
    DELETE /_sandbox/dataverse/tables/{table}/rows/{id}
    PUT    /_sandbox/dataverse/tables/{table}/change-tracking {"enabled": false}
    POST   /_sandbox/dataverse/clock                          {"advance_seconds": 691200}
    GET    /_sandbox/dataverse/organization

`{table}` is an entity set (`accounts`) or a logical name (`account`). Edits go through the same
validation and bookkeeping as Web API writes: they bump `versionnumber` and `modifiedon` and
show up in change tracking.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sandbox.dataverse.api_error import ApiError
from sandbox.dataverse.options import SandboxOptions
from sandbox.dataverse.representation import Projection, RowSerializer, format_datetime
from sandbox.dataverse.seed import EnvironmentSeeder
from sandbox.dataverse.service import DataverseService
from sandbox.dataverse.store import Organization, Store, StoredRow
from sandbox.dataverse.tables import Table, find_table

__all__ = ["DataverseSandbox"]


class DataverseSandbox:
    """One emulated Dataverse environment and the handles tests use to drive it.

    Args:
        clock: the time source (UTC); `advance_clock` moves the emulator's time past it.
        options: behaviour switches and limits.
        seed: seed of the initial data.
        records: accounts and contacts to create initially.
    """

    def __init__(
        self, *, clock: Callable[[], datetime], options: SandboxOptions, seed: int, records: int
    ) -> None:
        self._clock = clock
        self._offset = timedelta(0)
        self.options = options
        self.store = Store(self.now, options.change_tracking)
        self.service = DataverseService(self.store, options)
        self.seed_value = seed
        self.records = records
        self._seeder = EnvironmentSeeder(self.service.writer, seed)
        self.reset(seed=seed, records=records)

    @property
    def organization(self) -> Organization:
        """The organization, business unit, caller and base currency ids."""
        return self.store.organization

    def now(self) -> datetime:
        """Return the emulator's current time."""
        return self._clock() + self._offset

    def advance_clock(self, delta: timedelta) -> datetime:
        """Move the emulator's time forward (e.g. past the delta token lifetime)."""
        self._offset += delta
        return self.now()

    def reset(self, *, seed: int | None = None, records: int | None = None) -> None:
        """Drop every row and seed again; older delta tokens then count as expired.

        Args:
            seed: the new seed (the current one when None).
            records: accounts and contacts to create (the current number when None).
        """
        self.seed_value = self.seed_value if seed is None else seed
        self.records = self.records if records is None else records
        self.store.clear()
        self._seeder = EnvironmentSeeder(self.service.writer, self.seed_value)
        self._seeder.seed_environment(self.records)

    def seed(self, table: str, count: int) -> list[str]:
        """Create `count` more deterministic rows of a table; return their ids."""
        return self._seeder.seed_rows(_table(table).logical_name, count)

    def create(self, table: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Create a row from a Web API body (binds allowed); return its representation."""
        found = _table(table)
        writer = self.service.writer
        changes = writer.parse(found, values, creating=True)
        row = writer.create(found, changes, changes.row_id or str(uuid.uuid4()))
        return self._represent(found, row)

    def edit(self, table: str, row_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Change a row as a user would (Web API body rules); return its new representation."""
        found = _table(table)
        writer = self.service.writer
        row = writer.update(found, row_id.lower(), writer.parse(found, values, creating=False))
        return self._represent(found, row)

    def delete(self, table: str, row_id: str) -> None:
        """Delete a row as a user would (logged for change tracking)."""
        self.service.writer.delete(_table(table), row_id.lower())

    def get(self, table: str, row_id: str) -> dict[str, Any] | None:
        """Return a row's representation (all columns), or None when it does not exist."""
        found = _table(table)
        row = self.store.table_rows(found.logical_name).get(row_id.lower())
        return None if row is None else self._represent(found, row)

    def all(self, table: str) -> list[dict[str, Any]]:
        """Return every row of a table, ordered by id."""
        found = _table(table)
        rows = self.store.table_rows(found.logical_name)
        return [self._represent(found, rows.rows[row_id]) for row_id in rows.ordered_ids]

    def count(self, table: str) -> int:
        """Return the number of rows of a table."""
        return len(self.store.table_rows(_table(table).logical_name))

    def set_change_tracking(self, table: str, *, enabled: bool) -> None:
        """Turn change tracking of a table on or off (to exercise the engine's fallback)."""
        self.store.table_rows(_table(table).logical_name).tracking = enabled

    def describe_organization(self) -> dict[str, Any]:
        """Return the organization ids and the current time as JSON."""
        return {**asdict(self.organization), "now": format_datetime(self.now())}

    def _represent(self, table: Table, row: StoredRow) -> dict[str, Any]:
        return RowSerializer(self.store, table, Projection(), None).serialize(row)


def _table(name: str) -> Table:
    table = find_table(name)
    if table is None:
        raise ApiError(404, "0x80040217", f"The table '{name}' is not emulated.")
    return table
