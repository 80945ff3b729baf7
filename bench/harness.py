"""The real engine composed against a served sandbox, as `sync.entrypoints.demo` composes it.

Differences from the demo: requests travel over loopback HTTP (the default httpx transport)
to the sandbox process, tokens come from its token endpoint, and the run limits leave a 100k
load enough time (the production budget of 8 minutes would cut a full sync short).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

from bench.served import SandboxUrls
from bench.workload import bench_mappings
from sync.bootstrap import BC_SCOPE, Engine, open_state_store, service_clients
from sync.clock import SystemClock
from sync.connectors import StaticTokenProvider
from sync.engine.runner import Runner
from sync.mappings.configuration import replace_configuration
from sync.models import Scope
from sync.settings import RunLimits, SqliteTarget

__all__ = ["BC_SCOPE", "BENCH_LIMITS", "BenchEngine", "open_bench_engine", "token_fetcher"]

BENCH_LIMITS: Final = RunLimits(time_budget_seconds=3600, lease_seconds=3600)
"""Production limits, except a run may take up to an hour."""
_TOKEN_TIMEOUT_SECONDS: Final = 30.0


@dataclass(frozen=True, slots=True)
class BenchEngine:
    """An engine, the runner of the company under test, and its scope."""

    engine: Engine
    runner: Runner
    scope: Scope


def token_fetcher(urls: SandboxUrls, secret: str) -> StaticTokenProvider:
    """Tokens from the sandbox's token endpoint (client credentials), once per scope."""

    def fetch(scope: str) -> str:
        # Synchronous, once per scope per engine: not worth an async provider of our own.
        response = httpx.post(
            f"{urls.token_authority}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": urls.client_id,
                "client_secret": secret,
                "scope": scope,
            },
            timeout=_TOKEN_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    return StaticTokenProvider(fetch)


@contextlib.asynccontextmanager
async def open_bench_engine(
    urls: SandboxUrls, *, company_id: str, state_path: Path, secret: str
) -> AsyncIterator[BenchEngine]:
    """Open the engine on a fresh SQLite state store holding the bench mapping set."""
    bc_client, dataverse_client = service_clients(
        bc_root=urls.business_central.removesuffix("/v2.0"),
        dataverse_url=urls.dataverse_host,
        tokens=token_fetcher(urls, secret),
    )
    store = open_state_store(SqliteTarget(path=state_path))
    await store.ensure_tables()
    scope = Scope(tenant=urls.tenant_id, environment=urls.environment, company_id=company_id)
    await replace_configuration(store.mappings, scope.key, bench_mappings())
    engine = Engine(
        store=store,
        bc_client=bc_client,
        dataverse_client=dataverse_client,
        tenant=scope.tenant,
        environment=scope.environment,
        limits=BENCH_LIMITS,
        clock=SystemClock(),
    )
    async with engine:
        yield BenchEngine(engine=engine, runner=engine.runner(company_id), scope=scope)
