"""JSON `$batch` of the API v2.0 (api-contracts B5).

Request and response, trimmed:

    {"requests": [{"id": "1", "method": "PATCH", "url": "companies(<id>)/customers(<id>)",
                   "headers": {"If-Match": "*"}, "body": {"displayName": "Adatum"}}]}
    {"responses": [{"id": "1", "status": 200, "headers": {...}, "body": {...}}]}

Without `Isolation: snapshot` every item stands alone. With it the batch is all-or-nothing: every
item still runs and reports its own status (the successful ones their 2xx, as in the BC docs'
example), but if any item fails, all changes of the batch are rolled back, etags and number
series included. The batch itself answers 200 either way. An item whose `dependsOn` names a
failed item is not run and reports 424 Failed Dependency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sandbox.business_central.api import (
    ODATA_JSON,
    ApiRequest,
    ApiResponse,
    dispatch,
    error_response,
)
from sandbox.business_central.api_error import ApiError, bad_request
from sandbox.business_central.schema import STANDARD_API

if TYPE_CHECKING:
    from sandbox.business_central.service import BusinessCentralService

_API_ROOT_MARKER = "/api/v2.0/"


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One inner request of a `$batch`."""

    id: str | None
    method: str
    url: str
    headers: dict[str, str]
    body: object
    depends_on: tuple[str, ...]


def run_batch(service: BusinessCentralService, request: ApiRequest) -> ApiResponse:
    """Run a JSON `$batch` and return the combined response.

    Raises nothing: a malformed or oversized batch answers 400 as a whole.
    """
    try:
        items = parse_items(request.body, service.config.max_batch_requests)
    except ApiError as error:
        return error_response(error)
    snapshot = request.headers.get("isolation", "").strip().lower() == "snapshot"
    if snapshot:
        service.store.begin()
    statuses: dict[str, int] = {}
    rendered: list[dict[str, Any]] = []
    writes = 0
    try:
        for item in items:
            response = _run_item(service, request, item, statuses)
            if item.id is not None:
                statuses[item.id] = response.status
            writes += response.writes
            rendered.append(_render(item, response))
    finally:
        if snapshot:
            failed = len(rendered) < len(items) or any(r["status"] >= 400 for r in rendered)
            (service.store.rollback if failed else service.store.commit)()
    return ApiResponse(200, payload={"responses": rendered}, writes=writes)


def parse_items(body: object, limit: int) -> list[BatchItem]:
    """Check the `$batch` body and return its items.

    Raises:
        ApiError: not a `{"requests": [...]}` object, more than `limit` items, an item without
            method or url, a duplicate id, or a `dependsOn` naming no earlier item.
    """
    requests = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(requests, list):
        raise bad_request("Invalid Request Body")
    if len(requests) > limit:
        raise bad_request(
            f"The batch request contains {len(requests)} operations, but the maximum number "
            f"of operations in a batch request is {limit}."
        )
    items: list[BatchItem] = []
    seen: set[str] = set()
    for raw in requests:
        item = _parse_item(raw)
        unknown = [name for name in item.depends_on if name not in seen]
        if unknown:
            raise bad_request(f"The dependsOn value '{unknown[0]}' names no earlier request.")
        if item.id is not None:
            if item.id in seen:
                raise bad_request(f"The request id '{item.id}' is used twice in the batch.")
            seen.add(item.id)
        items.append(item)
    return items


def _parse_item(raw: object) -> BatchItem:
    if not isinstance(raw, dict):
        raise bad_request("Invalid Request Body")
    method, url, headers = raw.get("method"), raw.get("url"), raw.get("headers") or {}
    depends_on = raw.get("dependsOn") or []
    valid = (
        isinstance(method, str)
        and isinstance(url, str)
        and isinstance(headers, dict)
        and isinstance(depends_on, list)
    )
    if not valid:
        raise bad_request("Invalid Request Body: each request needs a method and a url.")
    item_id = raw.get("id")
    return BatchItem(
        id=None if item_id is None else str(item_id),
        method=str(method).upper(),
        url=str(url),
        headers={str(k).lower(): str(v) for k, v in headers.items()},
        body=raw.get("body"),
        depends_on=tuple(str(name) for name in depends_on),
    )


def _run_item(
    service: BusinessCentralService,
    outer: ApiRequest,
    item: BatchItem,
    statuses: dict[str, int],
) -> ApiResponse:
    failed = [name for name in item.depends_on if statuses.get(name, 500) >= 400]
    if failed:
        return error_response(
            ApiError(
                424, "BadRequest", f"The request depends on request '{failed[0]}', which failed."
            )
        )
    try:
        resource, pairs = _split_url(item.url)
    except ApiError as error:
        return error_response(error)
    headers = dict(item.headers)
    if "company" in outer.headers:
        headers.setdefault("company", outer.headers["company"])
    query: dict[str, str] = {}
    for name, value in pairs:
        query.setdefault(name, value)
    inner = ApiRequest(
        method=item.method,
        resource=resource,
        query=query,
        headers=headers,
        body=item.body,
        api_root=outer.api_root,
        api=STANDARD_API,
        query_pairs=tuple(pairs),
    )
    return dispatch(service, inner)


def _split_url(url: str) -> tuple[str, list[tuple[str, str]]]:
    parts = urlsplit(url)
    path = unquote(parts.path)
    if parts.scheme or path.startswith("/"):
        marker = path.find(_API_ROOT_MARKER)
        if marker < 0:
            raise ApiError(404, "BadRequest_ResourceNotFound", f"Resource not found for '{url}'.")
        path = path[marker + len(_API_ROOT_MARKER) :]
    if path.startswith("$batch"):
        raise bad_request("A $batch request cannot contain another $batch request.")
    return path, parse_qsl(parts.query, keep_blank_values=True)


def _render(item: BatchItem, response: ApiResponse) -> dict[str, Any]:
    headers = {name.lower(): value for name, value in response.headers.items()}
    body = response.body_value()
    if body is not None:
        headers["content-type"] = ODATA_JSON
        headers["odata-version"] = "4.0"
    rendered: dict[str, Any] = {"id": item.id, "status": response.status, "headers": headers}
    if body is not None:
        rendered["body"] = body
    return rendered
