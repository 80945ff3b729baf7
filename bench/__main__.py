"""`python -m bench [--sizes 10000,100000] [--smoke] [--output BENCHMARKS.md]`.

Each size's two groups of scenarios run in fresh child processes (so that each peak RSS is that
group's own) against freshly served sandboxes; then the sandbox's own capacity and
`import function_app` are measured, and the tables are written to `BENCHMARKS.md` (between its
markers) and printed.

`--smoke` runs one small size in this process with near-zero modelled costs, prints the tables
and writes nothing unless `--output` is given: a check that the bench works, not a measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from bench.capacity import Capacity, measure_capacity
from bench.cold_start import import_seconds
from bench.costs import ModelledCosts
from bench.report import RunFacts, render, write_report
from bench.result import ResultRow
from bench.scenarios import GROUPS, SizePlan, run_size
from bench.targets import check_targets
from sandbox.server import DEFAULT_CLIENT_SECRET

BENCH_COSTS: Final = ModelledCosts(latency_ms=100.0, record_cost_ms=5.0, window_seconds=300.0)
"""Realistic shapes (a write request costs 100 ms plus 5 ms per record) under the contract's
limits, unscaled; the Dataverse write ceiling is then ~780 records/s and BC's ~830."""
SMOKE_COSTS: Final = ModelledCosts(latency_ms=1.0, record_cost_ms=0.05, window_seconds=300.0)
DEFAULT_SIZES: Final = (10_000, 100_000)
SMOKE_SIZE: Final = 1000
_REPO_ROOT: Final = Path(__file__).resolve().parent.parent

log = logging.getLogger("bench")


@dataclass(frozen=True, slots=True)
class Options:
    """What one invocation runs."""

    sizes: tuple[int, ...]
    costs: ModelledCosts
    baseline_sample: int
    capacity_records: int
    output: Path | None
    in_process: bool


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    arguments = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    log.setLevel(logging.INFO)
    if arguments.one_size is not None:
        return _run_one_size(arguments)
    options = _options(arguments)
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    section = asyncio.run(_run(options, command.strip()))
    print(section)
    if options.output is not None:
        write_report(options.output, section)
        log.info("wrote %s", options.output)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--sizes",
        default=",".join(str(size) for size in DEFAULT_SIZES),
        help="comma-separated table sizes N (default: %(default)s)",
    )
    parser.add_argument(
        "--smoke", action="store_true", help=f"one size of {SMOKE_SIZE}, near-zero costs, fast"
    )
    parser.add_argument(
        "--output", type=Path, help="where to write the tables (default: BENCHMARKS.md)"
    )
    parser.add_argument(
        "--baseline-sample",
        type=int,
        default=100,
        help="records the per-record baseline syncs per scenario (default: %(default)s)",
    )
    parser.add_argument(
        "--capacity-records",
        type=int,
        default=20_000,
        help="records per probe of the sandbox's own capacity (default: %(default)s)",
    )
    parser.add_argument("--one-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--group", choices=GROUPS, default=GROUPS[0], help=argparse.SUPPRESS)
    parser.add_argument("--rows-json", type=Path, help=argparse.SUPPRESS)
    return parser


def _options(arguments: argparse.Namespace) -> Options:
    if arguments.smoke:
        return Options(
            sizes=(SMOKE_SIZE,),
            costs=SMOKE_COSTS,
            baseline_sample=min(arguments.baseline_sample, 20),
            capacity_records=min(arguments.capacity_records, 2000),
            output=arguments.output,
            in_process=True,
        )
    sizes = tuple(int(size) for size in arguments.sizes.split(",") if size.strip())
    return Options(
        sizes=sizes,
        costs=BENCH_COSTS,
        baseline_sample=arguments.baseline_sample,
        capacity_records=arguments.capacity_records,
        output=arguments.output or _REPO_ROOT / "BENCHMARKS.md",
        in_process=False,
    )


async def _run(options: Options, command: str) -> str:
    started, clock = datetime.now(UTC), time.perf_counter()
    rows: list[ResultRow] = []
    for size in options.sizes:
        log.info("size %s: starting", f"{size:,}")
        plan = SizePlan(size, options.costs, options.baseline_sample, DEFAULT_CLIENT_SECRET)
        rows += await run_size(plan) if options.in_process else await _in_child(plan)
    log.info("probing the sandbox's own capacity")
    capacities: list[Capacity] = await measure_capacity(
        options.capacity_records, secret=DEFAULT_CLIENT_SECRET
    )
    seconds = import_seconds(repeats=1 if options.in_process else 5)
    facts = RunFacts(command, options.costs, started, time.perf_counter() - clock)
    return render(facts, rows, capacities, seconds, check_targets(rows, seconds))


async def _in_child(plan: SizePlan) -> list[ResultRow]:
    rows: list[ResultRow] = []
    with tempfile.TemporaryDirectory(prefix="bench-rows-") as folder:
        for group in GROUPS:
            rows_file = Path(folder, f"{group}.json")
            command = [
                sys.executable,
                "-m",
                "bench",
                f"--one-size={plan.size}",
                f"--group={group}",
                f"--baseline-sample={plan.baseline_sample}",
                f"--rows-json={rows_file}",
            ]
            # A blocking wait is fine: this process does nothing else meanwhile.
            subprocess.run(command, cwd=_REPO_ROOT, check=True)
            rows += [ResultRow.from_json(row) for row in json.loads(rows_file.read_text())]
    return rows


def _run_one_size(arguments: argparse.Namespace) -> int:
    plan = SizePlan(
        arguments.one_size, BENCH_COSTS, arguments.baseline_sample, DEFAULT_CLIENT_SECRET
    )
    rows = asyncio.run(run_size(plan, [arguments.group]))
    arguments.rows_json.write_text(json.dumps([row.to_json() for row in rows]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
