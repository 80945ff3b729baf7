"""The work ledger in Azure Table Storage: stages and item results of fanned-out runs.

Layout: table ``workitems``, one partition per run (``<scope>|<run id>``, escaped), so reading a
run's progress is one partition query. Example entities::

    {"PartitionKey": "contoso:production:5d1c|4be0...", "RowKey": "stage|0003",
     "Stage": 3, "Owner": "a1b2-queue-message-id", "ItemIds": '["03-9f86d081884c7d65"]'}
    {"PartitionKey": "contoso:production:5d1c|4be0...", "RowKey": "item|03-9f86d081884c7d65",
     "ItemId": "03-9f86d081884c7d65", "Stage": 3, "Counters": '{"inserted": 498, ...}'}
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from azure.core.exceptions import ResourceExistsError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from sync.models import RunCounters
from sync.models.work import RunProgress, StageSplit, WorkResult
from sync.store.table_entity import (
    Entity,
    azure_errors,
    put_text,
    read_entity,
    read_int,
    read_str,
    read_text,
)
from sync.store.table_keys import SEPARATOR, escape_key


class TableWorkLedger:  # implements WorkLedger
    """Stages and results in the ``workitems`` table.

    Args:
        service: The shared Table Storage client (not closed by this ledger).
        table_prefix: Prepended to the table name (isolates tests and deployments).
    """

    TABLE = "workitems"

    def __init__(self, *, service: TableServiceClient, table_prefix: str = "") -> None:
        self._service = service
        self.table_name = table_prefix + self.TABLE
        self._table: TableClient = service.get_table_client(self.table_name)

    async def ensure_table(self) -> None:
        """Create the table if it does not exist yet."""
        with azure_errors("create the work ledger table"):
            await self._service.create_table_if_not_exists(self.table_name)

    async def claim_stage(self, scope: str, run_id: str, stage: int, owner: str) -> bool:
        """Claim a stage; True for its first owner and that owner again."""
        entity = {**_stage_key(scope, run_id, stage), "Stage": stage, "Owner": owner}
        with azure_errors(f"claim stage {stage} of run {run_id}"):
            try:
                await self._table.create_entity(entity)
            except ResourceExistsError:
                current = await read_entity(self._table, entity["PartitionKey"], entity["RowKey"])
                return current is not None and current.get("Owner") == owner
        return True

    async def complete_split(
        self,
        scope: str,
        run_id: str,
        stage: int,
        item_ids: Sequence[str],
        *,
        note: str | None = None,
    ) -> None:
        """Record the items of a stage (a merge: the owner stays)."""
        entity: Entity = {**_stage_key(scope, run_id, stage), "Stage": stage, "Note": note or ""}
        put_text(entity, "ItemIds", json.dumps(list(item_ids)))
        with azure_errors(f"record the items of stage {stage} of run {run_id}"):
            await self._table.upsert_entity(entity, mode=UpdateMode.MERGE)

    async def save_result(self, scope: str, run_id: str, result: WorkResult) -> None:
        """Save (or replace) what one item did."""
        entity = {
            **_item_key(scope, run_id, result.item_id),
            "ItemId": result.item_id,
            "Stage": result.stage,
            "Counters": result.counters.model_dump_json(),
        }
        with azure_errors(f"save the result of work item {result.item_id}"):
            await self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    async def has_result(self, scope: str, run_id: str, item_id: str) -> bool:
        """True when the item has a saved result."""
        key = _item_key(scope, run_id, item_id)
        with azure_errors(f"read the result of work item {item_id}"):
            return await read_entity(self._table, key["PartitionKey"], key["RowKey"]) is not None

    async def load_progress(self, scope: str, run_id: str) -> RunProgress:
        """Every stage and result of one run (one partition query)."""
        stages: list[StageSplit] = []
        results: list[WorkResult] = []
        with azure_errors(f"read the progress of run {run_id}"):
            rows = self._table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": _partition(scope, run_id)}
            )
            async for row in rows:
                if str(row["RowKey"]).startswith("stage"):
                    stages.append(_stage(row))
                else:
                    results.append(_result(row))
        stages.sort(key=lambda s: s.stage)
        return RunProgress(stages=tuple(stages), results=tuple(results))


def _partition(scope: str, run_id: str) -> str:
    return escape_key(scope) + SEPARATOR + escape_key(run_id)


def _stage_key(scope: str, run_id: str, stage: int) -> Entity:
    return {"PartitionKey": _partition(scope, run_id), "RowKey": f"stage{SEPARATOR}{stage:04d}"}


def _item_key(scope: str, run_id: str, item_id: str) -> Entity:
    return {
        "PartitionKey": _partition(scope, run_id),
        "RowKey": f"item{SEPARATOR}{escape_key(item_id)}",
    }


def _stage(row: Entity) -> StageSplit:
    item_ids = read_text(row, "ItemIds")
    return StageSplit(
        stage=read_int(row, "Stage"),
        owner=read_str(row, "Owner") or "-",
        item_ids=None if item_ids is None else tuple(json.loads(item_ids)),
        note=read_str(row, "Note") or None,
    )


def _result(row: Entity) -> WorkResult:
    return WorkResult(
        item_id=str(row["ItemId"]),
        stage=read_int(row, "Stage"),
        counters=RunCounters.model_validate_json(str(row.get("Counters") or "{}")),
    )
