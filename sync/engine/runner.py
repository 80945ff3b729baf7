"""The runner: lease → read → plan → apply → record → advance, per mapping, over the ports.

One ``Runner`` serves one scope (a BC company against the Dataverse environment). Mappings run
in dependency order. For each mapping and each side it reads from, changes stream page by page;
each page is planned (pure), applied in batches (one bad record fails only itself), recorded
(couplings, counters, per-record errors), and only then does the watermark move: never past the
run's start, never past a change that failed transiently, and with an overlap window so a
change made during the run is seen by the next one. A dry run plans and writes nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sync.engine.coupling_index import CouplingIndex
from sync.engine.dry_run import PlannedCouplings
from sync.engine.lookups import load_lookups
from sync.engine.matching import Matcher
from sync.engine.operation import Operation
from sync.engine.page import DeletionGuardError, PageApplier
from sync.engine.planner import PlanContext, plan_change
from sync.engine.recording import RecordingContext
from sync.engine.watermark_progress import WatermarkProgress
from sync.errors import ConnectorError, SyncError
from sync.mappings.configuration import load_configuration
from sync.models import (
    Direction,
    MappingSet,
    Record,
    RecordError,
    Run,
    RunMode,
    RunStatus,
    Scope,
    Side,
    TableMapping,
)
from sync.ports import (
    Clock,
    CouplingStore,
    LeaseStore,
    MappingStore,
    RunStore,
    SideGateway,
    WatermarkStore,
)

log = logging.getLogger("sync")


class AlreadyRunningError(SyncError):
    """Another run holds the mapping's lease."""


@dataclass(frozen=True)
class Stores:
    """The state ports a runner writes to."""

    mappings: MappingStore
    couplings: CouplingStore
    watermarks: WatermarkStore
    leases: LeaseStore
    runs: RunStore


@dataclass(frozen=True)
class RunOptions:
    """Bounds of a run (from ``SYNC_LIMITS__*`` in production)."""

    lease: timedelta = timedelta(minutes=10)
    overlap: timedelta = timedelta(minutes=2)
    failures_before_skip: int = 2
    max_deletion_share: float = 0.2
    time_budget: timedelta = timedelta(minutes=8)


@dataclass
class RunResult:
    """A finished run, its per-record errors, and (for dry runs) the plan."""

    run: Run
    errors: list[RecordError] = field(default_factory=list)
    plan: list[Operation] = field(default_factory=list)


class Runner:
    """Runs sync modes for one scope over the ports."""

    def __init__(
        self,
        *,
        scope: Scope,
        bc: SideGateway,
        dataverse: SideGateway,
        stores: Stores,
        clock: Clock,
        options: RunOptions | None = None,
        new_run_id: Callable[[], str] | None = None,
    ) -> None:
        self._scope = scope
        self._sides = {Side.BC: bc, Side.DATAVERSE: dataverse}
        self._stores = stores
        self._clock = clock
        self._options = options or RunOptions()
        self._new_run_id = new_run_id or (lambda: uuid.uuid4().hex)

    async def run(
        self, mode: RunMode, *, mappings: Sequence[str] | None = None, dry_run: bool = False
    ) -> RunResult:
        """Run ``mode`` (``mapping``, ``modified`` or ``full``) over the named or all mappings.

        Raises:
            KeyError: A named mapping does not exist.
        """
        configuration = await load_configuration(self._stores.mappings, self._scope.key)
        selected = _select(configuration, mappings)
        run = Run(
            id=self._new_run_id(),
            scope=self._scope.key,
            mode=mode,
            mappings=tuple(m.name for m in selected),
            dry_run=dry_run,
            started_at=self._clock.now(),
        )
        result = RunResult(run=run)
        couplings: CouplingStore = self._stores.couplings
        if dry_run:
            couplings = PlannedCouplings(self._stores.couplings, self._scope.key)
        else:
            await self._stores.runs.save_run(run)
        messages: list[str] = []
        for mapping in selected:
            try:
                await self._run_mapping(configuration, mapping, mode, result, couplings)
            except (AlreadyRunningError, DeletionGuardError) as exc:
                messages.append(str(exc))
            except ConnectorError as exc:
                # One mapping's service failure must not stop the mappings after it.
                messages.append(f"mapping {mapping.name}: {exc}")
                log.warning(
                    "mapping failed run_id=%s mapping=%s error=%s", run.id, mapping.name, exc
                )
        return await self._finish(result, messages)

    async def _finish(self, result: RunResult, messages: list[str]) -> RunResult:
        counters = result.run.counters
        status = RunStatus.SUCCEEDED
        if messages or counters.failed or counters.conflicts:
            status = RunStatus.PARTIAL
        if messages and not (counters.inserted or counters.modified or counters.deleted):
            status = RunStatus.FAILED
        if counters.failed and not (counters.inserted or counters.modified or counters.unchanged):
            messages.append(f"{counters.failed} records failed and nothing was synced")
        result.run = result.run.model_copy(
            update={
                "status": status,
                "finished_at": self._clock.now(),
                "message": "; ".join(messages) or None,
            }
        )
        if not result.run.dry_run:
            await self._stores.runs.save_run(result.run)
        log.info(
            "run finished run_id=%s status=%s counters=%s",
            result.run.id,
            status,
            counters.model_dump(),
        )
        return result

    async def _run_mapping(
        self,
        configuration: MappingSet,
        mapping: TableMapping,
        mode: RunMode,
        result: RunResult,
        couplings: CouplingStore,
    ) -> None:
        lease_name = f"{self._scope.key}|{mapping.name}"
        lease = await self._stores.leases.acquire_lease(
            lease_name, result.run.id, self._options.lease
        )
        if lease is None:
            raise AlreadyRunningError(f"mapping {mapping.name} is already running")
        try:
            lookups = await load_lookups(
                configuration,
                mapping,
                scope=self._scope.key,
                couplings=couplings,
                bc=self._sides[Side.BC],
            )
            index = await CouplingIndex.load(couplings, self._scope.key, mapping.name)
            full = mode is RunMode.FULL
            context = PlanContext(
                scope=self._scope.key,
                mapping=mapping,
                lookups=lookups,
                create_missing=full or not mapping.sync_only_coupled,
            )
            for side in _sides_to_read(mapping):
                await self._sync_side(
                    context, side, index, full=full, result=result, couplings=couplings
                )
        finally:
            await self._stores.leases.release_lease(lease)

    async def _sync_side(
        self,
        context: PlanContext,
        side: Side,
        index: CouplingIndex,
        *,
        full: bool,
        result: RunResult,
        couplings: CouplingStore,
    ) -> None:
        mapping = context.mapping
        stored = await self._stores.watermarks.load_watermark(self._scope.key, mapping.name, side)
        start = self._clock.now()
        progress = WatermarkProgress(
            scope=self._scope.key, mapping=mapping.name, side=side, stored=stored, run_start=start
        )
        since, token = (None, None) if full else progress.read_from(self._options.overlap)
        applier = PageApplier(
            context=context,
            sides=self._sides,
            couplings=self._stores.couplings,
            runs=self._stores.runs,
            index=index,
            recording=self._recording_facts(result.run.id, mapping),
            max_deletions=_deletion_budget(self._options.max_deletion_share, len(index)),
        )
        matcher = None
        if context.create_missing:
            matcher = await Matcher.load(
                mapping,
                target=side.other,
                gateway=self._sides[side.other],
                couplings=index,
                lookups=context.lookups,
            )
        async for page in self._sides[side].read_changes(mapping, since=since, delta_token=token):
            operations = await self._plan_page(context, side, page.records, index, matcher)
            if isinstance(couplings, PlannedCouplings):
                result.plan.extend(operations)
                couplings.add(operations)
                continue
            recorded = await applier.apply(operations)
            result.errors.extend(recorded.errors)
            result.run = result.run.model_copy(
                update={"counters": result.run.counters + recorded.counters}
            )
            progress.observe(page, failed=recorded.transient_failures)
            if self._clock.now() - result.run.started_at > self._options.time_budget:
                progress.interrupted()
                break
        if not result.run.dry_run:
            await self._stores.watermarks.save_watermark(progress.next_watermark())

    async def _plan_page(
        self,
        context: PlanContext,
        side: Side,
        records: Sequence[Record],
        index: CouplingIndex,
        matcher: Matcher | None,
    ) -> list[Operation]:
        couplings = {r.id: index.find(side, r.id) for r in records}
        other_ids = [
            (c.dataverse_id if side is Side.BC else c.bc_id) for c in couplings.values() if c
        ]
        counterparts: dict[str, Record] = {}
        if other_ids:
            async for record in self._sides[side.other].read_by_ids(context.mapping, other_ids):
                counterparts[record.id.lower()] = record
        operations = []
        for record in records:
            coupling = couplings[record.id]
            other_id = None
            if coupling is not None:
                other_id = coupling.dataverse_id if side is Side.BC else coupling.bc_id
            counterpart = counterparts.get(other_id.lower()) if other_id else None
            match = None
            if coupling is None and matcher is not None and not record.deleted:
                match = matcher.take(record)
            operations.append(
                plan_change(
                    context,
                    source=side,
                    record=record,
                    coupling=coupling,
                    counterpart=counterpart,
                    match=match,
                )
            )
        return operations

    def _recording_facts(self, run_id: str, mapping: TableMapping) -> RecordingContext:
        return RecordingContext(
            scope=self._scope.key,
            run_id=run_id,
            now=self._clock.now(),
            failures_before_skip=self._options.failures_before_skip,
            bc_fields=frozenset(f.bc_field for f in mapping.fields if f.bc_field is not None),
        )


def _select(configuration: MappingSet, names: Sequence[str] | None) -> list[TableMapping]:
    # Option mappings pair codes with the choices of a column; they are coupled by hand or by
    # match-based coupling, never by a record sync.
    ordered = [m for m in configuration.in_dependency_order() if m.enabled and not m.is_option]
    if names is None:
        return ordered
    for name in names:
        configuration.get(name)
    return [m for m in ordered if m.name in names]


def _sides_to_read(mapping: TableMapping) -> list[Side]:
    sides = []
    if mapping.direction.includes(Direction.TO_DATAVERSE):
        sides.append(Side.BC)
    if mapping.direction.includes(Direction.FROM_DATAVERSE):
        sides.append(Side.DATAVERSE)
    return sides


def _deletion_budget(share: float, coupled: int) -> int:
    # Small tables may always lose a few records; beyond that the share applies.
    return max(int(share * coupled), 10)
