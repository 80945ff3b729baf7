"""The Starlette app of the Business Central emulator: URLs, HTTP plumbing, per-record cost.

Base URLs (api-contracts B1), tenant segment optional:

    /v2.0/{tenant}/{environment}/api/v2.0/companies({id})/customers
    /v2.0/{tenant}/{environment}/api/v2.0/customers?company={id}
    /v2.0/{tenant}/{environment}/api/v2.0/$batch
    /v2.0/{tenant}/{environment}/api/{publisher}/{group}/v1.0/companies({id})/shippingAgents
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
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
from sandbox.business_central.service import BusinessCentralService

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from starlette.requests import Request

_API_PATH = re.compile(
    r"^(?:(?P<tenant>[^/]+)/)?(?P<environment>[^/]+)/api/"
    r"(?:(?P<standard>v2\.0)|[^/]+/[^/]+/v1\.0)/(?P<resource>.+)$"
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
) -> Starlette:
    """Build the emulator app, seeded and ready.

    Args:
        seed: drives all generated data; the same seed and clock give the same data.
        records: customers, vendors and contacts per company.
        stale_etag_status: status of `Request_EntityChanged` (409 or 412); overrides `config`.
        record_cost_seconds: simulated server time per record written; overrides `config`.
        clock: returns the current UTC time (for `lastModifiedDateTime`); default: the real one.
        config: every other setting (page sizes, unconfirmed behaviours); see EmulatorConfig.

    Returns:
        The app; `app.state.bc` is the BusinessCentralService behind it.
    """
    settings = config or EmulatorConfig()
    if stale_etag_status is not None:
        settings = dataclasses.replace(settings, stale_etag_status=stale_etag_status)
    if record_cost_seconds is not None:
        settings = dataclasses.replace(settings, record_cost_seconds=record_cost_seconds)
    if settings.record_cost_seconds < 0:
        message = "record_cost_seconds must not be negative"
        raise ValueError(message)
    app = Starlette(
        routes=[
            Route("/v2.0/{rest:path}", _api_endpoint, methods=_METHODS),
            Mount("/_sandbox/bc", routes=control_routes()),
        ]
    )
    app.state.bc = BusinessCentralService(settings, clock=clock, seed=seed, records=records)
    return app


async def _api_endpoint(request: Request) -> Response:
    service: BusinessCentralService = request.app.state.bc
    rest = request.path_params["rest"]
    match = _API_PATH.match(rest)
    if match is None:
        error = ApiError(404, "BadRequest_ResourceNotFound", f"Resource not found for '{rest}'.")
        return _to_http(error_response(error))
    resource = match.group("resource")
    api_request = ApiRequest(
        method=request.method,
        resource=resource,
        query=dict(request.query_params),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=await _read_body(request),
        api_root=_api_root(request, rest[: match.start("resource") - 1]),
        api=STANDARD_API if match.group("standard") else CUSTOM_API,
        query_pairs=tuple(request.query_params.multi_items()),
    )
    if resource == "$batch" and api_request.api == STANDARD_API:
        response = _batch(service, api_request)
    else:
        response = dispatch(service, api_request)
    await _charge(service.config, response.writes)
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


async def _charge(config: EmulatorConfig, writes: int) -> None:
    # Benchmarks model BC's server time per written record; zero cost must not even yield.
    if writes and config.record_cost_seconds > 0:
        await asyncio.sleep(config.record_cost_seconds * writes)


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
