"""The in-process sandbox wired to the shared connector core, for the connector core's tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.errors import dataverse_error
from sandbox.server import (
    BUSINESS_CENTRAL_SCOPE,
    DEFAULT_CLIENT_ID,
    SandboxApps,
    SandboxSettings,
    build_apps,
)
from sync.connectors.auth import BearerTokenAuth, StaticTokenProvider
from sync.connectors.limiter import AdaptiveLimiter
from sync.connectors.retry import RetryPolicy
from sync.connectors.service_client import ServiceClient

BC_HOST = "https://api.businesscentral.dynamics.com"
DATAVERSE_ORIGIN = "https://sandbox.crm.dynamics.com"
DATAVERSE_SCOPE = f"{DATAVERSE_ORIGIN}/.default"
DATAVERSE_API = "/api/data/v9.2"


class SandboxClock:
    """Monotonic seconds for the sandbox's limit windows, moved by the client's sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class RecordedSleep:
    """The sleep given to ServiceClient: records each wait and moves the sandbox clock on."""

    clock: SandboxClock = field(default_factory=SandboxClock)
    delays: list[float] = field(default_factory=list)
    on_sleep: Callable[[], None] | None = None

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.now += seconds
        if self.on_sleep is not None:
            self.on_sleep()


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    request_headers: httpx.Headers
    response_headers: httpx.Headers


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests to another transport and remembers each answered exchange."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        self.exchanges.append(
            Exchange(
                request.method,
                request.url.path,
                response.status_code,
                request.headers,
                response.headers,
            )
        )
        return response

    def retry_afters(self) -> list[float]:
        return [
            float(exchange.response_headers["Retry-After"])
            for exchange in self.exchanges
            if exchange.status == 429
        ]


async def _accounts(request: Request) -> Response:
    return JSONResponse({"value": [{"accountid": "a1", "name": "Adatum"}]})


async def _slow_accounts(request: Request) -> Response:
    await asyncio.sleep(0.002)  # long enough for concurrent requests to overlap in the server
    return JSONResponse({"value": []})


async def _create_account(request: Request) -> Response:
    body = await request.json()
    if len(body.get("name", "")) > 160:
        return dataverse_error(
            400,
            "0x80044331",
            "A validation error occurred. The length of the 'name' attribute of the 'account' "
            "entity exceeded the maximum allowed length of '160'.",
        )
    return Response(status_code=204, headers={"OData-EntityId": "accounts(a2)"})


def stub_dataverse_app() -> Starlette:
    """Three Dataverse routes, enough to see the Dataverse shapes through the shared layers."""
    return Starlette(
        routes=[
            Route(f"{DATAVERSE_API}/accounts", _accounts, methods=["GET"]),
            Route(f"{DATAVERSE_API}/slowaccounts", _slow_accounts, methods=["GET"]),
            Route(f"{DATAVERSE_API}/accounts", _create_account, methods=["POST"]),
        ]
    )


@dataclass
class Sandbox:
    """Built sandbox apps, with the clock their limit windows run on."""

    apps: SandboxApps
    clock: SandboxClock
    issued: list[str] = field(default_factory=list)

    @property
    def bc_base_url(self) -> str:
        settings = self.apps.settings
        return f"{BC_HOST}/v2.0/{settings.tenant_id}/{settings.environment}/api/v2.0"

    def issue(self, scope: str) -> str:
        token = self.apps.token_issuer.issue(DEFAULT_CLIENT_ID, scope)
        self.issued.append(token)
        return token

    def transport(self, service: str) -> RecordingTransport:
        app = self.apps.business_central if service == "bc" else self.apps.dataverse
        return RecordingTransport(httpx.ASGITransport(app=app))

    def client(
        self,
        service: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        limiter: AdaptiveLimiter | None = None,
        retry: RetryPolicy | None = None,
        sleep: RecordedSleep | None = None,
        issue: Callable[[str], str] | None = None,
    ) -> ServiceClient:
        bc = service == "bc"
        provider = StaticTokenProvider(issue or self.issue)
        return ServiceClient(
            service="bc" if bc else "dataverse",
            base_url=self.bc_base_url if bc else f"{DATAVERSE_ORIGIN}{DATAVERSE_API}",
            auth=BearerTokenAuth(provider, BUSINESS_CENTRAL_SCOPE if bc else DATAVERSE_SCOPE),
            limiter=limiter or AdaptiveLimiter(initial=5, maximum=5),
            retry=retry or RetryPolicy(),
            transport=transport or self.transport(service),
            sleep=sleep or RecordedSleep(self.clock),
        )

    async def company_id(self) -> str:
        return (await self.control("GET", "/_sandbox/bc/companies"))["value"][0]["id"]

    async def control(self, method: str, path: str, **options: Any) -> Any:
        transport = httpx.ASGITransport(app=self.apps.business_central)
        async with httpx.AsyncClient(transport=transport, base_url=BC_HOST) as control:
            response = await control.request(method, path, **options)
        response.raise_for_status()
        return response.json()


def build_sandbox(**settings: Any) -> Sandbox:
    """The sandbox with the real BC emulator and a stub Dataverse app."""
    clock = SandboxClock()
    apps = build_apps(
        SandboxSettings(**{"records": 5, **settings}),
        clock=clock,
        sleep=_no_wait,
        dataverse_app=stub_dataverse_app(),
    )
    return Sandbox(apps, clock)


async def _no_wait(_seconds: float) -> None:
    return None
