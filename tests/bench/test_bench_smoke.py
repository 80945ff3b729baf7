"""The benchmark runs end to end at a small size: rows come out and records were synced.

No timing is asserted: this only proves the bench works.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.__main__ import SMOKE_COSTS
from bench.ceiling import Workload, ceiling
from bench.report import BEGIN, END, RunFacts, render, write_report
from bench.result import BASELINE, ENGINE, ResultRow
from bench.scenarios import (
    BOTH_SIDES,
    FULL_TO_BC,
    FULL_TO_DATAVERSE,
    NO_CHANGE,
    ONE_SIDE,
    SizePlan,
    run_size,
)
from bench.targets import check_targets
from sandbox.server import DEFAULT_CLIENT_SECRET

SIZE = 1000  # the size the issue asks CI to smoke-test at
SCENARIOS = (FULL_TO_DATAVERSE, NO_CHANGE, ONE_SIDE, BOTH_SIDES, FULL_TO_BC)
COLUMNS = (
    "| N | scenario | strategy | records | time (s) | records/s | ceiling (records/s) "
    "| % of ceiling | engine ÷ per-record | peak RSS (MB) | outcome |"
)


@pytest.fixture(scope="module")
def rows() -> list[ResultRow]:
    plan = SizePlan(SIZE, SMOKE_COSTS, baseline_sample=5, secret=DEFAULT_CLIENT_SECRET)
    return asyncio.run(run_size(plan))


def _row(rows: list[ResultRow], scenario: str, strategy: str) -> ResultRow:
    return next(r for r in rows if r.scenario == scenario and r.strategy == strategy)


def test_every_scenario_has_an_engine_and_a_baseline_row_when_the_bench_runs(rows):
    assert {(r.scenario, r.strategy) for r in rows} == {
        (scenario, strategy) for scenario in SCENARIOS for strategy in (ENGINE, BASELINE)
    }
    assert all(r.size == SIZE and r.seconds > 0 for r in rows)


def test_full_sync_creates_every_customer_in_dataverse_when_the_bench_runs(rows):
    full = _row(rows, FULL_TO_DATAVERSE, ENGINE)
    assert full.counters["inserted"] == SIZE
    assert full.counters["failed"] == 0
    assert full.dataverse.writes > 0
    assert full.peak_rss_mb is not None


def test_full_sync_creates_the_accounts_bc_accepts_when_the_bench_runs(rows):
    # The generated accounts include a few whose name is too long for BC: those fail alone.
    full = _row(rows, FULL_TO_BC, ENGINE)
    assert full.counters["inserted"] + full.counters["failed"] == SIZE
    assert full.counters["inserted"] > SIZE // 2
    assert full.bc.writes > 0


def test_incremental_run_writes_nothing_when_nothing_changed(rows):
    quiet = _row(rows, NO_CHANGE, ENGINE)
    assert quiet.bc.writes + quiet.dataverse.writes == 0


def test_incremental_run_updates_the_changed_pairs_when_one_percent_changed(rows):
    one_side = _row(rows, ONE_SIDE, ENGINE)
    both = _row(rows, BOTH_SIDES, ENGINE)
    assert one_side.records == SIZE // 100
    assert one_side.counters["modified"] == one_side.records
    assert both.counters["modified"] + both.counters["conflicts"] >= both.records


def test_baseline_sends_one_write_per_record_when_it_syncs_a_sample(rows):
    baseline = _row(rows, FULL_TO_DATAVERSE, BASELINE)
    assert baseline.sampled == 5
    assert baseline.dataverse.writes == baseline.sampled


def test_report_lists_rows_and_targets_when_rendered(rows, tmp_path: Path):
    facts = RunFacts("python -m bench --smoke", SMOKE_COSTS, datetime.now(UTC), 1.0)
    section = render(facts, rows, [], 0.1, check_targets(rows, 0.1))
    report = tmp_path / "BENCHMARKS.md"
    report.write_text(f"# Benchmarks\n\nintro\n\n{BEGIN}\nold\n{END}\n\n## Findings\n")

    write_report(report, section)

    text = report.read_text()
    assert COLUMNS in text
    assert "old" not in text
    assert text.startswith("# Benchmarks\n\nintro")
    assert text.endswith("## Findings\n")
    assert text.count(f"| {SIZE:,} | {FULL_TO_DATAVERSE} | {ENGINE} |") == 2


def test_ceiling_is_none_when_no_record_moves():
    assert ceiling(SMOKE_COSTS, Workload(records=0)) is None
    assert ceiling(SMOKE_COSTS, Workload(records=1000, to_dataverse=1000)) > 0
