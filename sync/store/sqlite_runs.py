"""Run history and per-record errors in SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sync.models import RecordError, Run
from sync.store.sqlite_database import SqliteDatabase, write_transaction

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SqliteRunStore:  # implements RunStore
    """Runs in the ``runs`` table, errors in ``runerrors`` (ordered by an autoincrement key).

    Args:
        database: The shared SQLite database.
    """

    def __init__(self, *, database: SqliteDatabase) -> None:
        self._database = database

    async def save_run(self, run: Run) -> None:
        """Create or replace a run."""
        started_us = (run.started_at - _EPOCH) // timedelta(microseconds=1)
        row = (run.scope, run.id, started_us, run.model_dump_json())
        await self._database.run(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO runs (scope, id, started_us, body) VALUES (?, ?, ?, ?)",
                row,
            ),
            action=f"save run {run.id!r}",
        )

    async def get_run(self, scope: str, run_id: str) -> Run | None:
        """One run, or None."""
        row = await self._database.run(
            lambda db: db.execute(
                "SELECT body FROM runs WHERE scope = ? AND id = ?", (scope, run_id)
            ).fetchone(),
            action=f"read run {run_id!r}",
        )
        return None if row is None else Run.model_validate_json(row[0])

    async def list_runs(self, scope: str, *, limit: int = 50) -> list[Run]:
        """The latest ``limit`` runs of a scope, newest first."""
        rows = await self._database.run(
            lambda db: db.execute(
                "SELECT body FROM runs WHERE scope = ? ORDER BY started_us DESC, id LIMIT ?",
                (scope, max(limit, 0)),
            ).fetchall(),
            action=f"list runs of scope {scope!r}",
        )
        return [Run.model_validate_json(body) for (body,) in rows]

    async def add_errors(self, scope: str, errors: Sequence[RecordError]) -> None:
        """Append per-record errors in one transaction."""
        rows = [(scope, error.run_id, error.model_dump_json()) for error in errors]

        def insert(db: sqlite3.Connection) -> None:
            with write_transaction(db):
                db.executemany("INSERT INTO runerrors (scope, run_id, body) VALUES (?, ?, ?)", rows)

        await self._database.run(insert, action=f"add {len(rows)} run errors")

    async def list_errors(self, scope: str, run_id: str) -> list[RecordError]:
        """Every error of one run, in the order they were added."""
        rows = await self._database.run(
            lambda db: db.execute(
                "SELECT body FROM runerrors WHERE scope = ? AND run_id = ? ORDER BY sequence",
                (scope, run_id),
            ).fetchall(),
            action=f"list errors of run {run_id!r}",
        )
        return [RecordError.model_validate_json(body) for (body,) in rows]
