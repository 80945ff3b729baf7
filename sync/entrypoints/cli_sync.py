"""Sync commands of the command line, against the configured services (``SYNC_*`` settings).

python -m sync run [--company ID] [--mapping NAME ...] [--full]
python -m sync plan [--company ID] [--mapping NAME ...] [--full]      (a dry run)
python -m sync couple MAPPING BC_ID DATAVERSE_ID [--company ID]
python -m sync uncouple MAPPING [--bc-id ID ...] [--dataverse-id ID ...] [--company ID]
python -m sync runs [--company ID] [--limit N]
python -m sync errors RUN_ID [--company ID]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from sync.bootstrap import Engine, open_engine
from sync.engine.record_operations import RecordOperations
from sync.engine.run_parts import RunResult
from sync.entrypoints.report import write_report
from sync.errors import ConfigError
from sync.models import RunMode
from sync.settings import get_settings

EngineOpener = Callable[[], Awaitable[Engine]]


def add_sync_commands(commands: Any) -> None:  # noqa: ANN401 - argparse's private subparsers type
    """Register the sync commands on the CLI's subparsers."""
    for name, dry_run, helptext in (
        ("run", False, "sync modified records now (or --full)"),
        ("plan", True, "show what a run would do, writing nothing"),
    ):
        command = commands.add_parser(name, help=helptext)
        _company_option(command)
        command.add_argument("--mapping", action="append", help="limit to these mappings")
        command.add_argument(
            "--full", action="store_true", help="full sync: create what is missing"
        )
        command.set_defaults(run=_command(_run), dry_run=dry_run)
    couple = commands.add_parser("couple", help="couple a BC record and a Dataverse row")
    for argument in ("mapping", "bc_id", "dataverse_id"):
        couple.add_argument(argument)
    _company_option(couple)
    couple.set_defaults(run=_command(_couple))
    uncouple = commands.add_parser("uncouple", help="remove couplings; records stay")
    uncouple.add_argument("mapping")
    uncouple.add_argument("--bc-id", action="append", default=[])
    uncouple.add_argument("--dataverse-id", action="append", default=[])
    _company_option(uncouple)
    uncouple.set_defaults(run=_command(_uncouple))
    runs = commands.add_parser("runs", help="list recent runs, newest first")
    runs.add_argument("--limit", type=int, default=20)
    _company_option(runs)
    runs.set_defaults(run=_command(_runs))
    errors = commands.add_parser("errors", help="list the per-record errors of a run")
    errors.add_argument("run_id")
    _company_option(errors)
    errors.set_defaults(run=_command(_errors))


def _company_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--company", help="BC company id; optional with one configured company")


def _command(
    action: Callable[[argparse.Namespace, Engine, str], Awaitable[int]],
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        opener: EngineOpener = args.open_engine or _configured_engine
        return asyncio.run(_with_engine(opener, action, args))

    return run


async def _with_engine(
    opener: EngineOpener,
    action: Callable[[argparse.Namespace, Engine, str], Awaitable[int]],
    args: argparse.Namespace,
) -> int:
    async with await opener() as engine:
        return await action(args, engine, _company(args, engine))


async def _configured_engine() -> Engine:
    return await open_engine(get_settings(), host="cli")


def _company(args: argparse.Namespace, engine: Engine) -> str:
    if args.company:
        return str(args.company)
    companies = engine.companies
    if len(companies) != 1:
        raise ConfigError(
            f"several BC companies are configured ({', '.join(companies)}); choose one with "
            "--company"
        )
    return companies[0]


async def _run(args: argparse.Namespace, engine: Engine, company: str) -> int:
    mode = RunMode.FULL if args.full else RunMode.MODIFIED
    result = await engine.runner(company).run(mode, mappings=args.mapping, dry_run=args.dry_run)
    if args.dry_run:
        _print_plan(result)
    write_report("dry run" if args.dry_run else mode.value, result, sys.stdout)
    return 0


def _print_plan(result: RunResult) -> None:
    for operation in result.plan:
        if operation.kind in ("unchanged", "skip"):
            continue
        write = operation.dataverse_write or operation.bc_write
        values = json.dumps(write.values, ensure_ascii=False) if write else ""
        ids = f"bc={operation.bc_id} dataverse={operation.dataverse_id}"
        sys.stdout.write(f"  {operation.kind:<9} {operation.mapping:<16} {ids} {values}\n")


async def _couple(args: argparse.Namespace, engine: Engine, company: str) -> int:
    operations = RecordOperations(engine.runner(company).parts)
    result = await operations.couple(args.mapping, args.bc_id, args.dataverse_id)
    write_report("couple", result, sys.stdout)
    return 0


async def _uncouple(args: argparse.Namespace, engine: Engine, company: str) -> int:
    operations = RecordOperations(engine.runner(company).parts)
    result = await operations.uncouple(
        args.mapping, bc_ids=args.bc_id, dataverse_ids=args.dataverse_id
    )
    write_report("uncouple", result, sys.stdout)
    return 0


async def _runs(args: argparse.Namespace, engine: Engine, company: str) -> int:
    scope = engine.runner(company).parts.scope.key
    for run in await engine.store.runs.list_runs(scope, limit=args.limit):
        counters = run.counters
        sys.stdout.write(
            f"{run.id}  {run.started_at:%Y-%m-%d %H:%M:%S}  {run.mode.value:<9} "
            f"{run.status.value:<9} inserted={counters.inserted} modified={counters.modified} "
            f"failed={counters.failed} conflicts={counters.conflicts}\n"
        )
    return 0


async def _errors(args: argparse.Namespace, engine: Engine, company: str) -> int:
    scope = engine.runner(company).parts.scope.key
    for error in await engine.store.runs.list_errors(scope, args.run_id):
        sys.stdout.write(
            f"{error.mapping} {error.side} {error.record_id} [{error.error_class}/{error.code}] "
            f"attempt {error.attempt}: {error.message}\n"
        )
    return 0
