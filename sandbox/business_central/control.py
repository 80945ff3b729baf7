"""Control-plane routes under `/_sandbox/bc/`: reset, seed, and edits "as a user would".

None of these exist in BC. They let tests, the demo and benchmarks shape the data:

    POST   /_sandbox/bc/reset                                   {"seed": 7, "records": 500}
    GET    /_sandbox/bc/companies
    GET    /_sandbox/bc/companies({id})/{entitySet}             every row, unpaged
    POST   /_sandbox/bc/companies({id})/{entitySet}/seed?count=N
    PATCH  /_sandbox/bc/companies({id})/{entitySet}({id})       {"displayName": "Renamed"}
    DELETE /_sandbox/bc/companies({id})/{entitySet}({id})
    POST   /_sandbox/bc/webhooks/flush                          send waiting notifications now

Edits bump `lastModifiedDateTime` and the etag like any write, need no If-Match, and notify
webhook subscribers. A reset also drops every webhook subscription.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.business_central.api_error import ApiError, bad_request
from sandbox.business_central.schema import COMPANY_ENTITIES
from sandbox.errors import bc_error

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request

    from sandbox.business_central.service import BusinessCentralService


def _service(request: Request) -> BusinessCentralService:
    service: BusinessCentralService = request.app.state.bc
    return service


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise bad_request("Invalid Request Body") from error
    if not isinstance(body, dict):
        raise bad_request("Invalid Request Body")
    return body


def _refusals(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as error:
            return bc_error(error.status, error.code, error.message)

    return guarded


@_refusals
async def reset(request: Request) -> Response:
    """Re-seed every company: body `{"seed": 0, "records": 50}` (both optional)."""
    body = await _json_body(request)
    seed, records = body.get("seed", 0), body.get("records", 50)
    if not isinstance(seed, int) or not isinstance(records, int) or records < 0:
        raise bad_request("seed and records must be non-negative integers.")
    service = _service(request)
    service.reset(seed=seed, records=records)
    request.app.state.bc_webhooks.reset()
    return JSONResponse({"value": _company_summaries(service)})


@_refusals
async def companies(request: Request) -> Response:
    """List the companies with the row count of each entity set."""
    return JSONResponse({"value": _company_summaries(_service(request))})


@_refusals
async def rows(request: Request) -> Response:
    """Return every row of one table, unpaged, in primary-key order."""
    params = request.path_params
    service = _service(request)
    company_id = service.resolve_company(params["company_id"])
    found = service.all(company_id, params["entity_set"])
    return JSONResponse({"value": found})


@_refusals
async def seed(request: Request) -> Response:
    """Add `?count=N` realistic records to one table, stamped now."""
    params = request.path_params
    count_text = request.query_params.get("count", "1")
    if not count_text.isdigit():
        raise bad_request("count must be a non-negative integer.")
    service = _service(request)
    company_id = service.resolve_company(params["company_id"])
    created = service.seed(company_id, params["entity_set"], int(count_text))
    return JSONResponse({"value": created}, status_code=201)


@_refusals
async def edit(request: Request) -> Response:
    """Change one record as a user would; the body holds the changed fields."""
    params = request.path_params
    service = _service(request)
    company_id = service.resolve_company(params["company_id"])
    body = await _json_body(request)
    record = service.edit(company_id, params["entity_set"], params["record_id"], body)
    return JSONResponse(record)


@_refusals
async def delete(request: Request) -> Response:
    """Delete one record as a user would."""
    params = request.path_params
    service = _service(request)
    company_id = service.resolve_company(params["company_id"])
    service.delete(company_id, params["entity_set"], params["record_id"])
    return Response(status_code=204)


@_refusals
async def flush_webhooks(request: Request) -> Response:
    """Send every waiting webhook notification now, as if all waits had passed."""
    attempts = await request.app.state.bc_webhooks.flush()
    summary = [
        {"notificationUrl": a.url, "status": a.status, "verdict": str(a.verdict)} for a in attempts
    ]
    return JSONResponse({"value": summary})


def _company_summaries(service: BusinessCentralService) -> list[dict[str, Any]]:
    summaries = []
    for company in service.companies():
        counts = {
            entity_set: len(service.table(company["id"], entity_set).rows)
            for entity_set in COMPANY_ENTITIES
        }
        summaries.append({"id": company["id"], "name": company["name"], "counts": counts})
    return summaries


def control_routes() -> list[Route]:
    """Return the control-plane routes, to mount at `/_sandbox/bc`."""
    company = "/companies({company_id})/{entity_set}"
    return [
        Route("/reset", reset, methods=["POST"]),
        Route("/companies", companies, methods=["GET"]),
        Route(company, rows, methods=["GET"]),
        Route(f"{company}/seed", seed, methods=["POST"]),
        Route(f"{company}({{record_id}})", edit, methods=["PATCH"]),
        Route(f"{company}({{record_id}})", delete, methods=["DELETE"]),
        Route("/webhooks/flush", flush_webhooks, methods=["POST"]),
    ]
