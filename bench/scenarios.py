"""One size of the benchmark: every scenario of issue 8, by the engine and by the baseline.

Two groups, each in a freshly served sandbox (the bench runs each group in a fresh process, so
that the peak RSS of one is not the other's left-over heap):

1. BC holds N customers (last modified over the past year), Dataverse none. The engine runs a
   full sync (BC → Dataverse), then incremental runs: no change; 1 % of the pairs renamed in
   BC; 1 % changed on both sides, 10 % of those in the same field. Then the baseline does the
   same (a sample of it: its rate does not depend on N), on other pairs.
2. Both emptied; Dataverse holds N accounts. The engine runs a full sync (Dataverse → BC),
   then the baseline.

Every engine run starts with the sandbox's counters at zero and is timed alone.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Final

from bench.baseline import PerRecordBaseline
from bench.ceiling import Workload
from bench.control import SandboxControl
from bench.harness import BC_SCOPE, BenchEngine, open_bench_engine, token_fetcher
from bench.measure import baseline_row, count_requests, measure_engine
from bench.result import ResultRow
from bench.served import SandboxUrls, start_sandbox
from bench.stage import SizePlan, Stage
from bench.workload import MAPPING_NAME, ChangeSet, Pair, changes_on_bc, changes_on_both, every_nth
from sync.models import RunMode

__all__ = [
    "BOTH_SIDES",
    "FROM_BC",
    "FROM_DATAVERSE",
    "FULL_TO_BC",
    "FULL_TO_DATAVERSE",
    "GROUPS",
    "NO_CHANGE",
    "ONE_SIDE",
    "SizePlan",
    "run_size",
]

FULL_TO_DATAVERSE: Final = "full BC → Dataverse"
FULL_TO_BC: Final = "full Dataverse → BC"
NO_CHANGE: Final = "incremental, no change"
ONE_SIDE: Final = "incremental, 1 % changed in BC"
BOTH_SIDES: Final = "incremental, 1 % changed on both sides"
CHANGED_SHARE_STEP: Final = 100
"""Every 100th pair changes: 1 %."""
FROM_BC: Final = "from-bc"
FROM_DATAVERSE: Final = "from-dataverse"
GROUPS: Final = (FROM_BC, FROM_DATAVERSE)
"""The two groups of scenarios: data first in BC, data first in Dataverse."""


async def run_size(plan: SizePlan, groups: Sequence[str] = GROUPS) -> list[ResultRow]:
    """Serve a sandbox and run the scenarios of `groups` at `plan.size`; rows in order."""
    async with start_sandbox(plan.costs) as urls:
        control = SandboxControl(urls)
        try:
            rows: list[ResultRow] = []
            for group in groups:
                rows += await _GROUPS[group](plan, urls, control)
        finally:
            await control.aclose()
    return rows


async def _from_bc(plan: SizePlan, urls: SandboxUrls, control: SandboxControl) -> list[ResultRow]:
    company_id = await control.reset(bc_records=plan.size)
    stage = Stage(plan, urls, control, company_id)
    n = plan.size
    async with _engine(stage) as bench:
        rows = [
            await measure_engine(
                stage, bench, FULL_TO_DATAVERSE, RunMode.FULL,
                Workload(records=n, to_dataverse=n, read_from_bc=n),
            ),
            await measure_engine(stage, bench, NO_CHANGE, RunMode.MODIFIED, Workload(records=0)),
        ]  # fmt: skip
        one_side = changes_on_bc(await _sample_pairs(bench, offset=1), round_number=1)
        await _apply(stage, one_side)
        rows.append(await _measure_changes(stage, bench, ONE_SIDE, one_side))
        both = changes_on_both(await _sample_pairs(bench, offset=2), round_number=2)
        await _apply(stage, both)
        rows.append(await _measure_changes(stage, bench, BOTH_SIDES, both))
        pairs_one = await _sample_pairs(bench, offset=3)
        pairs_both = await _sample_pairs(bench, offset=4)
    rows += await _baseline_from_bc(stage, pairs_one, pairs_both)
    return rows


async def _from_dataverse(
    plan: SizePlan, urls: SandboxUrls, control: SandboxControl
) -> list[ResultRow]:
    company_id = await control.reset()
    await control.seed_accounts(plan.size)
    stage = Stage(plan, urls, control, company_id)
    n = plan.size
    async with _engine(stage) as bench:
        full = await measure_engine(
            stage, bench, FULL_TO_BC, RunMode.FULL,
            Workload(records=n, to_bc=n, read_from_dataverse=n),
        )  # fmt: skip
    async with _baseline(stage) as baseline:
        sample = min(n, plan.baseline_sample)
        run = await count_requests(stage, lambda: baseline.full_to_bc(sample))
    work = Workload(records=n, to_bc=n, read_from_dataverse=n)
    return [full, baseline_row(stage, FULL_TO_BC, work, run)]


_GROUPS: Final = {FROM_BC: _from_bc, FROM_DATAVERSE: _from_dataverse}


@contextlib.asynccontextmanager
async def _engine(stage: Stage) -> AsyncIterator[BenchEngine]:
    with tempfile.TemporaryDirectory(prefix="bench-state-") as folder:
        async with open_bench_engine(
            stage.urls,
            company_id=stage.company_id,
            state_path=Path(folder, "state.db"),
            secret=stage.plan.secret,
        ) as bench:
            yield bench


async def _measure_changes(
    stage: Stage, bench: BenchEngine, scenario: str, changes: ChangeSet
) -> ResultRow:
    return await measure_engine(stage, bench, scenario, RunMode.MODIFIED, _change_workload(changes))


def _change_workload(changes: ChangeSet) -> Workload:
    # Non-conflicting changes of one side are written to the other.
    writes_to_bc = len(changes.dataverse) - changes.conflicting if changes.dataverse else 0
    writes_to_dataverse = (
        len(changes.bc) - changes.conflicting if changes.dataverse else len(changes.bc)
    )
    return Workload(
        records=changes.records,
        to_bc=writes_to_bc,
        to_dataverse=writes_to_dataverse,
        read_from_bc=len(changes.bc),
        read_from_dataverse=len(changes.dataverse),
        counterparts=True,
    )


async def _sample_pairs(bench: BenchEngine, *, offset: int) -> list[Pair]:
    couplings = bench.engine.store.couplings.load_couplings(bench.scope.key, MAPPING_NAME)
    return await every_nth(couplings, CHANGED_SHARE_STEP, offset)


async def _apply(stage: Stage, changes: ChangeSet) -> None:
    if changes.bc:
        await stage.control.edit_customers(stage.company_id, changes.bc)
    if changes.dataverse:
        await stage.control.edit_accounts(changes.dataverse)


async def _baseline_from_bc(
    stage: Stage, pairs_one: list[Pair], pairs_both: list[Pair]
) -> list[ResultRow]:
    n, sample = stage.plan.size, stage.plan.baseline_sample
    full_work = Workload(records=n, to_dataverse=n, read_from_bc=n)
    one_side = changes_on_bc(pairs_one, round_number=3)
    both = changes_on_both(pairs_both, round_number=4)
    async with _baseline(stage) as baseline:
        full = await count_requests(stage, lambda: baseline.full_to_dataverse(min(n, sample)))
        quiet = await count_requests(stage, baseline.no_change)
        await _apply(stage, one_side)
        one = await count_requests(stage, lambda: baseline.modified(one_side, pairs_one, sample))
        await _apply(stage, both)
        two = await count_requests(stage, lambda: baseline.modified(both, pairs_both, sample))
    return [
        baseline_row(stage, FULL_TO_DATAVERSE, full_work, full),
        baseline_row(stage, NO_CHANGE, Workload(records=0), quiet),
        baseline_row(stage, ONE_SIDE, _change_workload(one_side), one),
        baseline_row(stage, BOTH_SIDES, _change_workload(both), two),
    ]


@contextlib.asynccontextmanager
async def _baseline(stage: Stage) -> AsyncIterator[PerRecordBaseline]:
    tokens = token_fetcher(stage.urls, stage.plan.secret)
    baseline = PerRecordBaseline(
        stage.urls,
        company_id=stage.company_id,
        bc_token=await tokens.get_token(BC_SCOPE),
        dataverse_token=await tokens.get_token(f"{stage.urls.dataverse_host}/.default"),
    )
    try:
        yield baseline
    finally:
        await baseline.aclose()
