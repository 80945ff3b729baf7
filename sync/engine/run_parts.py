"""What every run needs: the state ports, the bounds, and the start and finish of its record."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sync.engine.operation import Operation
from sync.models import RecordError, Run, RunCounters, RunMode, RunStatus, Scope, Side
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
    pages_in_flight: int = 2
    """Pages of one side whose writes may run at once (the next page is read meanwhile)."""
    progress: Callable[[str, Side, int], None] | None = None
    """Told after each applied page: mapping, side read, records so far (for a progress display)."""


@dataclass
class RunResult:
    """A finished run, its per-record errors, and (for dry runs) the plan."""

    run: Run
    errors: list[RecordError] = field(default_factory=list)
    plan: list[Operation] = field(default_factory=list)
    by_mapping: dict[str, RunCounters] = field(default_factory=dict)

    def count(self, mapping: str, counters: RunCounters) -> None:
        """Add counters to the run and to the mapping's share of it."""
        self.run = self.run.model_copy(update={"counters": self.run.counters + counters})
        self.by_mapping[mapping] = self.by_mapping.get(mapping, RunCounters()) + counters


@dataclass(frozen=True)
class RunnerParts:
    """One scope's sides, stores, clock and bounds, shared by every kind of run."""

    scope: Scope
    sides: Mapping[Side, SideGateway]
    stores: Stores
    clock: Clock
    options: RunOptions
    new_run_id: Callable[[], str]


async def start_run(
    parts: RunnerParts, mode: RunMode, mappings: Sequence[str], *, dry_run: bool
) -> RunResult:
    """Open a run record (saved unless it is a dry run)."""
    run = Run(
        id=parts.new_run_id(),
        scope=parts.scope.key,
        mode=mode,
        mappings=tuple(mappings),
        dry_run=dry_run,
        started_at=parts.clock.now(),
    )
    if not dry_run:
        await parts.stores.runs.save_run(run)
    return RunResult(run=run)


async def finish_run(parts: RunnerParts, result: RunResult, messages: list[str]) -> RunResult:
    """Close the run: status from its counters and messages, finish time, saved."""
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
            "finished_at": parts.clock.now(),
            "message": "; ".join(messages) or None,
        }
    )
    if not result.run.dry_run:
        await parts.stores.runs.save_run(result.run)
    log.info(
        "run finished run_id=%s status=%s counters=%s",
        result.run.id,
        status,
        counters.model_dump(),
    )
    return result
