"""The Starlette app: the Web API under `/api/data/v9.2/` and the control plane.

Throttling, faults, bearer auth and request counters are middlewares composed around this app
elsewhere (`sandbox.server`); this app only answers as Dataverse would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.dataverse.control import DataverseSandbox
from sandbox.dataverse.control_plane import ControlPlane
from sandbox.dataverse.options import SandboxOptions
from sandbox.dataverse.resource import API_PREFIX
from sandbox.dataverse.wire import ApiRequest

__all__ = ["create_app"]

_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    *,
    seed: int = 0,
    records: int = 50,
    record_cost_seconds: float = 0.0,
    clock: Callable[[], datetime] | None = None,
    change_token_ttl: timedelta = timedelta(days=7),
    options: SandboxOptions | None = None,
) -> Starlette:
    """Build a Dataverse Web API v9.2 emulator.

    Args:
        seed: seed of the deterministic data.
        records: accounts and contacts to create at start.
        record_cost_seconds: server time per record written; a request writing n records
            answers after `record_cost_seconds * n` seconds.
        clock: UTC time source (tests pass a fake); the wall clock by default.
        change_token_ttl: age after which delta tokens expire.
        options: switches for behaviours the contract marks unconfirmed, and limits.

    Returns:
        The app; `app.state.dataverse` is its `DataverseSandbox`.
    """
    settings = replace(options or SandboxOptions(), change_token_ttl=change_token_ttl)
    sandbox = DataverseSandbox(
        clock=clock or _utc_now, options=settings, seed=seed, records=records
    )

    serve_api = _ApiEndpoint(sandbox, record_cost_seconds).serve
    routes: list[BaseRoute] = [
        Route(f"{API_PREFIX}{{path:path}}", serve_api, methods=_METHODS),
        Route(API_PREFIX.rstrip("/"), serve_api, methods=["GET"]),
        *ControlPlane(sandbox).routes(),
    ]
    app = Starlette(routes=routes)
    app.state.dataverse = sandbox
    return app


class _ApiEndpoint:
    """Turns a Starlette request into an `ApiRequest`, answers it, then charges record costs."""

    def __init__(self, sandbox: DataverseSandbox, record_cost_seconds: float) -> None:
        self._sandbox = sandbox
        self._record_cost_seconds = record_cost_seconds

    async def serve(self, request: Request) -> Response:
        """Answer one Web API request."""
        api_request = ApiRequest(
            method=request.method,
            path=request.path_params.get("path", ""),
            query=tuple(request.query_params.multi_items()),
            headers={name: ", ".join(request.headers.getlist(name)) for name in request.headers},
            body=await request.body(),
            service_root=f"{str(request.base_url).rstrip('/')}{API_PREFIX}",
        )
        store = self._sandbox.store
        writes_before = store.writes
        started = time.perf_counter()
        response = self._sandbox.service.handle(api_request)
        spent = time.perf_counter() - started
        written = store.writes - writes_before
        if self._record_cost_seconds > 0 and written:
            # The server spends time per record written, and the answer waits for it; the
            # emulator's own work counts as part of that time, so its CPU never sets the pace.
            await asyncio.sleep(max(0.0, self._record_cost_seconds * written - spent))
        return response
