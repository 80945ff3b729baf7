"""The demo: the main job on embedded defaults, against the in-process sandbox emulators.

Both emulators start in this process (seeded, with auth and service protection on), state goes
to a local SQLite file, and for every BC company the real engine runs: a full sync, then a
user edits a customer in BC and an account in Dataverse, then an incremental sync carries both
edits across, and a last run shows that nothing echoes back.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import httpx

from sync.bootstrap import Engine, open_state_store, service_clients
from sync.clock import SystemClock
from sync.connectors import StaticTokenProvider
from sync.engine.run_parts import RunResult
from sync.engine.runner import Runner
from sync.models import RunMode
from sync.settings import RunLimits, SqliteTarget
from sync.store import StateStore

BC_HOST = "https://api.businesscentral.sandbox"

if TYPE_CHECKING:
    from sandbox.business_central.service import BusinessCentralService
    from sandbox.dataverse.control import DataverseSandbox


@dataclass(frozen=True)
class _Editors:
    """The emulators' control planes: how the demo plays a user editing records."""

    bc: BusinessCentralService
    dataverse: DataverseSandbox


async def run_demo(*, records: int, state_path: Path, out: TextIO) -> int:
    """Run the demo and write its report to ``out``; returns the process exit code."""
    from sandbox import business_central, dataverse  # noqa: PLC0415 - the demo's stand-ins
    from sandbox.server import SandboxSettings, build_apps  # noqa: PLC0415

    settings = SandboxSettings(records=records)
    bc_app = business_central.create_app(seed=settings.seed, records=records)
    dataverse_app = dataverse.create_app(seed=settings.seed, records=records)
    apps = build_apps(settings, business_central_app=bc_app, dataverse_app=dataverse_app)
    tokens = StaticTokenProvider(lambda scope: apps.token_issuer.issue("sandbox-client", scope))
    bc_client, dataverse_client = service_clients(
        bc_root=f"{BC_HOST}/v2.0/{settings.tenant_id}/{settings.environment}/api",
        dataverse_url=settings.auth.dataverse_audience,
        tokens=tokens,
        transports=(
            httpx.ASGITransport(app=apps.business_central),
            httpx.ASGITransport(app=apps.dataverse),
        ),
    )
    store = open_state_store(SqliteTarget(path=state_path))
    await store.ensure_tables()
    engine = Engine(
        store=store,
        bc_client=bc_client,
        dataverse_client=dataverse_client,
        tenant=settings.tenant_id,
        environment=settings.environment,
        limits=RunLimits(),
        clock=SystemClock(),
    )
    editors = _Editors(bc=bc_app.state.bc, dataverse=dataverse_app.state.dataverse)
    out.write(f"Sandbox: {records} records per table; state in {state_path}\n")
    failures = 0
    async with engine:
        for company in editors.bc.companies():
            runner = engine.runner(company["id"])
            out.write(f"\nCompany {company['name']}\n")
            failures += await _demo_company(runner, store, editors, company["id"], out)
    return 0 if failures == 0 else 1


async def _demo_company(
    runner: Runner,
    store: StateStore,
    edit: _Editors,
    company_id: str,
    out: TextIO,
) -> int:
    full = await runner.run(RunMode.FULL)
    _report("full sync", full, out)
    scope = full.run.scope
    pairs = [c async for c in store.couplings.load_couplings(scope, "CUSTOMER")][:2]
    if len(pairs) == 2:  # noqa: PLR2004 - one pair edited on each side
        edit.bc.edit(company_id, "customers", pairs[0].bc_id, {"displayName": "Edited in BC"})
        edit.dataverse.edit("accounts", pairs[1].dataverse_id, {"address1_city": "Edited in CRM"})
        out.write("  a user edits one customer in BC and another in Dataverse\n")
    _report("incremental sync", await runner.run(RunMode.MODIFIED), out)
    _report("incremental sync, no changes", await runner.run(RunMode.MODIFIED), out)
    return full.run.counters.failed


def _report(label: str, result: RunResult, out: TextIO) -> None:
    counters = result.run.counters
    out.write(
        f"  {label:<30} {result.run.status.value:<9} inserted={counters.inserted} "
        f"modified={counters.modified} unchanged={counters.unchanged} "
        f"skipped={counters.skipped} failed={counters.failed} conflicts={counters.conflicts}\n"
    )
    for error in result.errors[:3]:
        out.write(f"    error {error.mapping} {error.side} {error.record_id}: {error.message}\n")


def main(records: int, state_path: Path, out: TextIO) -> int:
    """Synchronous entry for the CLI."""
    return asyncio.run(run_demo(records=records, state_path=state_path, out=out))
