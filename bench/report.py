"""`BENCHMARKS.md`: the machine, the command, the date, the tables and the targets.

The bench owns the part between `BEGIN` and `END` markers and rewrites only that; whatever
stands before or after (findings, profiles, proposed fixes) is kept as written.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import psutil

from bench.capacity import Capacity
from bench.ceiling import bc_write_rate, dataverse_write_rate
from bench.costs import ModelledCosts
from bench.result import BASELINE, ENGINE, ResultRow
from bench.tally import SideTally
from bench.targets import TargetCheck

BEGIN: Final = "<!-- bench:begin (written by `python -m bench`; edits here are overwritten) -->"
END: Final = "<!-- bench:end -->"
_GIB: Final = 1024**3
TIMES: Final = "\N{MULTIPLICATION SIGN}"


@dataclass(frozen=True, slots=True)
class RunFacts:
    """Where, when and how the benchmark ran."""

    command: str
    costs: ModelledCosts
    started: datetime
    seconds: float


def machine() -> str:
    """The machine in one line: CPU, cores, memory, OS and Python."""
    return (
        f"{_cpu_model()}, {os.cpu_count()} logical cores, "
        f"{psutil.virtual_memory().total / _GIB:.0f} GiB RAM; {platform.platform()}; "
        f"Python {platform.python_version()}"
    )


def render(
    facts: RunFacts,
    rows: Sequence[ResultRow],
    capacities: Sequence[Capacity],
    import_seconds: float | None,
    checks: Sequence[TargetCheck],
) -> str:
    """The generated section, markers included."""
    lines = [
        BEGIN,
        "",
        f"- **Command:** `{facts.command}`",
        f"- **Date:** {facts.started.astimezone(UTC):%Y-%m-%d %H:%M} UTC "
        f"(the whole run took {facts.seconds / 60:.1f} min)",
        f"- **Machine:** {machine()}",
        f"- **Sandbox:** {facts.costs.describe()}",
        "",
        *_throughput_table(rows),
        "",
        *_request_table(rows),
        "",
        *_capacity_table(capacities, facts.costs),
        "",
        "`import function_app` in a fresh interpreter (median of 5): "
        + (f"{import_seconds:.2f} s" if import_seconds is not None else "not measured"),
        "",
        *_targets_list(checks),
        "",
        END,
    ]
    return "\n".join(lines)


def write_report(path: Path, section: str) -> None:
    """Put `section` in place of the generated part of `path`, keeping everything else."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        after = rest.split(END, 1)[1]
        text = before + section + after
    else:
        text = "# Benchmarks\n\n" + section + "\n" + (("\n" + text) if text else "")
    path.write_text(text, encoding="utf-8")


def _throughput_table(rows: Sequence[ResultRow]) -> list[str]:
    lines = [
        "| N | scenario | strategy | records | time (s) | records/s | ceiling (records/s) "
        "| % of ceiling | engine ÷ per-record | peak RSS (MB) | outcome |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        rate, share = row.records_per_second, row.share_of_ceiling
        approximate = "≈ " if row.sampled is not None and row.sampled < row.records else ""
        lines.append(
            f"| {row.size:,} | {row.scenario} | {row.strategy} | {row.records:,} "
            f"| {approximate}{row.seconds:,.1f} | {_number(rate)} | {_number(row.ceiling)} "
            f"| {'' if share is None else f'{share:.0%}'} | {_speedup(row, rows)} "
            f"| {_number(row.peak_rss_mb)} | {row.outcome} |"
        )
    lines += [
        "",
        "Per-record rows ran a sample (the outcome says how many records); their time is the "
        "sample's, scaled to all records (≈). Records per second count the records the "
        "scenario moves (for incremental runs: the changed pairs).",
    ]
    return lines


def _request_table(rows: Sequence[ResultRow]) -> list[str]:
    lines = [
        "HTTP requests each side served (reads / writes / retries / 429s), in total and per "
        "1,000 records (per-record rows: per 1,000 records of their sample):",
        "",
        "| N | scenario | strategy | BC | Dataverse | BC per 1,000 | Dataverse per 1,000 |",
        "|---:|---|---|---|---|---|---|",
    ]
    for row in rows:
        basis = row.sampled if row.sampled is not None else row.records
        lines.append(
            f"| {row.size:,} | {row.scenario} | {row.strategy} | {_counts(row.bc)} "
            f"| {_counts(row.dataverse)} | {_per_thousand(row.bc, basis)} "
            f"| {_per_thousand(row.dataverse, basis)} |"
        )
    return lines


def _capacity_table(capacities: Sequence[Capacity], costs: ModelledCosts) -> list[str]:
    if not capacities:
        return ["The sandbox's own capacity was not measured in this run."]
    best = {"Dataverse": dataverse_write_rate(costs), "BC": bc_write_rate(costs)}
    lines = [
        "The sandbox alone (no modelled cost, no limits, driven straight over HTTP) against the "
        "write ceiling of the same service:",
        "",
        f"| probe | records | time (s) | records/s | {TIMES} the service's write ceiling |",
        "|---|---:|---:|---:|---:|",
    ]
    for capacity in capacities:
        service = capacity.probe.split()[0]
        times = capacity.records_per_second / best[service]
        lines.append(
            f"| {capacity.probe} | {capacity.records:,} | {capacity.seconds:.2f} "
            f"| {capacity.records_per_second:,.0f} | {times:,.{0 if times >= 10 else 1}f}{TIMES} |"
        )
    return lines


def _targets_list(checks: Sequence[TargetCheck]) -> list[str]:
    lines = ["Targets of issue 8:", ""]
    for check in checks:
        verdict = {True: "met", False: "**missed**", None: "not measured"}[check.met]
        lines.append(f"- {verdict}: {check.target} (measured: {check.measured})")
    return lines


def _speedup(row: ResultRow, rows: Sequence[ResultRow]) -> str:
    if row.strategy != ENGINE or row.records_per_second is None:
        return ""
    baseline = next(
        (
            other
            for other in rows
            if other.size == row.size
            and other.scenario == row.scenario
            and other.strategy == BASELINE
        ),
        None,
    )
    if baseline is None or not baseline.records_per_second:
        return ""
    return f"{row.records_per_second / baseline.records_per_second:,.0f}{TIMES}"


def _counts(tally: SideTally) -> str:
    return f"{tally.reads} / {tally.writes} / {tally.retries} / {tally.throttled}"


def _per_thousand(tally: SideTally, records: int) -> str:
    if records <= 0:
        return "—"
    scale = 1000 / records
    return " / ".join(
        f"{value * scale:.1f}"
        for value in (tally.reads, tally.writes, tally.retries, tally.throttled)
    )


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
