"""Run history and per-record errors in Azure Table Storage.

A run lives in its scope's partition under ``at|<inverted start>|<run id>``, so that a plain
partition scan lists the newest runs first. A small pointer entity ``id|<run id>`` names that
RowKey, so reading one run by id is two point reads. Both are written in one transaction.
Errors go to their own table, one partition per run, with RowKeys that sort in the order the
errors were added.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from azure.data.tables import TableEntity
from azure.data.tables.aio import TableClient, TableServiceClient

from sync.models import ErrorClass, RecordError, Run, RunCounters, RunMode, RunStatus, Side
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
    read_text,
    require_datetime,
)
from sync.store.table_keys import escape_key, join_key

_BY_ID = "id"
_BY_START = "at"
_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
_NEWEST_FIRST_QUERY = "PartitionKey eq @pk and RowKey ge @first and RowKey lt @after"


def inverted_start(started_at: datetime) -> str:
    """A fixed-width key that sorts later start times first (18 digits of microseconds)."""
    micros = (started_at - _EPOCH) // timedelta(microseconds=1)
    return f"{10**18 - 1 - micros:018d}"


class TableRunStore:  # implements RunStore
    """Runs in the ``runs`` table and per-record errors in the ``runerrors`` table.

    Args:
        service: The shared Table Storage client.
        table_prefix: Prepended to the table names (isolates tests and deployments).
    """

    RUNS_TABLE = "runs"
    ERRORS_TABLE = "runerrors"

    def __init__(self, *, service: TableServiceClient, table_prefix: str = "") -> None:
        self._runs: TableClient = service.get_table_client(table_prefix + self.RUNS_TABLE)
        self._errors: TableClient = service.get_table_client(table_prefix + self.ERRORS_TABLE)
        self._last_sequence = 0

    async def save_run(self, run: Run) -> None:
        """Create or replace a run (both of its entities, in one transaction)."""
        partition = escape_key(run.scope)
        listed_as = join_key(_BY_START, inverted_start(run.started_at), run.id)
        pointer = {"PartitionKey": partition, "RowKey": join_key(_BY_ID, run.id)}
        with azure_errors(f"save run {run.id!r}"):
            previous = await read_entity(self._runs, partition, pointer["RowKey"])
            operations: list[Operation] = [
                replace(_run_entity(partition, listed_as, run)),
                replace(pointer | {"ListedAs": listed_as}),
            ]
            if previous is not None and previous["ListedAs"] != listed_as:
                operations.append(delete(partition, previous["ListedAs"]))  # start time moved
            await self._runs.submit_transaction(operations)

    async def get_run(self, scope: str, run_id: str) -> Run | None:
        """One run, or None."""
        partition = escape_key(scope)
        with azure_errors(f"read run {run_id!r}"):
            pointer = await read_entity(self._runs, partition, join_key(_BY_ID, run_id))
            if pointer is None:
                return None
            entity = await read_entity(self._runs, partition, pointer["ListedAs"])
        return None if entity is None else _run_from(entity)

    async def list_runs(self, scope: str, *, limit: int = 50) -> list[Run]:
        """The latest ``limit`` runs of a scope, newest first."""
        if limit <= 0:
            return []
        parameters = {"pk": escape_key(scope), "first": _BY_START + "|", "after": _BY_START + "}"}
        runs: list[Run] = []
        with azure_errors(f"list runs of scope {scope!r}"):
            entities = self._runs.query_entities(
                _NEWEST_FIRST_QUERY, parameters=parameters, results_per_page=min(limit, 1000)
            )
            async for entity in entities:
                runs.append(_run_from(entity))
                if len(runs) == limit:
                    break
        return runs

    async def add_errors(self, scope: str, errors: Sequence[RecordError]) -> None:
        """Append per-record errors; each run's errors keep the order they were added in."""
        units = [[replace(self._error_entity(scope, error))] for error in errors]
        await submit_transactions(
            self._errors, pack_transactions(units), action=f"add {len(errors)} run errors"
        )

    async def list_errors(self, scope: str, run_id: str) -> list[RecordError]:
        """Every error of one run, in the order they were added."""
        with azure_errors(f"list errors of run {run_id!r}"):
            entities = self._errors.query_entities(
                "PartitionKey eq @pk",
                parameters={"pk": join_key(scope, run_id)},
                results_per_page=1000,
            )
            return [_error_from(entity) async for entity in entities]

    def _error_entity(self, scope: str, error: RecordError) -> Entity:
        entity: Entity = {
            "PartitionKey": join_key(scope, error.run_id),
            "RowKey": self._next_sequence(),
            "RunId": error.run_id,
            "Mapping": error.mapping,
            "Side": error.side.value,
            "RecordId": error.record_id,
            "ErrorClass": error.error_class.value,
            "Code": error.code,
            "Attempt": int_value(error.attempt),
            "OccurredAt": error.occurred_at,
        }
        put_text(entity, "Message", error.message)
        return check_entity_size(entity, f"error of record {error.record_id!r}")

    def _next_sequence(self) -> str:
        # Nanoseconds since 1970 order the errors without a read; kept strictly increasing
        # within this process, and a random tail keeps two writers from ever colliding.
        self._last_sequence = max(time.time_ns(), self._last_sequence + 1)
        return f"{self._last_sequence:020d}-{uuid.uuid4().hex[:8]}"


def _run_entity(partition: str, row_key: str, run: Run) -> Entity:
    entity: Entity = {
        "PartitionKey": partition,
        "RowKey": row_key,
        "RunId": run.id,
        "Scope": run.scope,
        "Mode": run.mode.value,
        "Mappings": json.dumps(list(run.mappings)),
        "DryRun": run.dry_run,
        "Status": run.status.value,
        "StartedAt": run.started_at,
        "Counters": run.counters.model_dump_json(),
    }
    if run.finished_at is not None:
        entity["FinishedAt"] = run.finished_at
    put_text(entity, "Message", run.message)
    return check_entity_size(entity, f"run {run.id!r}")


def _run_from(entity: TableEntity) -> Run:
    return Run(
        id=entity["RunId"],
        scope=entity["Scope"],
        mode=RunMode(entity["Mode"]),
        mappings=tuple(json.loads(entity.get("Mappings", "[]"))),
        dry_run=bool(entity.get("DryRun", False)),
        status=RunStatus(entity["Status"]),
        started_at=require_datetime(entity, "StartedAt"),
        finished_at=read_datetime(entity, "FinishedAt"),
        counters=RunCounters.model_validate_json(entity.get("Counters", "{}")),
        message=read_text(entity, "Message"),
    )


def _error_from(entity: TableEntity) -> RecordError:
    return RecordError(
        run_id=entity["RunId"],
        mapping=entity["Mapping"],
        side=Side(entity["Side"]),
        record_id=entity["RecordId"],
        error_class=ErrorClass(entity["ErrorClass"]),
        code=entity.get("Code", ""),
        message=read_text(entity, "Message") or "",
        attempt=read_int(entity, "Attempt", default=1),
        occurred_at=require_datetime(entity, "OccurredAt"),
    )
