"""Leases in Azure Table Storage: one entity per name, every change conditional on its ETag.

Acquiring is "create if absent"; an existing lease that expired (or that the same owner holds)
is taken over by a replace conditional on the ETag that was read. Table Storage lets exactly
one of several concurrent creates or conditional replaces succeed, so exactly one caller wins.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from sync.clock import SystemClock
from sync.errors import ConcurrencyError, StoreError
from sync.models import Lease
from sync.ports import Clock
from sync.store.table_entity import (
    Entity,
    azure_errors,
    etag_of,
    is_missing_table,
    read_datetime,
    read_entity,
)
from sync.store.table_keys import escape_key

_PARTITION = "lease"
# A lease can vanish (released) between our failed create and our read; try again that often.
_ATTEMPTS = 3


class TableLeaseStore:  # implements LeaseStore
    """Leases in the ``leases`` table (PartitionKey ``lease``, RowKey the escaped name).

    Args:
        service: The shared Table Storage client.
        table_prefix: Prepended to the table name (isolates tests and deployments).
        clock: Decides expiry; the system clock unless a test passes its own.
    """

    TABLE = "leases"

    def __init__(
        self, *, service: TableServiceClient, table_prefix: str = "", clock: Clock | None = None
    ) -> None:
        self._table: TableClient = service.get_table_client(table_prefix + self.TABLE)
        self._clock: Clock = clock or SystemClock()

    async def acquire_lease(self, name: str, owner: str, ttl: timedelta) -> Lease | None:
        """Take the lease if free, expired or already ours; None when someone else holds it."""
        with azure_errors(f"acquire lease {name!r}"):
            for _ in range(_ATTEMPTS):
                expires_at = self._clock.now() + ttl
                created = await self._create(name, owner, expires_at)
                if created is not None:
                    return created
                current = await read_entity(self._table, _PARTITION, escape_key(name))
                if current is None:
                    continue
                held_until = read_datetime(current, "ExpiresAt")
                if held_until is None:
                    raise StoreError(f"lease {name!r} has no expiry; remove it by hand")
                if current["Owner"] != owner and self._clock.now() < held_until:
                    return None
                try:
                    return await self._replace(name, owner, expires_at, etag_of(current.metadata))
                except ResourceModifiedError:
                    return None  # someone else took it over first
                except ResourceNotFoundError as exc:
                    if is_missing_table(exc):
                        raise
        return None

    async def renew_lease(self, lease: Lease, ttl: timedelta) -> Lease:
        """Extend a held lease by ``ttl`` from now.

        Raises:
            ConcurrencyError: The lease was lost (taken over or gone).
        """
        with azure_errors(f"renew lease {lease.name!r}"):
            try:
                return await self._replace(
                    lease.name, lease.owner, self._clock.now() + ttl, lease.etag
                )
            except ResourceNotFoundError as exc:
                if is_missing_table(exc):
                    raise
                raise ConcurrencyError(f"lease {lease.name!r} was lost: it is gone") from exc

    async def release_lease(self, lease: Lease) -> None:
        """Delete the lease if still ours; a lost lease is left to its new holder."""
        with azure_errors(f"release lease {lease.name!r}"):
            try:
                await self._table.delete_entity(
                    _PARTITION,
                    escape_key(lease.name),
                    etag=lease.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
            except ResourceModifiedError:
                return  # already lost: someone else holds it now

    async def _create(self, name: str, owner: str, expires_at: datetime) -> Lease | None:
        try:
            metadata = await self._table.create_entity(_lease_entity(name, owner, expires_at))
        except ResourceExistsError:
            return None
        return Lease(name=name, owner=owner, expires_at=expires_at, etag=etag_of(metadata))

    async def _replace(self, name: str, owner: str, expires_at: datetime, etag: str) -> Lease:
        metadata = await self._table.update_entity(
            _lease_entity(name, owner, expires_at),
            mode=UpdateMode.REPLACE,
            etag=etag,
            match_condition=MatchConditions.IfNotModified,
        )
        return Lease(name=name, owner=owner, expires_at=expires_at, etag=etag_of(metadata))


def _lease_entity(name: str, owner: str, expires_at: datetime) -> Entity:
    return {
        "PartitionKey": _PARTITION,
        "RowKey": escape_key(name),
        "Name": name,
        "Owner": owner,
        "ExpiresAt": expires_at,
    }
