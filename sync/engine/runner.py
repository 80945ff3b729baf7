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
from contextlib import aclosing

from sync.engine.coupling_index import CouplingIndex
from sync.engine.dry_run import PlannedCouplings
from sync.engine.matching import Matcher
from sync.engine.page import DeletionGuardError, PageApplier
from sync.engine.page_pipeline import PagePipeline, read_ahead
from sync.engine.page_plan import Seen, plan_page
from sync.engine.planner import PlanContext
from sync.engine.recording import Recorded, RecordingContext, bc_base_fields
from sync.engine.run_parts import (
    RunnerParts,
    RunOptions,
    RunResult,
    Stores,
    finish_run,
    start_run,
)
from sync.engine.session import AlreadyRunningError, mapping_session
from sync.engine.watermark_progress import WatermarkProgress
from sync.errors import ConnectorError
from sync.mappings.configuration import load_configuration
from sync.models import (
    ChangePage,
    Direction,
    MappingSet,
    RunCounters,
    RunMode,
    Scope,
    Side,
    TableMapping,
)
from sync.ports import (
    Clock,
    CouplingStore,
    SideGateway,
)

log = logging.getLogger("sync")


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
        self._parts = RunnerParts(
            scope=scope,
            sides={Side.BC: bc, Side.DATAVERSE: dataverse},
            stores=stores,
            clock=clock,
            options=options or RunOptions(),
            new_run_id=new_run_id or (lambda: uuid.uuid4().hex),
        )

    @property
    def parts(self) -> RunnerParts:
        """The sides, stores and bounds this runner works with (shared with record work)."""
        return self._parts

    async def run(
        self, mode: RunMode, *, mappings: Sequence[str] | None = None, dry_run: bool = False
    ) -> RunResult:
        """Run ``mode`` (``mapping``, ``modified`` or ``full``) over the named or all mappings.

        Raises:
            KeyError: A named mapping does not exist.
        """
        configuration = await load_configuration(self._parts.stores.mappings, self._parts.scope.key)
        selected = _select(configuration, mappings)
        result = await start_run(self._parts, mode, [m.name for m in selected], dry_run=dry_run)
        run = result.run
        couplings: CouplingStore = self._parts.stores.couplings
        if dry_run:
            couplings = PlannedCouplings(couplings, self._parts.scope.key)
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
        return await finish_run(self._parts, result, messages)

    async def _run_mapping(
        self,
        configuration: MappingSet,
        mapping: TableMapping,
        mode: RunMode,
        result: RunResult,
        couplings: CouplingStore,
    ) -> None:
        full = mode is RunMode.FULL
        session = mapping_session(
            scope=self._parts.scope.key,
            configuration=configuration,
            mapping=mapping,
            couplings=couplings,
            leases=self._parts.stores.leases,
            bc=self._parts.sides[Side.BC],
            dataverse=self._parts.sides[Side.DATAVERSE],
            owner=result.run.id,
            lease_ttl=self._parts.options.lease,
            create_missing=full or not mapping.sync_only_coupled,
        )
        async with session as opened:
            if opened.recovered:
                result.count(mapping.name, RunCounters(coupled=opened.recovered))
            seen: Seen = {}
            for side in _sides_to_read(mapping):
                await self._sync_side(
                    opened.context,
                    side,
                    opened.index,
                    full=full,
                    result=result,
                    couplings=couplings,
                    seen=seen,
                )

    async def _sync_side(
        self,
        context: PlanContext,
        side: Side,
        index: CouplingIndex,
        *,
        full: bool,
        result: RunResult,
        couplings: CouplingStore,
        seen: Seen,
    ) -> None:
        mapping = context.mapping
        stored = await self._parts.stores.watermarks.load_watermark(
            self._parts.scope.key, mapping.name, side
        )
        start = self._parts.clock.now()
        progress = WatermarkProgress(
            scope=self._parts.scope.key,
            mapping=mapping.name,
            side=side,
            stored=stored,
            run_start=start,
        )
        since, token = (None, None) if full else progress.read_from(self._parts.options.overlap)
        applier = PageApplier(
            context=context,
            sides=self._parts.sides,
            couplings=self._parts.stores.couplings,
            runs=self._parts.stores.runs,
            index=index,
            recording=self._recording_facts(result.run.id, mapping),
            max_deletions=_deletion_budget(self._parts.options.max_deletion_share, len(index)),
        )
        matcher = None
        if context.create_missing:
            matcher = await Matcher.load(
                mapping,
                target=side.other,
                gateway=self._parts.sides[side.other],
                couplings=index,
                lookups=context.lookups,
            )
        reads = self._parts.sides[side].read_changes(mapping, since=since, delta_token=token)
        done = 0

        def page_done(page: ChangePage, recorded: Recorded) -> None:
            nonlocal done
            result.errors.extend(recorded.errors)
            result.count(mapping.name, recorded.counters)
            done += len(page.records)
            log.info(
                "page applied run_id=%s mapping=%s side=%s records=%d",
                result.run.id,
                mapping.name,
                side,
                done,
            )
            if self._parts.options.progress is not None:
                self._parts.options.progress(mapping.name, side, done)
            progress.observe(page, failed=recorded.transient_failures)

        pipeline = PagePipeline(depth=self._parts.options.pages_in_flight, on_done=page_done)
        try:
            async with aclosing(read_ahead(reads)) as pages:
                async for page in pages:
                    if pipeline.holds_any(page.records):
                        await pipeline.drain()
                    operations = await plan_page(
                        context,
                        side,
                        page.records,
                        sides=self._parts.sides,
                        index=index,
                        matcher=matcher,
                        seen=seen,
                        synced_since=result.run.started_at,
                        full=full,
                    )
                    if isinstance(couplings, PlannedCouplings):
                        result.plan.extend(operations)
                        couplings.add(operations)
                        continue
                    await pipeline.start(page, applier.apply(operations))
                    if self._past_budget(result):
                        progress.interrupted()
                        break
            await pipeline.drain()
        finally:
            await pipeline.close()
        if not result.run.dry_run:
            await self._parts.stores.watermarks.save_watermark(progress.next_watermark())

    def _past_budget(self, result: RunResult) -> bool:
        return self._parts.clock.now() - result.run.started_at > self._parts.options.time_budget

    def _recording_facts(self, run_id: str, mapping: TableMapping) -> RecordingContext:
        return RecordingContext(
            scope=self._parts.scope.key,
            run_id=run_id,
            now=self._parts.clock.now(),
            failures_before_skip=self._parts.options.failures_before_skip,
            bc_fields=bc_base_fields(mapping),
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
