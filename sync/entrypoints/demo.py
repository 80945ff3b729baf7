"""The demo: the main job on embedded defaults, against the in-process sandbox emulators.

It starts both emulators in this process (seeded, with auth and throttling on), opens the local
SQLite state store, and for every BC company shows the mapping configuration in dependency order,
how many records each side's filter selects, and the stored sync state. The sync engine itself
lands with the engine issue; until then the demo reads both sides and writes nothing to them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx

from sync.bootstrap import open_state_store
from sync.mappings.configuration import load_configuration
from sync.models import MappingSet, Scope, Side, TableMapping
from sync.settings import SqliteTarget
from sync.store import StateStore

BC_URL = "http://bc.sandbox"
DATAVERSE_URL = "http://dataverse.sandbox"


@dataclass(frozen=True)
class _Sandbox:
    bc: httpx.AsyncClient
    dataverse: httpx.AsyncClient
    bc_root: str
    tenant: str
    environment: str


async def run_demo(*, records: int, state_path: Path, out: TextIO) -> int:
    """Run the demo and write its report to ``out``; returns the process exit code."""
    sandbox = _start_sandbox(records)
    store = open_state_store(SqliteTarget(path=state_path))
    async with store, sandbox.bc, sandbox.dataverse:
        await store.ensure_tables()
        companies = await _first_page(sandbox.bc, f"{sandbox.bc_root}/companies")
        out.write(f"Sandbox: {len(companies)} BC companies, {records} records per table\n")
        out.write(f"State store: {state_path}\n")
        for company in companies:
            scope = Scope(
                tenant=sandbox.tenant, environment=sandbox.environment, company_id=company["id"]
            )
            out.write(f"\nCompany {company['name']} (scope {scope.key})\n")
            mappings = await load_configuration(store.mappings, scope.key)
            await _report_company(sandbox, store, scope, mappings, out)
    out.write(
        "\nNothing was written to either side: the sync engine lands with the engine issue.\n"
    )
    return 0


def _start_sandbox(records: int) -> _Sandbox:
    from sandbox.server import BUSINESS_CENTRAL_SCOPE, SandboxSettings, build_apps  # noqa: PLC0415

    settings = SandboxSettings(records=records)
    apps = build_apps(settings)
    dataverse_scope = f"{settings.auth.dataverse_audience}/.default"
    bc_token = apps.token_issuer.issue("sandbox-client", BUSINESS_CENTRAL_SCOPE)
    dataverse_token = apps.token_issuer.issue("sandbox-client", dataverse_scope)
    return _Sandbox(
        bc=_client(apps.business_central, BC_URL, bc_token),
        dataverse=_client(apps.dataverse, DATAVERSE_URL, dataverse_token),
        bc_root=f"/v2.0/{settings.tenant_id}/{settings.environment}/api/v2.0",
        tenant=settings.tenant_id,
        environment=settings.environment,
    )


def _client(app: Any, base_url: str, token: str) -> httpx.AsyncClient:  # noqa: ANN401 - ASGI app
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}"},
    )


async def _report_company(
    sandbox: _Sandbox, store: StateStore, scope: Scope, mappings: MappingSet, out: TextIO
) -> None:
    out.write(
        f"  {'mapping':<16} {'direction':<15} {'BC':>6} {'Dataverse':>10} {'couplings':>10}\n"
    )
    for mapping in mappings.in_dependency_order():
        bc_count = await _count(
            sandbox.bc, _bc_path(sandbox, scope, mapping), mapping.bc_filter.to_odata()
        )
        dataverse_count = await _count_dataverse(sandbox, mapping)
        couplings = [c async for c in store.couplings.load_couplings(scope.key, mapping.name)]
        out.write(
            f"  {mapping.name:<16} {mapping.direction.value:<15} {bc_count:>6} "
            f"{dataverse_count:>10} {len(couplings):>10}\n"
        )
        for side in Side:
            watermark = await store.watermarks.load_watermark(scope.key, mapping.name, side)
            if watermark is not None and watermark.modified_at is not None:
                out.write(f"    {side.value} read up to {watermark.modified_at.isoformat()}\n")
    runs = await store.runs.list_runs(scope.key, limit=3)
    out.write(f"  runs recorded: {len(runs)}\n")


def _bc_path(sandbox: _Sandbox, scope: Scope, mapping: TableMapping) -> str:
    if mapping.bc_api == "v2.0":
        root = sandbox.bc_root
    else:
        root = f"/v2.0/{sandbox.tenant}/{sandbox.environment}/api/{mapping.bc_api}"
    return f"{root}/companies({scope.company_id})/{mapping.bc_entity}"


async def _count_dataverse(sandbox: _Sandbox, mapping: TableMapping) -> str:
    if mapping.is_option:
        # An option mapping's rows are the choices of one column, not rows of the table.
        return "choices"
    path = f"/api/data/v9.2/{mapping.dataverse_entity_set}"
    return str(await _count(sandbox.dataverse, path, mapping.dataverse_filter.to_odata()))


async def _count(client: httpx.AsyncClient, path: str, odata_filter: str | None) -> int:
    params = {"$filter": odata_filter} if odata_filter else {}
    return sum([1 async for _ in _rows(client, path, params)])


async def _rows(
    client: httpx.AsyncClient, url: str, params: dict[str, str]
) -> AsyncIterator[dict[str, Any]]:
    next_url: str | None = url
    while next_url is not None:
        response = await client.get(next_url, params=params)
        response.raise_for_status()
        page = response.json()
        for row in page["value"]:
            yield row
        next_url, params = page.get("@odata.nextLink"), {}


async def _first_page(client: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    return [row async for row in _rows(client, url, {})]


def main(records: int, state_path: Path, out: TextIO) -> int:
    """Synchronous entry for the CLI."""
    return asyncio.run(run_demo(records=records, state_path=state_path, out=out))
