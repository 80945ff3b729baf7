"""Time one run, count the requests each side served, and turn both into a `ResultRow`."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench.baseline import BaselineRun
from bench.ceiling import Workload, ceiling
from bench.control import CounterCounts
from bench.harness import BenchEngine
from bench.memory import PeakMemory
from bench.result import BASELINE, ENGINE, ResultRow
from bench.stage import Stage
from bench.tally import side_tally
from sync.models import Run, RunMode

log = logging.getLogger("bench")


async def measure_engine(
    stage: Stage, bench: BenchEngine, scenario: str, mode: RunMode, work: Workload
) -> ResultRow:
    """Run the engine once in `mode`, alone, with the sandbox's counters from zero."""
    await stage.control.reset_counters()
    clients = (bench.engine.bc_client.accounting, bench.engine.dataverse_client.accounting)
    retries_before = [accounting.retries for accounting in clients]
    with PeakMemory() as memory:
        started = time.perf_counter()
        result = await bench.runner.run(mode)
        seconds = time.perf_counter() - started
    bc_served, dataverse_served = await stage.control.counters()
    bc_retries, dataverse_retries = (
        accounting.retries - before
        for accounting, before in zip(clients, retries_before, strict=True)
    )
    return logged(
        ResultRow(
            size=stage.plan.size,
            scenario=scenario,
            strategy=ENGINE,
            records=work.records,
            seconds=seconds,
            ceiling=ceiling(stage.plan.costs, work),
            bc=side_tally(bc_served, bc_retries),
            dataverse=side_tally(dataverse_served, dataverse_retries),
            peak_rss_mb=memory.peak_mb,
            outcome=_outcome(result.run),
            counters=result.run.counters.model_dump(),
        )
    )


@dataclass(frozen=True, slots=True)
class CountedRun:
    """A baseline run and the requests each side served during it."""

    run: BaselineRun
    bc: CounterCounts
    dataverse: CounterCounts


async def count_requests(stage: Stage, work: Callable[[], Awaitable[BaselineRun]]) -> CountedRun:
    """Run `work` with the sandbox's counters from zero."""
    await stage.control.reset_counters()
    run = await work()
    bc, dataverse = await stage.control.counters()
    return CountedRun(run, bc, dataverse)


def baseline_row(stage: Stage, scenario: str, work: Workload, measured: CountedRun) -> ResultRow:
    """The row of a baseline run; a sample's time is scaled to `work.records`."""
    run = measured.run
    # The baseline's rate does not depend on N: one request per record, one at a time.
    seconds = run.seconds * work.records / run.records if run.records else run.seconds
    return logged(
        ResultRow(
            size=stage.plan.size,
            scenario=scenario,
            strategy=BASELINE,
            records=work.records,
            seconds=seconds,
            ceiling=ceiling(stage.plan.costs, work),
            bc=side_tally(measured.bc, run.bc_retries),
            dataverse=side_tally(measured.dataverse, run.dataverse_retries),
            outcome=f"{run.records} synced one request at a time, {run.failed} refused",
            counters={"synced": run.records - run.failed, "failed": run.failed},
            sampled=run.records,
        )
    )


def logged(row: ResultRow) -> ResultRow:
    """Log a finished row (the long runs say how far they got) and return it."""
    log.info(
        "N=%s %s, %s: %.1f s, %s",
        f"{row.size:,}",
        row.scenario,
        row.strategy,
        row.seconds,
        row.outcome,
    )
    return row


def _outcome(run: Run) -> str:
    parts = [
        f"{name} {value}"
        for name, value in run.counters.model_dump().items()
        if value and name != "coupled"
    ]
    return f"{run.status.value}: " + (", ".join(parts) or "nothing to do")
