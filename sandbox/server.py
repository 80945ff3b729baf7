"""Composition of the sandbox: settings, the wrapped emulator apps, and serving on loopback.

Each emulator is wrapped, outermost first, as

    RequestCounter -> protection -> FaultInjection -> Latency -> BearerAuth -> emulator

so counters see every request (throttled and faulted ones too), throttling happens before any
work, and injected faults and latency count towards Dataverse's execution-time limit.
Layers that are switched off are left out.

In-process use:

    apps = build_apps(SandboxSettings(records=100))
    token = apps.token_issuer.issue("sandbox-client", BUSINESS_CENTRAL_SCOPE)
    transport = httpx.ASGITransport(app=apps.business_central)
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, Self

import uvicorn
from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, PositiveInt, model_validator
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from sandbox import Clock, Sleep
from sandbox.auth import BearerAuth, TokenIssuer, create_token_app
from sandbox.counters import RequestCounter
from sandbox.errors import ServiceName
from sandbox.faults import ConnectionDropped, FaultInjection, TimeoutMode
from sandbox.protection import BusinessCentralProtection, DataverseProtection, Latency

BUSINESS_CENTRAL_SCOPE: Final = "https://api.businesscentral.dynamics.com/.default"
DEFAULT_CLIENT_ID: Final = "sandbox-client"
DEFAULT_CLIENT_SECRET: Final = "sandbox-secret"  # noqa: S105 - a published fake credential

_FROZEN: Final = ConfigDict(frozen=True, extra="forbid")
_GRACEFUL_SHUTDOWN_SECONDS: Final = 5
_KEEP_ALIVE_SECONDS: Final = 120


class DataverseLimits(BaseModel):
    """Dataverse service-protection limits (contract A8 defaults)."""

    model_config = _FROZEN
    max_requests: PositiveInt = 6000
    max_execution_ms: PositiveInt = 1_200_000
    max_concurrent: PositiveInt = 52
    window_seconds: float = Field(300, gt=0)
    dop_hint: PositiveInt = 4


class BusinessCentralLimits(BaseModel):
    """Business Central per-user limits (contract B7 defaults)."""

    model_config = _FROZEN
    max_requests: PositiveInt = 6000
    window_seconds: float = Field(300, gt=0)
    max_concurrent: PositiveInt = 5
    max_queue: int = Field(95, ge=0)
    max_connections: PositiveInt = 100
    retry_after_on_429: bool = True
    queue_timeout_seconds: float = Field(480, gt=0)
    operation_timeout_seconds: float = Field(480, gt=0)


class FaultSettings(BaseModel):
    """Shares of API requests that fail (see `sandbox.faults`)."""

    model_config = _FROZEN
    error_rate: float = Field(0.0, ge=0, le=1)
    timeout_rate: float = Field(0.0, ge=0, le=1)
    drop_rate: float = Field(0.0, ge=0, le=1)
    timeout_seconds: float = Field(30.0, gt=0)
    timeout_mode: TimeoutMode = "gateway_timeout"
    paths: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _rates_fit_in_one(self) -> Self:
        if self.error_rate + self.timeout_rate + self.drop_rate > 1:
            raise ValueError("error_rate + timeout_rate + drop_rate must not exceed 1")
        return self

    @property
    def enabled(self) -> bool:
        """True when any fault can happen."""
        return self.error_rate + self.timeout_rate + self.drop_rate > 0


class AuthSettings(BaseModel):
    """The fake identity provider and the bearer check."""

    model_config = _FROZEN
    enabled: bool = True
    clients: dict[str, str] = Field(
        default_factory=lambda: {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}
    )
    token_lifetime_seconds: PositiveInt = 3599
    business_central_audience: str = "https://api.businesscentral.dynamics.com"
    dataverse_audience: str = "https://sandbox.crm.dynamics.com"


class SandboxSettings(BaseModel):
    """Everything that shapes one sandbox: data, cost, limits, faults and auth.

    Attributes:
        seed: drives the generated data and the fault draws.
        records: records generated per table.
        tenant_id: the tenant segment of BC URLs and of the token authority.
        environment: the BC environment name.
        latency_ms: server time added to every API request.
        record_cost_ms: server time per record written, modelled by the emulators.
        protection: apply the service-protection limits below.
        bc_stale_etag_status: BC's status for a stale If-Match (409 documented, 412 seen).
        bc_webhook_delay_seconds: BC's webhook coalescing window (30 s online); shorten it
            for demos and end-to-end runs against a served sandbox.
    """

    model_config = _FROZEN
    seed: int = 42
    records: int = Field(1000, ge=0)
    tenant_id: str = "5f0c8e2a-3b7d-4c1e-9a6f-2d8b4e7c1a90"
    environment: str = "production"
    latency_ms: NonNegativeFloat = 0.0
    record_cost_ms: NonNegativeFloat = 0.0
    protection: bool = True
    dataverse_limits: DataverseLimits = DataverseLimits()
    business_central_limits: BusinessCentralLimits = BusinessCentralLimits()
    faults: FaultSettings = FaultSettings()
    auth: AuthSettings = AuthSettings()
    bc_stale_etag_status: Literal[409, 412] = 409
    bc_webhook_delay_seconds: NonNegativeFloat = 30.0


@dataclass(frozen=True, slots=True)
class SandboxApps:
    """The composed ASGI apps; each emulator's outermost layer is its `RequestCounter`.

    Attributes:
        business_central: the BC API v2.0 emulator (`.snapshot()` gives its counters).
        dataverse: the Dataverse Web API emulator (`.snapshot()` gives its counters).
        token: the fake Entra token endpoint.
        token_issuer: issues tokens in-process and knows who holds them.
        settings: the settings they were built from.
    """

    business_central: RequestCounter
    dataverse: RequestCounter
    token: RequestCounter
    token_issuer: TokenIssuer
    settings: SandboxSettings


def build_apps(
    settings: SandboxSettings,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
    business_central_app: ASGIApp | None = None,
    dataverse_app: ASGIApp | None = None,
) -> SandboxApps:
    """Build both emulators wrapped in the shared middlewares, and the token endpoint.

    Args:
        settings: the sandbox's shape.
        clock: monotonic seconds for the protection windows.
        sleep: the wait used by latency and timeouts.
        business_central_app: a raw BC app to wrap instead of `sandbox.business_central`.
        dataverse_app: a raw Dataverse app to wrap instead of `sandbox.dataverse`.

    Returns:
        The composed apps and the token issuer.
    """
    issuer = TokenIssuer(
        clients=settings.auth.clients, lifetime_seconds=settings.auth.token_lifetime_seconds
    )
    record_cost_seconds = settings.record_cost_ms / 1000
    if business_central_app is None:
        from sandbox.business_central import create_app as create_business_central  # noqa: PLC0415

        business_central_app = create_business_central(
            seed=settings.seed,
            records=settings.records,
            record_cost_seconds=record_cost_seconds,
            stale_etag_status=settings.bc_stale_etag_status,
            webhook_delay_seconds=settings.bc_webhook_delay_seconds,
        )
    if dataverse_app is None:
        from sandbox.dataverse import create_app as create_dataverse  # noqa: PLC0415

        dataverse_app = create_dataverse(
            seed=settings.seed, records=settings.records, record_cost_seconds=record_cost_seconds
        )
    layers = _Layers(settings, issuer, clock, sleep)
    return SandboxApps(
        business_central=layers.wrap(business_central_app, "business_central"),
        dataverse=layers.wrap(dataverse_app, "dataverse"),
        token=RequestCounter(create_token_app(issuer)),
        token_issuer=issuer,
        settings=settings,
    )


@dataclass(frozen=True, slots=True)
class _Layers:
    settings: SandboxSettings
    issuer: TokenIssuer
    clock: Clock
    sleep: Sleep

    def wrap(self, app: ASGIApp, service: ServiceName) -> RequestCounter:
        settings, auth = self.settings, self.settings.auth
        if auth.enabled:
            audience = (
                auth.business_central_audience
                if service == "business_central"
                else auth.dataverse_audience
            )
            app = BearerAuth(
                app,
                issuer=self.issuer,
                audience=audience,
                service=service,
                accept_own_origin=service == "dataverse",
            )
        if settings.latency_ms > 0:
            app = Latency(app, per_request_seconds=settings.latency_ms / 1000, sleep=self.sleep)
        if settings.faults.enabled:
            app = self._faults(app, service)
        if settings.protection:
            app = self._protection(app, service)
        return RequestCounter(app)

    def _faults(self, app: ASGIApp, service: ServiceName) -> ASGIApp:
        faults = self.settings.faults
        # Distinct seeds per service, so the two emulators do not fail in lockstep.
        seed = self.settings.seed + (0 if service == "business_central" else 1)
        return FaultInjection(
            app,
            error_rate=faults.error_rate,
            timeout_rate=faults.timeout_rate,
            drop_rate=faults.drop_rate,
            seed=seed,
            paths=faults.paths,
            service=service,
            timeout_seconds=faults.timeout_seconds,
            timeout_mode=faults.timeout_mode,
            sleep=self.sleep,
        )

    def _protection(self, app: ASGIApp, service: ServiceName) -> ASGIApp:
        user_of_token = self.issuer.subject_of if self.settings.auth.enabled else None
        if service == "dataverse":
            limits = self.settings.dataverse_limits
            return DataverseProtection(
                app,
                max_requests=limits.max_requests,
                max_execution_ms=limits.max_execution_ms,
                max_concurrent=limits.max_concurrent,
                window_seconds=limits.window_seconds,
                dop_hint=limits.dop_hint,
                clock=self.clock,
                user_of_token=user_of_token,
            )
        bc = self.settings.business_central_limits
        # The timeouts keep the real sleep: a test's no-op `sleep` would time every request out.
        return BusinessCentralProtection(
            app,
            max_requests=bc.max_requests,
            window_seconds=bc.window_seconds,
            max_concurrent=bc.max_concurrent,
            max_queue=bc.max_queue,
            max_connections=bc.max_connections,
            retry_after_on_429=bc.retry_after_on_429,
            queue_timeout_seconds=bc.queue_timeout_seconds,
            operation_timeout_seconds=bc.operation_timeout_seconds,
            clock=self.clock,
            user_of_token=user_of_token,
        )


class _DroppingH11Protocol(H11Protocol):
    """uvicorn's h11 protocol that closes the socket, unanswered, on `ConnectionDropped`.

    Plain uvicorn answers 500 to an exception raised before the response starts. This relies on
    uvicorn's `cycle` and `transport` attributes; a server test guards it against upgrades.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 - uvicorn's own
        super().__init__(*args, **kwargs)
        serve = self.app

        async def serve_or_drop(scope: Scope, receive: Receive, send: Send) -> None:
            try:
                await serve(scope, receive, send)
            except ConnectionDropped:
                self.cycle.disconnected = True  # stops uvicorn from answering 500
                self.transport.close()

        self.app = serve_or_drop


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host (several run in one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass(frozen=True, slots=True)
class ServedApp:
    """One app to serve: port 0 picks a free one; certfile/keyfile switch on TLS."""

    app: ASGIApp
    port: int = 0
    certfile: str | None = None
    keyfile: str | None = None


class LoopbackServers:
    """Runs several ASGI apps with uvicorn inside the current event loop.

    Args:
        apps: name -> app to serve.
        host: interface to bind, loopback by default.
        log_level: uvicorn's log level.
    """

    def __init__(
        self, apps: Mapping[str, ServedApp], *, host: str = "127.0.0.1", log_level: str = "warning"
    ) -> None:
        self._apps, self._host, self._log_level = dict(apps), host, log_level
        self._servers: list[_EmbeddedServer] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.ports: dict[str, int] = {}

    async def start(self) -> dict[str, int]:
        """Bind, serve, and return once every server accepts connections.

        Returns:
            name -> the port actually bound.

        Raises:
            RuntimeError: a server stopped during startup.
        """
        sockets = _bind_all(self._host, {name: s.port for name, s in self._apps.items()})
        for name, served in self._apps.items():
            self.ports[name] = sockets[name].getsockname()[1]
            config = uvicorn.Config(
                served.app,
                log_level=self._log_level,
                access_log=False,
                http=_DroppingH11Protocol,
                lifespan="auto",
                # Bounded, so that requests held by a `hang` fault cannot block a stop forever.
                timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS,
                # Azure's front ends keep an idle connection for minutes; uvicorn's 5 s default
                # equals httpx's own keep-alive expiry, so a client reusing a connection just as
                # the server dropped it got a disconnect no real service would send.
                timeout_keep_alive=_KEEP_ALIVE_SECONDS,
                ssl_certfile=served.certfile,
                ssl_keyfile=served.keyfile,
            )
            server = _EmbeddedServer(config)
            self._servers.append(server)
            self._tasks.append(asyncio.create_task(server.serve(sockets=[sockets[name]])))
        while not all(server.started for server in self._servers):
            if any(task.done() for task in self._tasks):
                await self.stop()
                raise RuntimeError("a sandbox server stopped during startup")
            await asyncio.sleep(0.01)
        return dict(self.ports)

    async def stop(self) -> None:
        """Ask every server to finish its requests and stop; wait until they have."""
        for server in self._servers:
            server.should_exit = True
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()


def _bind_all(host: str, ports: Mapping[str, int]) -> dict[str, socket.socket]:
    """Bind every port before serving any, so a taken port leaves nothing running."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    bound: dict[str, socket.socket] = {}
    try:
        for name, port in ports.items():
            # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say TCP, and
            # without it every small response waits ~40 ms for a delayed ACK (Nagle).
            bound[name] = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            bound[name].setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            bound[name].bind((host, port))
    except OSError:
        for sock in bound.values():
            sock.close()
        raise
    return bound


def business_central_url(host: str, port: int, settings: SandboxSettings) -> str:
    """Return the BC API v2.0 base URL of a served sandbox."""
    return f"http://{host}:{port}/v2.0/{settings.tenant_id}/{settings.environment}/api/v2.0"


def dataverse_url(host: str, port: int) -> str:
    """Return the Dataverse Web API base URL of a served sandbox."""
    return f"http://{host}:{port}/api/data/v9.2"


def token_authority_url(host: str, port: int, settings: SandboxSettings, *, tls: bool) -> str:
    """Return the authority URL (msal's `authority`) of a served token endpoint."""
    return f"{'https' if tls else 'http'}://{host}:{port}/{settings.tenant_id}"
