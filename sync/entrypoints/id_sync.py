"""Sync given records of one mapping and side inside a run that already exists.

This is the work of one fan-out item: the runner's page step (plan, apply, record) fed with
records read by id (or listed by the stage) instead of a change feed. It leaves out what
belongs to the whole run: no run record is opened or closed, no lease is taken, no watermark
moves, and crash recovery of BC creates (``recover_creates``) runs once per stage, before its
items, while no item writes.

A page item reads only the couplings of its own records (point reads), so parallel items stay
small. A ``whole`` stage loads the mapping's whole coupling index: match-based coupling must
see every uncoupled record of the other side to pair records safely, and creates in BC must
run as a single writer to stay crash-safe.

It builds on the engine's page planning (``plan_page``, the runner's own), page applier and
create guard.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sync.engine.coupling_index import CouplingIndex
from sync.engine.create_guard import CreateGuard
from sync.engine.lookups import load_lookups
from sync.engine.matching import Matcher
from sync.engine.page import PageApplier
from sync.engine.page_plan import plan_page
from sync.engine.planner import PlanContext
from sync.engine.recording import RecordingContext, bc_base_fields
from sync.engine.run_parts import RunnerParts
from sync.mappings.configuration import load_configuration
from sync.models import Coupling, Record, RunCounters, Side, TableMapping

_CONCURRENT_READS = 16


async def read_records(
    parts: RunnerParts, table: TableMapping, side: Side, ids: Sequence[str]
) -> list[Record]:
    """The current state of the records ``ids`` (those that still exist)."""
    return [r async for r in parts.sides[side].read_by_ids(table, ids) if not r.deleted]


async def recover_creates(parts: RunnerParts, table: TableMapping) -> None:
    """Couple BC records that an interrupted run created but did not record (before a stage)."""
    scope = parts.scope.key
    index = await CouplingIndex.load(parts.stores.couplings, scope, table.name)
    guard = CreateGuard(store=parts.stores.couplings, scope=scope, mapping=table)
    await guard.recover(parts.sides[Side.BC], index)


async def sync_records(
    parts: RunnerParts,
    *,
    mapping: str,
    side: Side,
    records: Sequence[Record],
    run_id: str,
    whole: bool,
) -> RunCounters:
    """Sync ``records`` of ``side`` as a full sync would, as part of run ``run_id``.

    Returns:
        The counters of this piece of work (couplings and per-record errors are saved).

    Raises:
        KeyError: The mapping no longer exists.
    """
    scope = parts.scope.key
    configuration = await load_configuration(parts.stores.mappings, scope)
    table = configuration.get(mapping)
    lookups = await load_lookups(
        configuration,
        table,
        scope=scope,
        couplings=parts.stores.couplings,
        bc=parts.sides[Side.BC],
        dataverse=parts.sides[Side.DATAVERSE],
    )
    context = PlanContext(scope=scope, mapping=table, lookups=lookups, create_missing=True)
    index, matcher = await _index_and_matcher(parts, context, side, records, whole=whole)
    operations = await plan_page(
        context, side, records, sides=parts.sides, index=index, matcher=matcher
    )
    recording = RecordingContext(
        scope=scope,
        run_id=run_id,
        now=parts.clock.now(),
        failures_before_skip=parts.options.failures_before_skip,
        bc_fields=bc_base_fields(table),
    )
    applier = PageApplier(
        context=context,
        sides=parts.sides,
        couplings=parts.stores.couplings,
        runs=parts.stores.runs,
        index=index,
        recording=recording,
        max_deletions=max(int(parts.options.max_deletion_share * len(index)), 10),
    )
    return (await applier.apply(operations)).counters


async def _index_and_matcher(
    parts: RunnerParts,
    context: PlanContext,
    side: Side,
    records: Sequence[Record],
    *,
    whole: bool,
) -> tuple[CouplingIndex, Matcher | None]:
    table, scope = context.mapping, parts.scope.key
    if not whole:
        ids = [r.id for r in records]
        return CouplingIndex(await _couplings_of(parts, table, side, ids)), None
    index = await CouplingIndex.load(parts.stores.couplings, scope, table.name)
    matcher = await Matcher.load(
        table,
        target=side.other,
        gateway=parts.sides[side.other],
        couplings=index,
        lookups=context.lookups,
    )
    return index, matcher


async def _couplings_of(
    parts: RunnerParts, table: TableMapping, side: Side, ids: Sequence[str]
) -> list[Coupling]:
    store, scope = parts.stores.couplings, parts.scope.key
    slots = asyncio.Semaphore(_CONCURRENT_READS)

    async def one(record_id: str) -> Coupling | None:
        async with slots:
            if side is Side.BC:
                return await store.get_by_bc_id(scope, table.name, record_id)
            return await store.get_by_dataverse_id(scope, table.name, record_id)

    found = await asyncio.gather(*(one(i) for i in ids))
    return [c for c in found if c is not None]
