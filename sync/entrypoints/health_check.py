"""The checks behind ``GET /api/health``: the store, BC and Dataverse, each with a time limit.

``health`` registers the route and imports this module on the first call, so the settings and
views it needs are not loaded at cold start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from sync import __version__
from sync.connectors import ServiceClient
from sync.connectors.accounting import RequestKind
from sync.entrypoints.api_views import CheckView, HealthView
from sync.entrypoints.dependencies import Dependencies, get_dependencies
from sync.errors import ConfigError, SyncError

log = logging.getLogger("sync").getChild("health")

CHECK_SECONDS = 5.0


async def check_health() -> HealthView:
    """Check each dependency, at most ``CHECK_SECONDS`` each, all at once."""
    try:
        dependencies = await get_dependencies()
    except ConfigError as exc:
        log.warning("health: the app is not configured: %s", exc)
        checks = {"configuration": CheckView(status="not_configured")}
        return HealthView(status="degraded", version=__version__, checks=checks)
    store, bc, dataverse = await asyncio.gather(
        _check(_reach_store(dependencies)),
        _check(_reach(dependencies.engine.bc_client, "v2.0/companies", {"$top": "1"})),
        _check(_reach(dependencies.engine.dataverse_client, "WhoAmI", None)),
    )
    checks = {"store": store, "businessCentral": bc, "dataverse": dataverse}
    ok = all(check.status == "ok" for check in checks.values())
    return HealthView(status="ok" if ok else "degraded", version=__version__, checks=checks)


async def _check(probe: Awaitable[None]) -> CheckView:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            await probe
    except TimeoutError:
        return CheckView(status="failed", message=f"no answer within {CHECK_SECONDS:g} s")
    except SyncError as exc:
        log.warning("health check failed: %s", exc)
        return CheckView(status="failed", message=type(exc).__name__)
    return CheckView(status="ok")


async def _reach_store(dependencies: Dependencies) -> None:
    await dependencies.engine.store.runs.list_runs("health", limit=1)


async def _reach(client: ServiceClient, path: str, params: dict[str, str] | None) -> None:
    await client.request("GET", path, kind=RequestKind.READ, idempotent=True, params=params)
