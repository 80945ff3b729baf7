"""An Engine over the in-process sandbox emulators: for the demo and for tests, never Azure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from sync.bootstrap import Engine, service_clients
from sync.clock import SystemClock
from sync.connectors import StaticTokenProvider
from sync.settings import RunLimits
from sync.store import StateStore

BC_HOST = "https://api.businesscentral.sandbox"

if TYPE_CHECKING:
    from sandbox.business_central.service import BusinessCentralService
    from sandbox.dataverse.control import DataverseSandbox


@dataclass(frozen=True)
class SandboxEditors:
    """The emulators' control planes: how a demo or a test plays a user editing records."""

    bc: BusinessCentralService
    dataverse: DataverseSandbox


async def open_sandbox_engine(*, records: int, store: StateStore) -> tuple[Engine, SandboxEditors]:
    """Seeded emulators (auth and service protection on), wired to an Engine on ``store``."""
    from sandbox import business_central, dataverse  # noqa: PLC0415 - not deployed to Azure
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
    await store.ensure_tables()
    engine = Engine(
        store=store,
        bc_client=bc_client,
        dataverse_client=dataverse_client,
        tenant=settings.tenant_id,
        environment=settings.environment,
        limits=RunLimits(),
        clock=SystemClock(),
        companies=tuple(bc_app.state.bc.company_ids()),
    )
    return engine, SandboxEditors(bc=bc_app.state.bc, dataverse=dataverse_app.state.dataverse)
