"""Record-level work: sync one record, couple two, uncouple, restore or retry skipped records.

Each call is a run of its own (mode ``record``, ``couple`` or ``uncouple``) with counters and
per-record errors like any other, holds the mapping's lease, and never moves a watermark.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager

from sync.engine.operation import Operation, OperationKind
from sync.engine.page import PageApplier
from sync.engine.planner import plan_change
from sync.engine.recording import RecordingContext, bc_base_fields
from sync.engine.run_parts import RunnerParts, RunResult, finish_run, start_run
from sync.engine.session import MappingSession, mapping_session
from sync.errors import SyncError
from sync.mappings.configuration import load_configuration
from sync.models import (
    Coupling,
    Direction,
    MappingSet,
    Record,
    RunCounters,
    RunMode,
    Side,
    TableMapping,
)


class RecordNotFoundError(SyncError):
    """The record does not exist on its side (and is not coupled)."""


class AlreadyCoupledError(SyncError):
    """One of the two records is coupled to another record already."""


class RecordOperations:
    """Record-level modes over the same parts as the ``Runner``."""

    def __init__(self, parts: RunnerParts) -> None:
        self._parts = parts

    async def sync_record(
        self, mapping: str, side: Side, record_id: str, *, dry_run: bool = False
    ) -> RunResult:
        """Sync one record now: create its counterpart if it has none, else merge the pair.

        Raises:
            KeyError: No mapping has that name.
            RecordNotFoundError: The record does not exist and is not coupled.
            AlreadyRunningError: The mapping is running.
        """
        configuration, table = await self._mapping(mapping)
        result = await start_run(self._parts, RunMode.RECORD, [table.name], dry_run=dry_run)
        async with self._session(configuration, table, result, create_missing=True) as session:
            record = await self._read_one(table, side, record_id)
            coupling = session.index.find(side, record_id)
            if record is None and coupling is None:
                raise RecordNotFoundError(f"{side} record {record_id} not found in {table.name}")
            counterpart = await self._counterpart(table, side, coupling)
            operation = plan_change(
                session.context,
                source=side,
                record=record or Record(id=record_id, deleted=True),
                coupling=coupling,
                counterpart=counterpart,
            )
            await self._apply(session, result, [operation])
        return await finish_run(self._parts, result, [])

    async def couple(
        self,
        mapping: str,
        bc_id: str,
        dataverse_id: str,
        *,
        dry_run: bool = False,
    ) -> RunResult:
        """Couple a BC record and a Dataverse row, then merge them (the mapping's main side wins).

        Raises:
            KeyError: No mapping has that name.
            RecordNotFoundError: One of the records does not exist.
            AlreadyCoupledError: One of them is coupled to another record.
        """
        configuration, table = await self._mapping(mapping)
        result = await start_run(self._parts, RunMode.COUPLE, [table.name], dry_run=dry_run)
        async with self._session(configuration, table, result, create_missing=False) as session:
            bc = await self._read_one(table, Side.BC, bc_id)
            dataverse = await self._read_one(table, Side.DATAVERSE, dataverse_id)
            if bc is None or dataverse is None:
                missing = f"BC record {bc_id}" if bc is None else f"Dataverse row {dataverse_id}"
                raise RecordNotFoundError(f"{missing} not found in {table.name}")
            _refuse_other_pairs(session, table, bc_id, dataverse_id)
            source = Side.BC if table.direction.includes(Direction.TO_DATAVERSE) else Side.DATAVERSE
            record, match = (bc, dataverse) if source is Side.BC else (dataverse, bc)
            operation = plan_change(
                session.context,
                source=source,
                record=record,
                coupling=None,
                counterpart=None,
                match=match,
            )
            await self._apply(session, result, [operation])
        return await finish_run(self._parts, result, [])

    async def uncouple(
        self,
        mapping: str,
        *,
        bc_ids: Sequence[str] = (),
        dataverse_ids: Sequence[str] = (),
        dry_run: bool = False,
    ) -> RunResult:
        """Remove couplings by either id; the records themselves stay as they are.

        Raises:
            KeyError: No mapping has that name.
        """
        _, table = await self._mapping(mapping)
        result = await start_run(self._parts, RunMode.UNCOUPLE, [table.name], dry_run=dry_run)
        found = await self._couplings(table, bc_ids, dataverse_ids)
        if dry_run:
            result.plan.extend(_uncoupling(table, coupling) for coupling in found)
        else:
            await self._parts.stores.couplings.delete_couplings(found)
            result.count(table.name, RunCounters(uncoupled=len(found)))
        return await finish_run(self._parts, result, [])

    async def restore(self, mapping: str, bc_ids: Sequence[str], *, retry: bool) -> RunResult:
        """Clear the "skipped" mark of couplings; with ``retry`` also sync each record now.

        Raises:
            KeyError: No mapping has that name.
        """
        _, table = await self._mapping(mapping)
        found = await self._couplings(table, bc_ids, ())
        await self._parts.stores.couplings.put_couplings([c.restored() for c in found])
        if retry and found:
            results = [await self.sync_record(table.name, Side.BC, c.bc_id) for c in found]
            last = results[-1]
            total = sum((r.run.counters for r in results), RunCounters())
            last.run = last.run.model_copy(update={"counters": total})
            last.errors = [e for r in results for e in r.errors]
            return last
        result = await start_run(self._parts, RunMode.RECORD, [table.name], dry_run=False)
        return await finish_run(self._parts, result, [])

    async def _mapping(self, name: str) -> tuple[MappingSet, TableMapping]:
        configuration = await load_configuration(self._parts.stores.mappings, self._parts.scope.key)
        return configuration, configuration.get(name)

    def _session(
        self,
        configuration: MappingSet,
        table: TableMapping,
        result: RunResult,
        *,
        create_missing: bool,
    ) -> AbstractAsyncContextManager[MappingSession]:
        return mapping_session(
            scope=self._parts.scope.key,
            configuration=configuration,
            mapping=table,
            couplings=self._parts.stores.couplings,
            leases=self._parts.stores.leases,
            bc=self._parts.sides[Side.BC],
            dataverse=self._parts.sides[Side.DATAVERSE],
            owner=result.run.id,
            lease_ttl=self._parts.options.lease,
            create_missing=create_missing,
        )

    async def _read_one(self, table: TableMapping, side: Side, record_id: str) -> Record | None:
        async for record in self._parts.sides[side].read_by_ids(table, [record_id]):
            return record
        return None

    async def _counterpart(
        self, table: TableMapping, side: Side, coupling: Coupling | None
    ) -> Record | None:
        if coupling is None:
            return None
        other_id = coupling.dataverse_id if side is Side.BC else coupling.bc_id
        return await self._read_one(table, side.other, other_id)

    async def _couplings(
        self, table: TableMapping, bc_ids: Sequence[str], dataverse_ids: Sequence[str]
    ) -> list[Coupling]:
        store, scope = self._parts.stores.couplings, self._parts.scope.key
        found = [await store.get_by_bc_id(scope, table.name, i) for i in bc_ids]
        found += [await store.get_by_dataverse_id(scope, table.name, i) for i in dataverse_ids]
        return list({c.bc_id: c for c in found if c is not None}.values())

    async def _apply(
        self, session: MappingSession, result: RunResult, operations: list[Operation]
    ) -> None:
        if result.run.dry_run:
            result.plan.extend(operations)
            return
        applier = PageApplier(
            context=session.context,
            sides=self._parts.sides,
            couplings=self._parts.stores.couplings,
            runs=self._parts.stores.runs,
            index=session.index,
            recording=RecordingContext(
                scope=self._parts.scope.key,
                run_id=result.run.id,
                now=self._parts.clock.now(),
                failures_before_skip=self._parts.options.failures_before_skip,
                bc_fields=bc_base_fields(session.context.mapping),
            ),
            max_deletions=len(operations),
        )
        recorded = await applier.apply(operations)
        result.errors.extend(recorded.errors)
        result.count(session.context.mapping.name, recorded.counters)


def _uncoupling(table: TableMapping, coupling: Coupling) -> Operation:
    return Operation(
        kind=OperationKind.UNCOUPLE,
        mapping=table.name,
        source=Side.BC,
        bc_id=coupling.bc_id,
        dataverse_id=coupling.dataverse_id,
        reason="uncoupled on request",
    )


def _refuse_other_pairs(
    session: MappingSession, table: TableMapping, bc_id: str, dataverse_id: str
) -> None:
    for side, record_id in ((Side.BC, bc_id), (Side.DATAVERSE, dataverse_id)):
        coupling = session.index.find(side, record_id)
        if coupling is not None:
            raise AlreadyCoupledError(
                f"{side} record {record_id} is already coupled in {table.name} "
                f"(BC {coupling.bc_id} ⇄ Dataverse {coupling.dataverse_id}); uncouple it first"
            )
