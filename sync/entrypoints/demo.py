"""The demo: the main job on embedded defaults, against the in-process sandbox emulators.

Both emulators start in this process (seeded, with auth and service protection on), state goes
to a local SQLite file, and for every BC company the real engine runs: a full sync; then users
rename a customer in BC, move another in Dataverse, edit one customer's city on both sides (a
conflict, left and reported under the standard policy) and delete an account in Dataverse (an
error under the standard deletion policy); an incremental sync carries the edits across; a
last run shows that nothing echoes back. Per-record errors (values Dataverse holds that BC
refuses, currencies BC does not have) are the real ones the seed data provokes.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from sync.bootstrap import open_state_store
from sync.engine.runner import Runner
from sync.entrypoints.report import write_report
from sync.entrypoints.sandbox_engine import SandboxEditors, open_sandbox_engine
from sync.models import Coupling, RunMode, RunStatus, Side
from sync.settings import SqliteTarget
from sync.store import StateStore

_SQLITE = ("-wal", "-shm", "-journal")
"""The files SQLite keeps beside a database."""


async def run_demo(*, records: int, state_path: Path, out: TextIO) -> int:
    """Run the demo and write its report to ``out``; returns the process exit code.

    The state file is emptied first: the sandbox is seeded afresh on every run, so couplings
    kept from an earlier demo would point at records that no longer exist.
    """
    for leftover in (state_path, *(state_path.with_name(state_path.name + s) for s in _SQLITE)):
        leftover.unlink(missing_ok=True)
    store = open_state_store(SqliteTarget(path=state_path))
    engine, editors = await open_sandbox_engine(records=records, store=store)
    if sys.stderr.isatty():
        engine.progress = _show_progress
    out.write(f"Sandbox: {records} records per table; state in {state_path}\n")
    completed = True
    async with engine:
        for company in editors.bc.companies():
            runner = engine.runner(company["id"])
            out.write(f"\nCompany {company['name']}\n")
            completed &= await _demo_company(runner, store, editors, company["id"], out)
    return 0 if completed else 1


async def _demo_company(
    runner: Runner,
    store: StateStore,
    edit: SandboxEditors,
    company_id: str,
    out: TextIO,
) -> bool:
    full = await runner.run(RunMode.FULL)
    _clear_progress()
    write_report("full sync", full, out)
    pairs = [c async for c in store.couplings.load_couplings(full.run.scope, "CUSTOMER")][:4]
    if len(pairs) < len(_EDITS):
        out.write("  (too few coupled customers to play the edits; use more --records)\n")
        return full.run.status is not RunStatus.FAILED
    for pair, (description, play) in zip(pairs, _EDITS, strict=False):
        play(edit, company_id, pair)
        out.write(f"  a user {description}\n")
    incremental = await runner.run(RunMode.MODIFIED)
    write_report("incremental sync", incremental, out)
    quiet = await runner.run(RunMode.MODIFIED)
    write_report("incremental sync, nothing edited since", quiet, out)
    return all(r.run.status is not RunStatus.FAILED for r in (full, incremental, quiet))


def _rename_in_bc(edit: SandboxEditors, company_id: str, pair: Coupling) -> None:
    edit.bc.edit(company_id, "customers", pair.bc_id, {"displayName": "Renamed in BC"})


def _move_in_dataverse(edit: SandboxEditors, company_id: str, pair: Coupling) -> None:
    del company_id
    edit.dataverse.edit("accounts", pair.dataverse_id, {"address1_city": "Moved in Dataverse"})


def _conflict(edit: SandboxEditors, company_id: str, pair: Coupling) -> None:
    edit.bc.edit(company_id, "customers", pair.bc_id, {"city": "Aarhus"})
    edit.dataverse.edit("accounts", pair.dataverse_id, {"address1_city": "Odense"})


def _delete_in_dataverse(edit: SandboxEditors, company_id: str, pair: Coupling) -> None:
    del company_id
    edit.dataverse.delete("accounts", pair.dataverse_id)


_EDITS = (
    ("renames a customer in BC", _rename_in_bc),
    ("moves another customer's account to a new city in Dataverse", _move_in_dataverse),
    ("edits the city of a third customer on both sides (a conflict)", _conflict),
    ("deletes a fourth customer's account in Dataverse", _delete_in_dataverse),
)


def _clear_progress() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")


def _show_progress(mapping: str, side: Side, records: int) -> None:
    # One self-overwriting line on the terminal; the report itself goes to standard output.
    sys.stderr.write(f"\r    syncing {mapping} from {side}: {records} records \033[K")
    sys.stderr.flush()


def main(records: int, state_path: Path, out: TextIO) -> int:
    """Synchronous entry for the CLI."""
    return asyncio.run(run_demo(records=records, state_path=state_path, out=out))
