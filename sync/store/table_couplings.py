"""Couplings in Azure Table Storage: one partition per scope and mapping, two entities each.

The coupling entity (RowKey ``bc|<bc id>``) holds everything; the index entity (RowKey
``dv|<dataverse id>``) points to the BC id, so finding a coupling by Dataverse id is two point
reads. Both are written in one transaction. A reader trusts an index entity only when the
coupling it points to still names that Dataverse id, so an index left behind by a replaced
coupling is harmless.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from azure.data.tables import TableEntity
from azure.data.tables.aio import TableClient, TableServiceClient

from sync.models import Coupling, JsonScalar, SyncResult
from sync.store.table_batch import (
    Operation,
    delete,
    pack_transactions,
    replace,
    submit_transactions,
)
from sync.store.table_entity import (
    Entity,
    azure_errors,
    check_entity_size,
    int_value,
    put_text,
    read_datetime,
    read_entity,
    read_int,
    read_str,
    read_text,
)
from sync.store.table_keys import join_key

_BC = "bc"
_DATAVERSE = "dv"
_PAGE_SIZE = 1000
_COUPLINGS_QUERY = "PartitionKey eq @pk and RowKey ge @first and RowKey lt @after"


def coupling_partition(scope: str, mapping: str) -> str:
    """The PartitionKey of one mapping's couplings in one scope."""
    return join_key(scope, mapping)


class TableCouplingStore:  # implements CouplingStore
    """Couplings in the ``couplings`` table.

    Args:
        service: The shared Table Storage client.
        table_prefix: Prepended to the table name (isolates tests and deployments).
        concurrency: Transactions in flight at once during bulk writes.
    """

    TABLE = "couplings"

    def __init__(
        self, *, service: TableServiceClient, table_prefix: str = "", concurrency: int = 8
    ) -> None:
        self._table: TableClient = service.get_table_client(table_prefix + self.TABLE)
        self._concurrency = concurrency

    async def get_by_bc_id(self, scope: str, mapping: str, bc_id: str) -> Coupling | None:
        """The coupling of one BC record, or None."""
        partition = coupling_partition(scope, mapping)
        with azure_errors(f"read coupling of BC id {bc_id!r} in {mapping}"):
            entity = await read_entity(self._table, partition, join_key(_BC, bc_id))
        return None if entity is None else _coupling_from(entity)

    async def get_by_dataverse_id(
        self, scope: str, mapping: str, dataverse_id: str
    ) -> Coupling | None:
        """The coupling of one Dataverse row, or None."""
        partition = coupling_partition(scope, mapping)
        with azure_errors(f"read coupling of Dataverse id {dataverse_id!r} in {mapping}"):
            index = await read_entity(self._table, partition, join_key(_DATAVERSE, dataverse_id))
            if index is None:
                return None
            entity = await read_entity(self._table, partition, join_key(_BC, index["BcId"]))
        if entity is None:
            return None
        coupling = _coupling_from(entity)
        return coupling if coupling.dataverse_id == dataverse_id else None

    async def load_couplings(
        self, scope: str, mapping: str, *, skipped_only: bool = False
    ) -> AsyncIterator[Coupling]:
        """Stream the couplings of one mapping, a page of 1,000 at a time."""
        query = _COUPLINGS_QUERY + (" and Skipped eq true" if skipped_only else "")
        parameters: dict[str, Any] = {
            "pk": coupling_partition(scope, mapping),
            "first": _BC + "|",
            "after": _BC + "}",  # "}" follows "|", so the range is every "bc|..." key
        }
        with azure_errors(f"load couplings of {mapping}"):
            pages = self._table.query_entities(
                query, parameters=parameters, results_per_page=_PAGE_SIZE
            )
            async for entity in pages:
                yield _coupling_from(entity)

    async def put_couplings(self, couplings: Sequence[Coupling]) -> None:
        """Insert or replace couplings, both entities of each in one transaction."""
        transactions = pack_transactions(_put_units(couplings))
        await submit_transactions(
            self._table,
            transactions,
            action=f"save {len(couplings)} couplings",
            concurrency=self._concurrency,
        )

    async def delete_couplings(self, couplings: Sequence[Coupling]) -> None:
        """Remove couplings and their index entities; missing ones are ignored."""
        seen: set[tuple[str, str]] = set()
        units: list[list[Operation]] = []
        for coupling in couplings:
            partition = coupling_partition(coupling.scope, coupling.mapping)
            keys = [join_key(_BC, coupling.bc_id), join_key(_DATAVERSE, coupling.dataverse_id)]
            fresh = [key for key in keys if (partition, key) not in seen]
            seen.update((partition, key) for key in fresh)
            units.append([delete(partition, key) for key in fresh])
        await submit_transactions(
            self._table,
            pack_transactions(units),
            action=f"delete {len(couplings)} couplings",
            concurrency=self._concurrency,
        )


def _put_units(couplings: Iterable[Coupling]) -> list[list[Operation]]:
    # One call may name a BC id twice: the later coupling wins, as if put one after the other.
    # A transaction must not touch one row twice, so the same goes for a Dataverse id's index.
    latest: dict[tuple[str, str], Coupling] = {}
    for coupling in couplings:
        latest[(coupling_partition(coupling.scope, coupling.mapping), coupling.bc_id)] = coupling
    index_owner = {(key[0], c.dataverse_id): c.bc_id for key, c in latest.items()}
    units: list[list[Operation]] = []
    for (partition, bc_id), coupling in latest.items():
        unit = [replace(_coupling_entity(partition, coupling))]
        if index_owner[(partition, coupling.dataverse_id)] == bc_id:
            unit.append(replace(_index_entity(partition, coupling)))
        units.append(unit)
    return units


def _coupling_entity(partition: str, coupling: Coupling) -> Entity:
    entity: Entity = {
        "PartitionKey": partition,
        "RowKey": join_key(_BC, coupling.bc_id),
        "Scope": coupling.scope,
        "Mapping": coupling.mapping,
        "BcId": coupling.bc_id,
        "DataverseId": coupling.dataverse_id,
        "BcVersion": coupling.bc_version,
        "DataverseVersion": coupling.dataverse_version,
        "BcModifiedAt": coupling.bc_modified_at,
        "DataverseModifiedAt": coupling.dataverse_modified_at,
        "LastResult": coupling.last_result.value,
        "LastSyncedAt": coupling.last_synced_at,
        "FailureCount": int_value(coupling.failure_count),
        "Skipped": coupling.skipped,
    }
    put_text(entity, "BaseBc", _compact_json(coupling.base_bc))
    put_text(entity, "BaseDataverse", _compact_json(coupling.base_dataverse))
    put_text(entity, "LastError", coupling.last_error)
    stored = {name: value for name, value in entity.items() if value is not None}
    return check_entity_size(stored, f"coupling of BC id {coupling.bc_id!r}")


def _compact_json(values: dict[str, JsonScalar]) -> str:
    # Unescaped non-ASCII text takes a sixth of the room \uXXXX escapes take in the entity.
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def _index_entity(partition: str, coupling: Coupling) -> Entity:
    return {
        "PartitionKey": partition,
        "RowKey": join_key(_DATAVERSE, coupling.dataverse_id),
        "BcId": coupling.bc_id,
    }


def _coupling_from(entity: TableEntity | Entity) -> Coupling:
    return Coupling(
        scope=entity["Scope"],
        mapping=entity["Mapping"],
        bc_id=entity["BcId"],
        dataverse_id=entity["DataverseId"],
        base_bc=json.loads(read_text(entity, "BaseBc") or "{}"),
        base_dataverse=json.loads(read_text(entity, "BaseDataverse") or "{}"),
        bc_version=read_str(entity, "BcVersion"),
        dataverse_version=read_str(entity, "DataverseVersion"),
        bc_modified_at=read_datetime(entity, "BcModifiedAt"),
        dataverse_modified_at=read_datetime(entity, "DataverseModifiedAt"),
        last_result=SyncResult(entity.get("LastResult", SyncResult.NONE.value)),
        last_synced_at=read_datetime(entity, "LastSyncedAt"),
        failure_count=read_int(entity, "FailureCount"),
        skipped=bool(entity.get("Skipped", False)),
        last_error=read_text(entity, "LastError"),
    )
