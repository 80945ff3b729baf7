"""Readable run reports for the command line: counters per mapping, then the errors."""

from __future__ import annotations

from typing import TextIO

from sync.engine.run_parts import RunResult
from sync.models import RunCounters

COLUMNS = ("inserted", "modified", "unchanged", "skipped", "failed", "conflicts", "coupled")
MAX_ERRORS_SHOWN = 8


def write_report(label: str, result: RunResult, out: TextIO) -> None:
    """Print one run: status and time, a counters table per mapping, the first errors."""
    run = result.run
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
    out.write(f"  {label}: {run.status.value} in {seconds:.1f} s (run {run.id})\n")
    if run.message:
        out.write(f"    note: {run.message}\n")
    out.write("    " + f"{'mapping':<16}" + "".join(f"{c:>10}" for c in COLUMNS) + "\n")
    for mapping, counters in result.by_mapping.items():
        out.write("    " + _row(mapping, counters) + "\n")
    out.write("    " + _row("total", run.counters) + "\n")
    if result.errors:
        shown = result.errors[:MAX_ERRORS_SHOWN]
        out.write(f"    per-record errors: {len(result.errors)} (first {len(shown)})\n")
        for error in shown:
            out.write(
                f"      {error.mapping} {error.side} {error.record_id} [{error.code}] "
                f"{error.message}\n"
            )


def _row(name: str, counters: RunCounters) -> str:
    return f"{name:<16}" + "".join(f"{getattr(counters, c):>10}" for c in COLUMNS)
