"""An in-process Dataverse sandbox behind the real ServiceClient, for the connector tests.

The emulator runs inside the sandbox's middlewares (bearer auth, service protection) and is
reached through ``httpx.ASGITransport``. Time is fake: the client's waits move a clock the
protection layer reads, so throttling tests do not sleep.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.dataverse import DataverseSandbox, create_app
from sandbox.server import DEFAULT_CLIENT_ID, SandboxApps, SandboxSettings, build_apps
from sync.connectors import (
    AdaptiveLimiter,
    BearerTokenAuth,
    RetryPolicy,
    ServiceClient,
    StaticTokenProvider,
)
from sync.connectors.dataverse import DataverseConnector

ORIGIN = "https://sandbox.crm.dynamics.com"
BASE_URL = f"{ORIGIN}/api/data/v9.2/"
SCOPE = f"{ORIGIN}/.default"
ACCOUNT_FIELDS = ("name", "accountnumber", "telephone1", "_parentaccountid_value")


class ManualClock:
    """The emulator's UTC time; moves only when a test says so."""

    def __init__(self) -> None:
        self.now = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class FakeTime:
    """Monotonic seconds for the protection windows, moved by the client's waits."""

    seconds: float = 1000.0
    waits: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.seconds

    async def sleep(self, delay: float) -> None:
        self.waits.append(delay)
        self.seconds += delay
        await asyncio.sleep(0)


@dataclass
class Environment:
    """One sandbox and the connector that talks to it."""

    apps: SandboxApps
    sandbox: DataverseSandbox
    client: ServiceClient
    connector: DataverseConnector
    time: FakeTime
    clock: ManualClock
    wrapper: Wrapper | None = None

    def requests_served(self) -> int:
        """API requests the emulator answered (throttled ones included)."""
        return sum(self.apps.dataverse.snapshot().counts.values())


@asynccontextmanager
async def open_environment(
    *,
    records: int = 20,
    settings: SandboxSettings | None = None,
    limiter: AdaptiveLimiter | None = None,
    bulk_size: int = 1000,
    wrap: type[Wrapper] | None = None,
    record_cost_seconds: float = 0.0,
) -> AsyncIterator[Environment]:
    """Start a sandbox with ``records`` accounts and contacts and a connector bound to it."""
    clock, time = ManualClock(), FakeTime()
    raw = create_app(seed=7, records=records, clock=clock, record_cost_seconds=record_cost_seconds)
    wrapper = None if wrap is None else wrap(raw)
    dataverse_app: ASGIApp = raw if wrapper is None else wrapper
    apps = build_apps(
        settings or SandboxSettings(records=0),
        clock=time.monotonic,
        sleep=time.sleep,
        dataverse_app=dataverse_app,
    )
    provider = StaticTokenProvider(lambda scope: apps.token_issuer.issue(DEFAULT_CLIENT_ID, scope))
    client = ServiceClient(
        service="dataverse",
        base_url=BASE_URL,
        auth=BearerTokenAuth(provider, SCOPE),
        limiter=limiter or AdaptiveLimiter(initial=4, maximum=52),
        retry=RetryPolicy(max_attempts=20, total_budget=3600, jitter=0),
        transport=httpx.ASGITransport(app=apps.dataverse),
        sleep=time.sleep,
    )
    connector = DataverseConnector(client, bulk_size=bulk_size)
    async with client:
        yield Environment(apps, raw.state.dataverse, client, connector, time, clock, wrapper)


class Wrapper:
    """An ASGI app placed between the middlewares and the emulator (to vary its answers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
