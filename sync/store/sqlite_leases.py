"""Leases in SQLite: one row per name, changed only inside ``BEGIN IMMEDIATE`` transactions.

The write lock is taken before the row is read, so of many acquirers (coroutines or processes)
exactly one sees the lease free and takes it. Rows are never deleted: releasing marks the lease
expired and bumps the version, so an old ETag (the version as text) never matches again.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from sync.clock import SystemClock
from sync.errors import ConcurrencyError
from sync.models import Lease
from sync.ports import Clock
from sync.store.sqlite_database import SqliteDatabase, write_transaction

_RELEASED = datetime.min.replace(tzinfo=UTC)
_SET_EXPIRY_IF_HELD = (
    "UPDATE leases SET expires_at = ?, version = version + 1"
    " WHERE name = ? AND owner = ? AND version = ?"
)


class SqliteLeaseStore:  # implements LeaseStore
    """Leases in the ``leases`` table.

    Args:
        database: The shared SQLite database.
        clock: Decides expiry; the system clock unless a test passes its own.
    """

    def __init__(self, *, database: SqliteDatabase, clock: Clock | None = None) -> None:
        self._database = database
        self._clock: Clock = clock or SystemClock()

    async def acquire_lease(self, name: str, owner: str, ttl: timedelta) -> Lease | None:
        """Take the lease if free, expired or already ours; None when someone else holds it."""
        now = self._clock.now()
        version = await self._database.run(
            lambda db: _acquire(db, name, owner, now=now, expires_at=now + ttl),
            action=f"acquire lease {name!r}",
        )
        if version is None:
            return None
        return Lease(name=name, owner=owner, expires_at=now + ttl, etag=str(version))

    async def renew_lease(self, lease: Lease, ttl: timedelta) -> Lease:
        """Extend a held lease by ``ttl`` from now.

        Raises:
            ConcurrencyError: The lease was lost (taken over or released).
        """
        expires_at = self._clock.now() + ttl
        renewed = await self._database.run(
            lambda db: _set_expiry_if_held(db, lease, expires_at),
            action=f"renew lease {lease.name!r}",
        )
        if not renewed:
            raise ConcurrencyError(f"lease {lease.name!r} was lost: someone else holds it")
        version = int(lease.etag) + 1
        return lease.model_copy(update={"expires_at": expires_at, "etag": str(version)})

    async def release_lease(self, lease: Lease) -> None:
        """Give the lease up if still ours; a lost lease is left to its new holder."""
        await self._database.run(
            lambda db: _set_expiry_if_held(db, lease, _RELEASED),
            action=f"release lease {lease.name!r}",
        )


def _acquire(
    db: sqlite3.Connection, name: str, owner: str, *, now: datetime, expires_at: datetime
) -> int | None:
    with write_transaction(db):
        row = db.execute(
            "SELECT owner, expires_at, version FROM leases WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            db.execute(
                "INSERT INTO leases (name, owner, expires_at, version) VALUES (?, ?, ?, 1)",
                (name, owner, expires_at.isoformat()),
            )
            return 1
        holder, held_until, version = row
        if holder != owner and now < datetime.fromisoformat(held_until):
            return None
        db.execute(
            "UPDATE leases SET owner = ?, expires_at = ?, version = ? WHERE name = ?",
            (owner, expires_at.isoformat(), version + 1, name),
        )
        return int(version) + 1


def _set_expiry_if_held(db: sqlite3.Connection, lease: Lease, expires_at: datetime) -> bool:
    if not lease.etag.isdigit():
        return False  # an ETag this store never handed out
    with write_transaction(db):
        cursor = db.execute(
            _SET_EXPIRY_IF_HELD, (expires_at.isoformat(), lease.name, lease.owner, int(lease.etag))
        )
        return cursor.rowcount == 1
