"""Watermarks in Azure Table Storage, saved with ETag concurrency."""

from __future__ import annotations

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from sync.errors import ConcurrencyError
from sync.models import Side, Watermark
from sync.store.table_entity import (
    Entity,
    azure_errors,
    etag_of,
    is_missing_table,
    put_text,
    read_datetime,
    read_entity,
    read_text,
)
from sync.store.table_keys import escape_key, join_key


class TableWatermarkStore:  # implements WatermarkStore
    """Watermarks in the ``watermarks`` table (PartitionKey scope, RowKey ``mapping|side``).

    Args:
        service: The shared Table Storage client.
        table_prefix: Prepended to the table name (isolates tests and deployments).
    """

    TABLE = "watermarks"

    def __init__(self, *, service: TableServiceClient, table_prefix: str = "") -> None:
        self._table: TableClient = service.get_table_client(table_prefix + self.TABLE)

    async def load_watermark(self, scope: str, mapping: str, side: Side) -> Watermark | None:
        """The saved watermark with its ETag, or None before the first save."""
        with azure_errors(f"load watermark of {mapping}/{side}"):
            entity = await read_entity(
                self._table, escape_key(scope), join_key(mapping, side.value)
            )
        return None if entity is None else _watermark_from(entity)

    async def save_watermark(self, watermark: Watermark) -> Watermark:
        """Create (``etag`` None) or conditionally replace the watermark; return the new ETag.

        Raises:
            ConcurrencyError: The ETag is stale, or None while a watermark already exists.
        """
        entity = _watermark_entity(watermark)
        action = f"save watermark of {watermark.mapping}/{watermark.side}"
        with azure_errors(action):
            try:
                if watermark.etag is None:
                    metadata = await self._table.create_entity(entity)
                else:
                    metadata = await self._table.update_entity(
                        entity,
                        mode=UpdateMode.REPLACE,
                        etag=watermark.etag,
                        match_condition=MatchConditions.IfNotModified,
                    )
            except ResourceExistsError as exc:
                raise ConcurrencyError(f"{action}: it was saved by someone else first") from exc
            except ResourceNotFoundError as exc:
                if is_missing_table(exc):
                    raise
                raise ConcurrencyError(f"{action}: it no longer exists") from exc
        return watermark.model_copy(update={"etag": etag_of(metadata)})


def _watermark_entity(watermark: Watermark) -> Entity:
    entity: Entity = {
        "PartitionKey": escape_key(watermark.scope),
        "RowKey": join_key(watermark.mapping, watermark.side.value),
        "Scope": watermark.scope,
        "Mapping": watermark.mapping,
        "Side": watermark.side.value,
    }
    if watermark.modified_at is not None:
        entity["ModifiedAt"] = watermark.modified_at
    put_text(entity, "DeltaToken", watermark.delta_token)
    return entity


def _watermark_from(entity: TableEntity) -> Watermark:
    return Watermark(
        scope=entity["Scope"],
        mapping=entity["Mapping"],
        side=Side(entity["Side"]),
        modified_at=read_datetime(entity, "ModifiedAt"),
        delta_token=read_text(entity, "DeltaToken"),
        etag=etag_of(entity.metadata),
    )
