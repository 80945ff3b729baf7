"""One SQLite connection, owned by one worker thread, and the schema of the state store.

Every store call runs as one job on a single dedicated thread. The calls themselves are fast,
but a write can wait up to ``busy_timeout`` for another process that holds SQLite's write lock,
and that wait must not stall the event loop. One thread also means the connection is never
shared between threads and jobs never interleave, so a job is atomic towards other coroutines;
``BEGIN IMMEDIATE`` makes it atomic towards other processes too.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sync.errors import StoreError

T = TypeVar("T")

_BUSY_TIMEOUT_MS = 10_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS mappings (
    scope TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS couplings (
    scope TEXT NOT NULL,
    mapping TEXT NOT NULL,
    bc_id TEXT NOT NULL,
    dataverse_id TEXT NOT NULL,
    skipped INTEGER NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (scope, mapping, bc_id)
);
CREATE INDEX IF NOT EXISTS couplings_by_dataverse_id
    ON couplings (scope, mapping, dataverse_id);
CREATE TABLE IF NOT EXISTS watermarks (
    scope TEXT NOT NULL,
    mapping TEXT NOT NULL,
    side TEXT NOT NULL,
    modified_at TEXT,
    delta_token TEXT,
    version INTEGER NOT NULL,
    PRIMARY KEY (scope, mapping, side)
);
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    scope TEXT NOT NULL,
    id TEXT NOT NULL,
    started_us INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (scope, id)
);
CREATE INDEX IF NOT EXISTS runs_newest_first ON runs (scope, started_us DESC, id);
CREATE TABLE IF NOT EXISTS runerrors (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    scope TEXT NOT NULL,
    run_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runerrors_by_run ON runerrors (scope, run_id, sequence);
"""
"""Every table of the store; applied by ``ensure_tables`` and safe to apply again."""


class SqliteDatabase:
    """Runs jobs against one SQLite file on one worker thread.

    Args:
        path: The database file (created if missing), or ``":memory:"``.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        self._connection: sqlite3.Connection | None = None
        self._closed = False

    async def run(self, job: Callable[[sqlite3.Connection], T], *, action: str) -> T:
        """Run ``job`` with the connection on the worker thread and return its result.

        Raises:
            StoreError: SQLite failed (including a write lock held too long by another process).
        """
        if self._closed:
            raise StoreError(f"{action}: the store {self.path} is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, self._run_job, job, action)

    async def close(self) -> None:
        """Close the connection and stop the worker thread; closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._worker, self._close_connection)
        self._worker.shutdown(wait=False)

    def _run_job(self, job: Callable[[sqlite3.Connection], T], action: str) -> T:
        try:
            if self._connection is None:
                self._connection = _connect(self.path)
            return job(self._connection)
        except sqlite3.Error as exc:
            raise StoreError(f"{action}: SQLite failed on {self.path}: {exc}") from exc

    def _close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _connect(path: str) -> sqlite3.Connection:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)  # the default is .sync/state.db
    # isolation_level=None: no implicit transactions; write_transaction() opens them explicitly.
    connection = sqlite3.connect(path, isolation_level=None, timeout=_BUSY_TIMEOUT_MS / 1000)
    connection.execute("PRAGMA journal_mode=WAL")
    # synchronous stays FULL: a coupling lost in a power cut could mean a duplicate record.
    connection.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    return connection


@contextmanager
def write_transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: takes the write lock first, rolls back on any error."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
