"""Mapping configuration in Azure Table Storage: one entity per scope holding the set as JSON."""

from __future__ import annotations

from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient
from pydantic import ValidationError

from sync.errors import StoreError
from sync.models import MappingSet
from sync.store.table_entity import (
    Entity,
    azure_errors,
    check_entity_size,
    put_text,
    read_entity,
    read_text,
)
from sync.store.table_keys import escape_key

_ROW = "mappingset"


class TableMappingStore:  # implements MappingStore
    """Mapping sets in the ``mappings`` table (PartitionKey scope, RowKey ``mappingset``).

    The JSON is split over ``Json``, ``Json_2``... properties when it exceeds what one property
    holds; a set larger than one entity (about 1 MiB) is refused with ``StoreError``.

    Args:
        service: The shared Table Storage client.
        table_prefix: Prepended to the table name (isolates tests and deployments).
    """

    TABLE = "mappings"

    def __init__(self, *, service: TableServiceClient, table_prefix: str = "") -> None:
        self._table: TableClient = service.get_table_client(table_prefix + self.TABLE)

    async def load_mappings(self, scope: str) -> MappingSet | None:
        """The saved mapping set of ``scope``, or None."""
        with azure_errors(f"load mappings of scope {scope!r}"):
            entity = await read_entity(self._table, escape_key(scope), _ROW)
        text = None if entity is None else read_text(entity, "Json")
        if text is None:
            return None
        try:
            return MappingSet.model_validate_json(text)
        except ValidationError as exc:
            raise StoreError(f"the saved mappings of scope {scope!r} are invalid: {exc}") from exc

    async def save_mappings(self, scope: str, mappings: MappingSet) -> None:
        """Replace the mapping set of ``scope``."""
        entity: Entity = {"PartitionKey": escape_key(scope), "RowKey": _ROW, "Scope": scope}
        put_text(entity, "Json", mappings.model_dump_json())
        check_entity_size(entity, f"the mapping set of scope {scope!r}")
        with azure_errors(f"save mappings of scope {scope!r}"):
            await self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    async def delete_mappings(self, scope: str) -> None:
        """Forget the saved mapping set; nothing saved is not an error."""
        with azure_errors(f"delete mappings of scope {scope!r}"):
            await self._table.delete_entity(escape_key(scope), _ROW)
