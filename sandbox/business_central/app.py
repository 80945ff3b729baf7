"""The Starlette app of the Business Central emulator: URLs, HTTP plumbing, per-record cost.

Base URLs (api-contracts B1), tenant segment optional:

    /v2.0/{tenant}/{environment}/api/v2.0/companies({id})/customers
    /v2.0/{tenant}/{environment}/api/v2.0/customers?company={id}
    /v2.0/{tenant}/{environment}/api/v2.0/$batch
    /v2.0/{tenant}/{environment}/api/{publisher}/{group}/v1.0/companies({id})/shippingAgents
    /v2.0/{tenant}/{environment}/api/v2.0/subscriptions('{id}')          (see webhooks)
    /v2.0/{tenant}/{environment}/api/microsoft/runtime/beta/companies({id})/webhookSupportedResources
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import time
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Mount, Route

from sandbox.business_central.api import (
    INVALID_BODY,
    ODATA_JSON,
    ApiRequest,
    ApiResponse,
    dispatch,
    error_response,
)
from sandbox.business_central.api_error import ApiError
from sandbox.business_central.batch import run_batch
from sandbox.business_central.config import EmulatorConfig
from sandbox.business_central.control import control_routes
from sandbox.business_central.schema import CUSTOM_API, STANDARD_API
from sandbox.business_central.service import BusinessCentralService, utc_now
from sandbox.business_central.webhook_delivery import HttpxWebhookTransport, WebhookTransport
from sandbox.business_central.webhooks import (
    RUNTIME_API,
    BusinessCentralWebhooks,
    is_webhook_resource,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from datetime import datetime

    from starlette.requests import Request

_API_PATH = re.compile(
    r"^(?:(?P<tenant>[^/]+)/)?(?P<environment>[^/]+)/api/"
    r"(?:(?P<standard>v2\.0)|(?P<runtime>microsoft/runtime/beta)|[^/]+/[^/]+/v1\.0)"
    r"/(?P<resource>.+)$"
)
_METHODS = ["GET", "POST", "PATCH", "DELETE", "PUT"]


def create_app(
    *,
    seed: int = 0,
    records: int = 50,
    stale_etag_status: int | None = None,
    record_cost_seconds: float | None = None,
    clock: Callable[[], datetime] | None = None,
    config: EmulatorConfig | None = None,
    webhook_transport: WebhookTransport | None = None,
    webhook_delay_seconds: float | None = None,
) -> Starlette:
    """Build the emulator app, seeded and ready.

    Args:
        seed: drives all generated data; the same seed and clock give the same data.
        records: customers, vendors and contacts per company.
        stale_etag_status: status of `Request_EntityChanged` (409 or 412); overrides `config`.
        record_cost_seconds: simulated server time per record written; overrides `config`.
        clock: returns the current UTC time (for `lastModifiedDateTime`); default: the real one.
        config: every other setting (page sizes, unconfirmed behaviours); see EmulatorConfig.
        webhook_transport: how webhook handshakes and notifications reach subscribers; default
            httpx to the notification URL. Pass `HttpxWebhookTransport(client)` with a client
            on `httpx.ASGITransport` for an in-process receiver.
        webhook_delay_seconds: the webhook coalescing window (30 s online); overrides `config`.

    Returns:
        The app; `app.state.bc` is the BusinessCentralService behind it, `app.state.bc_webhooks`
        the BusinessCentralWebhooks (subscriptions, `deliver_due`, `flush`).
    """
    settings = config or EmulatorConfig()
    if stale_etag_status is not None:
        settings = dataclasses.replace(settings, stale_etag_status=stale_etag_status)
    if record_cost_seconds is not None:
        settings = dataclasses.replace(settings, record_cost_seconds=record_cost_seconds)
    if webhook_delay_seconds is not None:
        webhooks = dataclasses.replace(settings.webhooks, delay_seconds=webhook_delay_seconds)
        settings = dataclasses.replace(settings, webhooks=webhooks)
    if settings.record_cost_seconds < 0:
        message = "record_cost_seconds must not be negative"
        raise ValueError(message)
    app = Starlette(
        routes=[
            Route("/v2.0/{rest:path}", _api_endpoint, methods=_METHODS),
            Mount("/_sandbox/bc", routes=control_routes()),
        ],
        lifespan=_deliver_webhooks,
    )
    service = BusinessCentralService(settings, clock=clock, seed=seed, records=records)
    app.state.bc = service
    transport = webhook_transport or HttpxWebhookTransport(
        timeout_seconds=settings.webhooks.notification_timeout_seconds
    )
    app.state.bc_webhooks = BusinessCentralWebhooks(service, transport, clock=clock or utc_now)
    return app


@contextlib.asynccontextmanager
async def _deliver_webhooks(app: Starlette) -> AsyncIterator[None]:
    # Served by uvicorn, notifications go out on their own; in-process tests call deliver_due.
    task = asyncio.create_task(app.state.bc_webhooks.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _api_endpoint(request: Request) -> Response:
    service: BusinessCentralService = request.app.state.bc
    rest = request.path_params["rest"]
    match = _API_PATH.match(rest)
    if match is None:
        error = ApiError(404, "BadRequest_ResourceNotFound", f"Resource not found for '{rest}'.")
        return _to_http(error_response(error))
    resource = match.group("resource")
    api = STANDARD_API if match.group("standard") else CUSTOM_API
    api_request = ApiRequest(
        method=request.method,
        resource=resource,
        query=dict(request.query_params),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=await _read_body(request),
        api_root=_api_root(request, rest[: match.start("resource") - 1]),
        api=RUNTIME_API if match.group("runtime") else api,
        query_pairs=tuple(request.query_params.multi_items()),
    )
    webhooks: BusinessCentralWebhooks = request.app.state.bc_webhooks
    started = time.perf_counter()
    if api_request.api == RUNTIME_API or is_webhook_resource(resource):
        response = await webhooks.answer(api_request)
    elif resource == "$batch" and api_request.api == STANDARD_API:
        response = _batch(service, api_request)
    else:
        response = dispatch(service, api_request)
    await _charge(service.config, response.writes, spent=time.perf_counter() - started)
    return _to_http(response)


def _api_root(request: Request, prefix: str) -> str:
    return f"{request.url.scheme}://{request.url.netloc}/v2.0/{prefix}"


def _batch(service: BusinessCentralService, request: ApiRequest) -> ApiResponse:
    if request.method != "POST":
        return error_response(
            ApiError(405, "BadRequest_MethodNotAllowed", "Only POST is allowed on $batch.")
        )
    return run_batch(service, request)


async def _read_body(request: Request) -> object:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return INVALID_BODY


async def _charge(config: EmulatorConfig, writes: int, *, spent: float) -> None:
    # Benchmarks model BC's server time per written record; zero cost must not even yield.
    # The emulator's own work is part of that time, not added to it: otherwise its CPU, not
    # the modelled cost, would set the pace of a busy benchmark.
    if writes and config.record_cost_seconds > 0:
        await asyncio.sleep(max(0.0, config.record_cost_seconds * writes - spent))


def _to_http(response: ApiResponse) -> Response:
    headers = {"OData-Version": "4.0", **response.headers}
    text = response.body_text()
    if text is None:
        return Response(status_code=response.status, headers=headers)
    return Response(
        content=text.encode("utf-8"),
        status_code=response.status,
        headers=headers,
        media_type=ODATA_JSON,
    )
