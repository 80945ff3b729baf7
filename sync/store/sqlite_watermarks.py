"""Watermarks in SQLite, saved with optimistic concurrency on an integer version."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from sync.errors import ConcurrencyError
from sync.models import Side, Watermark
from sync.store.sqlite_database import SqliteDatabase, write_transaction

_INSERT = (
    "INSERT INTO watermarks (scope, mapping, side, modified_at, delta_token, version)"
    " VALUES (?, ?, ?, ?, ?, 1)"
)
_UPDATE = (
    "UPDATE watermarks SET modified_at = ?, delta_token = ?, version = version + 1"
    " WHERE scope = ? AND mapping = ? AND side = ? AND version = ?"
)


class SqliteWatermarkStore:  # implements WatermarkStore
    """Watermarks in the ``watermarks`` table; the ETag is the row's version as text.

    Rows are never deleted, so a version is never reused and an old ETag never matches again.

    Args:
        database: The shared SQLite database.
    """

    def __init__(self, *, database: SqliteDatabase) -> None:
        self._database = database

    async def load_watermark(self, scope: str, mapping: str, side: Side) -> Watermark | None:
        """The saved watermark with its ETag, or None before the first save."""
        row = await self._database.run(
            lambda db: db.execute(
                "SELECT modified_at, delta_token, version FROM watermarks"
                " WHERE scope = ? AND mapping = ? AND side = ?",
                (scope, mapping, side.value),
            ).fetchone(),
            action=f"load watermark of {mapping}/{side}",
        )
        if row is None:
            return None
        modified_at, delta_token, version = row
        return Watermark(
            scope=scope,
            mapping=mapping,
            side=side,
            modified_at=None if modified_at is None else datetime.fromisoformat(modified_at),
            delta_token=delta_token,
            etag=str(version),
        )

    async def save_watermark(self, watermark: Watermark) -> Watermark:
        """Create (``etag`` None) or conditionally update the watermark; return the new ETag.

        Raises:
            ConcurrencyError: The ETag is stale, or None while a watermark already exists.
        """
        action = f"save watermark of {watermark.mapping}/{watermark.side}"
        version = await self._database.run(lambda db: _save(db, watermark), action=action)
        if version is None:
            raise ConcurrencyError(f"{action}: it was saved by someone else first")
        return watermark.model_copy(update={"etag": str(version)})


def _save(db: sqlite3.Connection, watermark: Watermark) -> int | None:
    key = (watermark.scope, watermark.mapping, watermark.side.value)
    modified_at = None if watermark.modified_at is None else watermark.modified_at.isoformat()
    with write_transaction(db):
        if watermark.etag is None:
            try:
                db.execute(_INSERT, (*key, modified_at, watermark.delta_token))
            except sqlite3.IntegrityError:
                return None
            return 1
        if not watermark.etag.isdigit():
            return None  # an ETag this store never handed out
        expected = int(watermark.etag)
        updated = db.execute(_UPDATE, (modified_at, watermark.delta_token, *key, expected))
        return expected + 1 if updated.rowcount == 1 else None
