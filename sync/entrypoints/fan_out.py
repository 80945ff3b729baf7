"""A full sync split over the work queue: stages, page items, and the run's finish.

A full sync runs in stages, one per mapping and side it reads, in dependency order (a later
mapping's lookups need the earlier one's couplings, and one mapping's Dataverse side must not
start before its BC side coupled what it created). One stage at a time::

    split  (stage k)   lists the ids of the stage's source side and enqueues one ``page``
                       message per page of ids; records the item ids the stage waits for
    page   (item i)    syncs its ids; saves its counters under its item id
    advance            whoever sees stage k complete claims stage k+1 and enqueues its split;
                       after the last stage, the run gets the sum of its items' counters

Delivery is at least once, so every step is idempotent: an item with a saved result is not
synced again, a redelivered item replaces its own result (counters never add up twice), and a
stage is claimed once (per queue message id, so the same message redelivered may go on).
The engine's deterministic ids and couplings make re-syncing a record harmless. A message
that keeps failing ends in the poison queue, where ``give_up_*`` turns its records into
per-record errors of the run and lets the run finish.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sync.engine.run_parts import RunnerParts, RunResult, finish_run
from sync.entrypoints.dependencies import Dependencies
from sync.entrypoints.id_sync import read_records, recover_creates, sync_records
from sync.entrypoints.work_message import PageWork, SplitWork, item_id
from sync.mappings.configuration import load_configuration
from sync.models import ErrorClass, Record, RecordError, RunCounters, RunStatus, TableMapping
from sync.models.work import MAX_MESSAGE_CHARS, WorkResult

log = logging.getLogger("sync").getChild("fan_out")

Staged = SplitWork | PageWork


async def split_stage(dependencies: Dependencies, work: SplitWork, *, delivery: str) -> None:
    """List the stage's records and enqueue its page items (or sync a ``whole`` stage here)."""
    parts = dependencies.runner(work.company).parts
    scope, stage = parts.scope.key, work.current
    configuration = await load_configuration(parts.stores.mappings, scope)
    mapping = next((m for m in configuration.mappings if m.name == stage.mapping), None)
    note = await _refusal(parts, mapping, work)
    if mapping is None or note is not None:
        await dependencies.ledger.complete_split(scope, work.run_id, work.stage, [], note=note)
    else:
        await recover_creates(parts, mapping)
        records = await _list(parts, mapping, work)
        pages = _pages(work, [r.id for r in records], dependencies)
        if stage.whole:
            await _sync_whole(dependencies, parts, work, records)
        else:
            await dependencies.work_queue.send_work([page.to_text() for page in pages])
            item_ids = [page.item_id for page in pages]
            await dependencies.ledger.complete_split(scope, work.run_id, work.stage, item_ids)
        log.info(
            "stage split run_id=%s stage=%s mapping=%s side=%s items=%s",
            work.run_id,
            work.stage,
            stage.mapping,
            stage.side,
            len(pages),
        )
    await advance(dependencies, parts, work, delivery=delivery)


async def sync_page(dependencies: Dependencies, work: PageWork, *, delivery: str) -> None:
    """Sync one page of ids, unless a delivery before this one did."""
    parts = dependencies.runner(work.company).parts
    scope = parts.scope.key
    if await dependencies.ledger.has_result(scope, work.run_id, work.item_id):
        log.info("work item done already run_id=%s item=%s", work.run_id, work.item_id)
    else:
        await _keep_lease(parts, work)
        counters = await _sync(parts, work, work.ids)
        result = WorkResult(item_id=work.item_id, stage=work.stage, counters=counters)
        await dependencies.ledger.save_result(scope, work.run_id, result)
    await advance(dependencies, parts, work, delivery=delivery)


async def advance(
    dependencies: Dependencies, parts: RunnerParts, work: Staged, *, delivery: str
) -> None:
    """Start the next stage (or finish the run) once the current stage is complete."""
    scope, ledger = parts.scope.key, dependencies.ledger
    progress = await ledger.load_progress(scope, work.run_id)
    if not progress.is_stage_done(work.stage):
        return
    following = work.stage + 1
    if not await ledger.claim_stage(scope, work.run_id, following, delivery):
        return  # another delivery saw the stage complete first and moved on
    if following == len(work.stages) or work.stages[following].mapping != work.current.mapping:
        await _release_lease(parts, work)
    if following < len(work.stages):
        split = SplitWork(
            run_id=work.run_id, company=work.company, stage=following, stages=work.stages
        )
        await dependencies.work_queue.send_work([split.to_text()])
        return
    run = await parts.stores.runs.get_run(scope, work.run_id)
    if run is None or run.status is not RunStatus.RUNNING:
        return
    counters = sum((r.counters for r in progress.counted_results()), RunCounters())
    notes = [stage.note for stage in progress.stages if stage.note]
    await finish_run(parts, RunResult(run=run.model_copy(update={"counters": counters})), notes)


async def give_up_page(
    dependencies: Dependencies, work: PageWork, *, delivery: str, reason: str
) -> None:
    """A page that kept failing: its ids become per-record errors and count as failed."""
    parts = dependencies.runner(work.company).parts
    scope = parts.scope.key
    if not await dependencies.ledger.has_result(scope, work.run_id, work.item_id):
        now = parts.clock.now()
        errors = [
            RecordError(
                run_id=work.run_id,
                mapping=work.current.mapping,
                side=work.current.side,
                record_id=record_id,
                error_class=ErrorClass.TRANSIENT,
                code="work_item_failed",
                message=f"{reason}; the record was not synced in this run",
                occurred_at=now,
            )
            for record_id in work.ids
        ]
        await parts.stores.runs.add_errors(scope, errors)
        failed = WorkResult(
            item_id=work.item_id, stage=work.stage, counters=RunCounters(failed=len(work.ids))
        )
        await dependencies.ledger.save_result(scope, work.run_id, failed)
    await advance(dependencies, parts, work, delivery=delivery)


async def give_up_split(
    dependencies: Dependencies, work: SplitWork, *, delivery: str, reason: str
) -> None:
    """A stage whose listing kept failing: the run notes it and goes on with the next stage."""
    parts = dependencies.runner(work.company).parts
    stage = work.current
    note = f"{reason}: the full sync of {stage.mapping} ({stage.side} side) was skipped"
    await dependencies.ledger.complete_split(
        parts.scope.key, work.run_id, work.stage, [], note=note
    )
    await advance(dependencies, parts, work, delivery=delivery)


async def _refusal(parts: RunnerParts, mapping: TableMapping | None, work: SplitWork) -> str | None:
    if mapping is None:
        return f"mapping {work.current.mapping} no longer exists; it was skipped"
    lease = await parts.stores.leases.acquire_lease(
        _lease_name(parts, work), work.run_id, parts.options.lease
    )
    if lease is None:
        return f"mapping {mapping.name} is already running; its full sync was skipped"
    return None


async def _list(parts: RunnerParts, mapping: TableMapping, work: SplitWork) -> list[Record]:
    side = parts.sides[work.current.side]
    changes = side.read_changes(mapping, since=None, delta_token=None)
    return [r async for page in changes for r in page.records if not r.deleted]


def _pages(work: SplitWork, ids: Sequence[str], dependencies: Dependencies) -> list[PageWork]:
    size = len(ids) if work.current.whole else dependencies.api.fan_out_page_size
    pages: list[PageWork] = []
    for start in range(0, len(ids), max(size, 1)):
        pages.extend(_fitting_pages(work, tuple(ids[start : start + size])))
    return pages


def _fitting_pages(work: SplitWork, ids: tuple[str, ...]) -> list[PageWork]:
    page = PageWork(
        run_id=work.run_id,
        company=work.company,
        stage=work.stage,
        stages=work.stages,
        item_id=item_id(work.stage, ids),
        ids=ids,
    )
    if work.current.whole or len(ids) == 1 or len(page.to_text()) <= MAX_MESSAGE_CHARS:
        return [page]
    half = len(ids) // 2  # long ids: halve the page until its message fits the queue
    return _fitting_pages(work, ids[:half]) + _fitting_pages(work, ids[half:])


async def _sync_whole(
    dependencies: Dependencies, parts: RunnerParts, work: SplitWork, records: list[Record]
) -> None:
    scope, whole_id = parts.scope.key, f"{work.stage:02d}-whole"
    if not await dependencies.ledger.has_result(scope, work.run_id, whole_id):
        counters = await _sync(parts, work, records=records) if records else RunCounters()
        result = WorkResult(item_id=whole_id, stage=work.stage, counters=counters)
        await dependencies.ledger.save_result(scope, work.run_id, result)
    await dependencies.ledger.complete_split(scope, work.run_id, work.stage, [whole_id])


async def _sync(
    parts: RunnerParts,
    work: Staged,
    ids: Sequence[str] = (),
    *,
    records: Sequence[Record] | None = None,
) -> RunCounters:
    stage = work.current
    try:
        if records is None:
            configuration = await load_configuration(parts.stores.mappings, parts.scope.key)
            table = configuration.get(stage.mapping)
            records = await read_records(parts, table, stage.side, ids)
        return await sync_records(
            parts,
            mapping=stage.mapping,
            side=stage.side,
            records=records,
            run_id=work.run_id,
            whole=stage.whole,
        )
    except KeyError:
        log.warning("mapping gone run_id=%s mapping=%s", work.run_id, stage.mapping)
        return RunCounters()


def _lease_name(parts: RunnerParts, work: Staged) -> str:
    return f"{parts.scope.key}|{work.current.mapping}"


async def _keep_lease(parts: RunnerParts, work: Staged) -> None:
    # Items of one stage share the run's lease; taking it again extends it. Losing that race to
    # a sibling item is fine: the lease is the run's either way.
    await parts.stores.leases.acquire_lease(
        _lease_name(parts, work), work.run_id, parts.options.lease
    )


async def _release_lease(parts: RunnerParts, work: Staged) -> None:
    leases = parts.stores.leases
    lease = await leases.acquire_lease(_lease_name(parts, work), work.run_id, parts.options.lease)
    if lease is not None:
        await leases.release_lease(lease)
