"""The targets of issue 8, checked against the measured rows (reported, never asserted)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bench.result import BASELINE, ENGINE, ResultRow
from bench.scenarios import BOTH_SIDES, FULL_TO_BC, FULL_TO_DATAVERSE, NO_CHANGE, ONE_SIDE

SHARE_OF_CEILING: Final = 0.90
TIMES_BASELINE: Final = 50.0
WRITE_SLACK: Final = 1.05
PEAK_RSS_MB: Final = 250.0
RSS_SIZE: Final = 100_000
SCALING: Final = 11.0
IMPORT_SECONDS: Final = 0.5
IDS_PER_BC_READ: Final = 50
IDS_PER_DATAVERSE_READ: Final = 100
TIMES: Final = "\N{MULTIPLICATION SIGN}"


@dataclass(frozen=True, slots=True)
class TargetCheck:
    """One target at one size (or overall).

    Attributes:
        target: what is required, in words.
        measured: what was measured, in words.
        met: True, False, or None when the run did not measure it.
    """

    target: str
    measured: str
    met: bool | None


def check_targets(rows: Sequence[ResultRow], import_seconds: float | None) -> list[TargetCheck]:
    """Every target the rows can answer."""
    checks: list[TargetCheck] = []
    for size in sorted({row.size for row in rows}):
        at_size = [row for row in rows if row.size == size]
        checks += _full_sync_checks(at_size, size)
        checks += _incremental_checks(at_size, size)
        checks += _memory_checks(at_size, size)
    checks += _scaling_checks(rows)
    if import_seconds is not None:
        checks.append(
            TargetCheck(
                f"`import function_app` ≤ {IMPORT_SECONDS} s",
                f"{import_seconds:.2f} s",
                import_seconds <= IMPORT_SECONDS,
            )
        )
    return checks


def _find(rows: Sequence[ResultRow], scenario: str, strategy: str) -> ResultRow | None:
    return next((r for r in rows if r.scenario == scenario and r.strategy == strategy), None)


def _full_sync_checks(rows: Sequence[ResultRow], size: int) -> list[TargetCheck]:
    checks = []
    for scenario in (FULL_TO_DATAVERSE, FULL_TO_BC):
        engine, baseline = _find(rows, scenario, ENGINE), _find(rows, scenario, BASELINE)
        if engine is None:
            continue
        share = engine.share_of_ceiling
        if share is not None:
            checks.append(
                TargetCheck(
                    f"N={size:,} {scenario}: ≥ {SHARE_OF_CEILING:.0%} of the ceiling",
                    f"{share:.1%}",
                    share >= SHARE_OF_CEILING,
                )
            )
        rate, base_rate = engine.records_per_second, baseline and baseline.records_per_second
        if rate is not None and base_rate:
            times = rate / base_rate
            checks.append(
                TargetCheck(
                    f"N={size:,} {scenario}: ≥ {TIMES_BASELINE:.0f}{TIMES} the per-record baseline",
                    f"{times:.0f}{TIMES}",
                    times >= TIMES_BASELINE,
                )
            )
        checks.append(_write_check(engine, scenario, size))
    return checks


def _write_check(engine: ResultRow, scenario: str, size: int) -> TargetCheck:
    if scenario == FULL_TO_DATAVERSE:
        side, writes, per = "Dataverse", engine.dataverse.writes, 1000
    else:
        side, writes, per = "BC", engine.bc.writes, 100
    allowed = WRITE_SLACK * math.ceil(size / per)
    return TargetCheck(
        f"N={size:,} {scenario}: write requests to {side} ≤ {WRITE_SLACK} {TIMES} ⌈N/{per}⌉ "
        f"= {allowed:g}",
        f"{writes}",
        writes <= allowed,
    )


def _incremental_checks(rows: Sequence[ResultRow], size: int) -> list[TargetCheck]:
    checks = []
    quiet = _find(rows, NO_CHANGE, ENGINE)
    if quiet is not None:
        checks.append(
            TargetCheck(
                f"N={size:,} no change: ≤ 1 read per side, 0 writes",
                f"BC {quiet.bc.reads} reads / {quiet.bc.writes} writes, "
                f"Dataverse {quiet.dataverse.reads} reads / {quiet.dataverse.writes} writes",
                quiet.bc.reads <= 1
                and quiet.dataverse.reads <= 1
                and quiet.bc.writes + quiet.dataverse.writes == 0,
            )
        )
    for scenario in (ONE_SIDE, BOTH_SIDES):
        changed = _find(rows, scenario, ENGINE)
        if changed is None or changed.records <= 0:
            continue
        allowed = _proportional_bound(changed.records)
        spent = changed.bc.requests + changed.dataverse.requests
        checks.append(
            TargetCheck(
                f"N={size:,} {scenario}: requests proportional to the {changed.records:,} "
                f"changes (≤ {allowed})",
                f"{spent} requests",
                spent <= allowed,
            )
        )
    return checks


def _proportional_bound(changes: int) -> int:
    """Twice what the changes need, however large the table.

    Per side: one read of changes, the counterparts' reads and the writes. A cost that grew
    with N instead would soon pass it.
    """
    needed = 2 + 2 * (
        math.ceil(changes / IDS_PER_BC_READ)
        + math.ceil(changes / IDS_PER_DATAVERSE_READ)
        + math.ceil(changes / 100)
    )
    return 2 * needed


def _memory_checks(rows: Sequence[ResultRow], size: int) -> list[TargetCheck]:
    peaks = [row.peak_rss_mb for row in rows if row.peak_rss_mb is not None]
    if size < RSS_SIZE or not peaks:
        return []
    peak = max(peaks)
    return [
        TargetCheck(
            f"N={size:,}: peak RSS of the engine process ≤ {PEAK_RSS_MB:.0f} MB",
            f"{peak:.0f} MB",
            peak <= PEAK_RSS_MB,
        )
    ]


def _scaling_checks(rows: Sequence[ResultRow]) -> list[TargetCheck]:
    checks = []
    for scenario in (FULL_TO_DATAVERSE, FULL_TO_BC):
        small = next((r for r in rows if _is(r, scenario) and r.size == 10_000), None)
        large = next((r for r in rows if _is(r, scenario) and r.size == 100_000), None)
        if small is None or large is None or small.seconds <= 0:
            continue
        ratio = large.seconds / small.seconds
        checks.append(
            TargetCheck(
                f"{scenario}: time(100k) / time(10k) ≤ {SCALING:g}",
                f"{ratio:.2f}",
                ratio <= SCALING,
            )
        )
    return checks


def _is(row: ResultRow, scenario: str) -> bool:
    return row.scenario == scenario and row.strategy == ENGINE
