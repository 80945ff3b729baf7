"""The state store in one SQLite file: the embedded default for the CLI and the demo.

Same contract as the Table Storage store, on the standard library alone::

    async with SqliteStateStore("state.db") as store:
        await store.ensure_tables()
        await store.watermarks.load_watermark(scope, "CUSTOMER", Side.BC)

The database runs in WAL mode on one connection owned by one worker thread (see
``sqlite_database``). Several processes may share the file: writes take SQLite's write lock
with ``BEGIN IMMEDIATE``, so leases stay exclusive across processes too. ETags are integer row
versions rendered as text.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from sync.ports import (
    Clock,
    CouplingStore,
    LeaseStore,
    MappingStore,
    RunStore,
    WatermarkStore,
)
from sync.store.sqlite_couplings import SqliteCouplingStore
from sync.store.sqlite_database import SCHEMA, SqliteDatabase
from sync.store.sqlite_leases import SqliteLeaseStore
from sync.store.sqlite_mappings import SqliteMappingStore
from sync.store.sqlite_runs import SqliteRunStore
from sync.store.sqlite_watermarks import SqliteWatermarkStore


class SqliteStateStore:
    """All state stores over one SQLite file.

    Args:
        path: The database file (created if missing).
        clock: Decides lease expiry; the system clock unless a test passes its own.
    """

    def __init__(self, path: Path | str, *, clock: Clock | None = None) -> None:
        self._database = SqliteDatabase(path)
        self.mappings: MappingStore = SqliteMappingStore(database=self._database)
        self.couplings: CouplingStore = SqliteCouplingStore(database=self._database)
        self.watermarks: WatermarkStore = SqliteWatermarkStore(database=self._database)
        self.leases: LeaseStore = SqliteLeaseStore(database=self._database, clock=clock)
        self.runs: RunStore = SqliteRunStore(database=self._database)

    async def ensure_tables(self) -> None:
        """Create the tables and indexes that do not exist yet (safe on every start)."""
        await self._database.run(
            lambda db: db.executescript(SCHEMA), action="create the state tables"
        )

    async def close(self) -> None:
        """Close the database; closing twice is harmless."""
        await self._database.close()

    async def __aenter__(self) -> SqliteStateStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
