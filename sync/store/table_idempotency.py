"""Idempotency keys in Azure Table Storage: one entity per key, claimed with a conditional write.

Layout: table ``idempotency``, PartitionKey the SHA-256 of the key (a caller's key may hold
characters Table Storage refuses and be long), RowKey ``response``. Example entity::

    {
        "PartitionKey": "9f86d081884c7d65...", "RowKey": "response",
        "Key": "flow-run-08584", "Fingerprint": "5e884898da28...",
        "ExpiresAt": datetime(2024, 5, 2, 8, 0, tzinfo=UTC),
        "Status": 202, "Body": '{"runId": "..."}', "Headers": '{"Location": "..."}',
    }
"""

from __future__ import annotations

import hashlib
import json

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from sync.clock import SystemClock
from sync.models.idempotency import StoredResponse
from sync.ports import Clock
from sync.store.table_entity import (
    Entity,
    azure_errors,
    etag_of,
    put_text,
    read_entity,
    read_int,
    read_text,
    require_datetime,
)

_ROW = "response"
# A key can be released between our failed create and our read; try again that often.
_ATTEMPTS = 3


class TableIdempotencyStore:  # implements IdempotencyStore
    """Stored responses in the ``idempotency`` table.

    Args:
        service: The shared Table Storage client (not closed by this store).
        table_prefix: Prepended to the table name (isolates tests and deployments).
        clock: Decides expiry; the system clock unless a test passes its own.
    """

    TABLE = "idempotency"

    def __init__(
        self, *, service: TableServiceClient, table_prefix: str = "", clock: Clock | None = None
    ) -> None:
        self._service = service
        self.table_name = table_prefix + self.TABLE
        self._table: TableClient = service.get_table_client(self.table_name)
        self._clock: Clock = clock or SystemClock()

    async def ensure_table(self) -> None:
        """Create the table if it does not exist yet."""
        with azure_errors("create the idempotency table"):
            await self._service.create_table_if_not_exists(self.table_name)

    async def reserve_key(self, record: StoredResponse) -> StoredResponse | None:
        """Reserve the key; None when reserved now, else the live record holding it."""
        entity = _entity(record)
        with azure_errors("reserve an idempotency key"):
            for _ in range(_ATTEMPTS):
                try:
                    await self._table.create_entity(entity)
                except ResourceExistsError:
                    pass
                else:
                    return None
                current = await read_entity(self._table, entity["PartitionKey"], _ROW)
                if current is None:
                    continue
                stored = _record(current)
                if not stored.is_expired(self._clock.now()):
                    return stored
                try:
                    await self._table.update_entity(
                        entity,
                        mode=UpdateMode.REPLACE,
                        etag=etag_of(current.metadata),
                        match_condition=MatchConditions.IfNotModified,
                    )
                except ResourceModifiedError:
                    continue  # someone else took the expired key over first: read theirs
                return None
        # Lost every race: the key is busy, which the caller reports like a running request.
        return record.model_copy(update={"status": None})

    async def complete_key(self, record: StoredResponse) -> None:
        """Store the answer of a reserved key."""
        with azure_errors("store an idempotent response"):
            await self._table.upsert_entity(_entity(record), mode=UpdateMode.REPLACE)

    async def release_key(self, key: str) -> None:
        """Forget a key; forgetting an unknown key is not an error."""
        with azure_errors("release an idempotency key"):
            await self._table.delete_entity(_partition(key), _ROW)

    async def purge_expired(self) -> int:
        """Delete every expired key; returns how many."""
        deleted = 0
        with azure_errors("purge expired idempotency keys"):
            expired = self._table.query_entities(
                "ExpiresAt lt @now",
                parameters={"now": self._clock.now()},
                select=["PartitionKey", "RowKey"],
            )
            async for entity in expired:
                await self._table.delete_entity(entity["PartitionKey"], entity["RowKey"])
                deleted += 1
        return deleted


def _partition(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _entity(record: StoredResponse) -> Entity:
    entity: Entity = {
        "PartitionKey": _partition(record.key),
        "RowKey": _ROW,
        "Key": record.key,
        "Fingerprint": record.fingerprint,
        "ExpiresAt": record.expires_at,
        "Headers": json.dumps(record.headers),
    }
    if record.status is not None:
        entity["Status"] = record.status
    put_text(entity, "Body", record.body)
    return entity


def _record(entity: Entity) -> StoredResponse:
    status = read_int(entity, "Status", default=0)
    return StoredResponse(
        key=str(entity["Key"]),
        fingerprint=str(entity["Fingerprint"]),
        expires_at=require_datetime(entity, "ExpiresAt"),
        status=status or None,
        body=read_text(entity, "Body") or "",
        headers=json.loads(str(entity.get("Headers") or "{}")),
    )
