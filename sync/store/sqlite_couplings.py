"""Couplings in SQLite: one row per coupling, the model as JSON beside its key columns."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from functools import partial

from sync.models import Coupling
from sync.store.sqlite_database import SqliteDatabase, write_transaction

_PAGE_SIZE = 500

_PAGE = (
    "SELECT bc_id, body FROM couplings WHERE scope = ? AND mapping = ? AND bc_id > ?"
    " ORDER BY bc_id LIMIT ?"
)
_SKIPPED_PAGE = (
    "SELECT bc_id, body FROM couplings WHERE scope = ? AND mapping = ? AND bc_id > ?"
    " AND skipped = 1 ORDER BY bc_id LIMIT ?"
)
# REPLACE deletes the old row and inserts a new one, so the latest write has the highest rowid.
_UPSERT = (
    "INSERT OR REPLACE INTO couplings (scope, mapping, bc_id, dataverse_id, skipped, body)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


class SqliteCouplingStore:  # implements CouplingStore
    """Couplings in the ``couplings`` table.

    When (against the contract) two couplings name the same Dataverse id, the one written last
    is found by it, as with the Table Storage adapter.

    Args:
        database: The shared SQLite database.
    """

    def __init__(self, *, database: SqliteDatabase) -> None:
        self._database = database

    async def get_by_bc_id(self, scope: str, mapping: str, bc_id: str) -> Coupling | None:
        """The coupling of one BC record, or None."""
        query = "SELECT body FROM couplings WHERE scope = ? AND mapping = ? AND bc_id = ?"
        return await self._get_one(query, (scope, mapping, bc_id), f"read BC id {bc_id!r}")

    async def get_by_dataverse_id(
        self, scope: str, mapping: str, dataverse_id: str
    ) -> Coupling | None:
        """The coupling of one Dataverse row, or None."""
        query = (
            "SELECT body FROM couplings WHERE scope = ? AND mapping = ? AND dataverse_id = ?"
            " ORDER BY rowid DESC LIMIT 1"
        )
        action = f"read Dataverse id {dataverse_id!r}"
        return await self._get_one(query, (scope, mapping, dataverse_id), action)

    async def load_couplings(
        self, scope: str, mapping: str, *, skipped_only: bool = False
    ) -> AsyncIterator[Coupling]:
        """Stream the couplings of one mapping, 500 rows per query, in BC id order."""
        after = ""
        while True:
            read_page = partial(
                _page, scope=scope, mapping=mapping, after=after, skipped_only=skipped_only
            )
            page = await self._database.run(read_page, action=f"load couplings of {mapping}")
            for bc_id, body in page:
                yield Coupling.model_validate_json(body)
                after = bc_id
            if len(page) < _PAGE_SIZE:
                return

    async def put_couplings(self, couplings: Sequence[Coupling]) -> None:
        """Insert or replace couplings in one transaction."""
        rows = [
            (c.scope, c.mapping, c.bc_id, c.dataverse_id, int(c.skipped), c.model_dump_json())
            for c in couplings
        ]

        def write(db: sqlite3.Connection) -> None:
            with write_transaction(db):
                db.executemany(_UPSERT, rows)

        await self._database.run(write, action=f"save {len(rows)} couplings")

    async def delete_couplings(self, couplings: Sequence[Coupling]) -> None:
        """Remove couplings by BC id; missing ones are ignored."""
        keys = [(c.scope, c.mapping, c.bc_id) for c in couplings]

        def remove(db: sqlite3.Connection) -> None:
            with write_transaction(db):
                db.executemany(
                    "DELETE FROM couplings WHERE scope = ? AND mapping = ? AND bc_id = ?", keys
                )

        await self._database.run(remove, action=f"delete {len(keys)} couplings")

    async def _get_one(
        self, query: str, parameters: tuple[str, ...], action: str
    ) -> Coupling | None:
        row = await self._database.run(
            lambda db: db.execute(query, parameters).fetchone(), action=action
        )
        return None if row is None else Coupling.model_validate_json(row[0])


def _page(
    db: sqlite3.Connection, *, scope: str, mapping: str, after: str, skipped_only: bool
) -> list[tuple[str, str]]:
    query = _SKIPPED_PAGE if skipped_only else _PAGE
    rows: list[tuple[str, str]] = db.execute(query, (scope, mapping, after, _PAGE_SIZE)).fetchall()
    return rows
