"""Command line: the demo, syncs against configured services, and mapping files.

    python -m sync demo [--records N] [--state PATH]
    python -m sync run | plan | couple | uncouple | runs | errors ...   (see cli_sync.py)
    python -m sync mappings validate FILE
    python -m sync mappings export [--company ID] [--output FILE]
    python -m sync mappings import FILE --company ID
    python -m sync mappings reset --company ID

Mapping commands that touch stored configuration use the configured BC tenant and environment
(``SYNC_BC__*``) and the CLI's state store (``SYNC_STORE__*``, by default ``.sync/state.db``).
Errors are printed as one clear message with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from sync.bootstrap import open_state_store
from sync.entrypoints.cli_sync import EngineOpener, add_sync_commands
from sync.errors import ConfigError, SyncError
from sync.mappings import export_mappings, import_mappings, standard_mappings
from sync.mappings.configuration import (
    load_configuration,
    replace_configuration,
    reset_configuration,
)
from sync.models import Scope
from sync.ports import MappingStore
from sync.settings import get_settings, resolve_store

EXIT_USAGE = 2
T = TypeVar("T")


def main(argv: Sequence[str] | None = None, *, open_engine: EngineOpener | None = None) -> int:
    """Run one command; returns the exit code (0 ok, 2 bad input or settings).

    ``open_engine`` replaces the engine built from settings (tests pass a sandbox engine).
    """
    args = _parser().parse_args(argv)
    args.open_engine = open_engine
    try:
        return int(args.run(args))
    except SyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sync", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(required=True, metavar="command")
    demo = commands.add_parser("demo", help="run the main job on embedded defaults")
    demo.add_argument("--records", type=int, default=200, help="records per table in the sandbox")
    demo.add_argument("--state", type=Path, default=Path(".sync/demo.db"), help="SQLite state file")
    demo.set_defaults(run=_demo)
    mappings = commands.add_parser("mappings", help="validate, export, import or reset mappings")
    actions = mappings.add_subparsers(required=True, metavar="action")
    validate = actions.add_parser("validate", help="check a mapping file")
    validate.add_argument("file", type=Path)
    validate.set_defaults(run=_validate)
    export = actions.add_parser("export", help="write the mappings (saved or standard) as JSON")
    export.add_argument("--company", help="BC company id; the standard set when omitted")
    export.add_argument("--output", type=Path, help="file to write; standard output when omitted")
    export.set_defaults(run=_export)
    load = actions.add_parser("import", help="validate a mapping file and save it for a company")
    load.add_argument("file", type=Path)
    load.add_argument("--company", required=True, help="BC company id")
    load.set_defaults(run=_import)
    reset = actions.add_parser("reset", help="forget saved mappings; the standard set applies")
    reset.add_argument("--company", required=True, help="BC company id")
    reset.set_defaults(run=_reset)
    add_sync_commands(commands)
    return parser


def _demo(args: argparse.Namespace) -> int:
    from sync.entrypoints.demo import main as run_demo  # noqa: PLC0415 - needs the sandbox

    return run_demo(records=args.records, state_path=args.state, out=sys.stdout)


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SyncError(f"cannot read the mapping file {file}: {exc.strerror}") from exc


def _validate(args: argparse.Namespace) -> int:
    mappings = import_mappings(_read(args.file), source=str(args.file))
    print(f"{args.file}: {len(mappings.mappings)} mappings, valid")
    return 0


def _export(args: argparse.Namespace) -> int:
    if args.company is None:
        mappings = standard_mappings()
    else:
        mappings = asyncio.run(_on_company_store(args.company, load_configuration))
    text = export_mappings(mappings)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


def _import(args: argparse.Namespace) -> int:
    mappings = import_mappings(_read(args.file), source=str(args.file))

    async def save(store: MappingStore, scope: str) -> None:
        await replace_configuration(store, scope, mappings)

    asyncio.run(_on_company_store(args.company, save))
    print(f"saved {len(mappings.mappings)} mappings for company {args.company}")
    return 0


def _reset(args: argparse.Namespace) -> int:
    asyncio.run(_on_company_store(args.company, reset_configuration))
    print(f"company {args.company} uses the standard mappings again")
    return 0


async def _on_company_store(company: str, action: Callable[[MappingStore, str], Awaitable[T]]) -> T:
    settings = get_settings()
    bc = settings.bc
    if bc is None:
        raise ConfigError(
            "set SYNC_BC__TENANT_ID and SYNC_BC__COMPANIES to work on stored mappings"
        )
    if company not in bc.companies:
        raise ConfigError(
            f"company {company} is not in SYNC_BC__COMPANIES ({', '.join(bc.companies)})"
        )
    scope = Scope(tenant=bc.tenant_id, environment=bc.environment, company_id=company)
    async with open_state_store(resolve_store(settings, host="cli")) as store:
        await store.ensure_tables()
        return await action(store.mappings, scope.key)
