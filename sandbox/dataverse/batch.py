"""`POST $batch`: up to 1,000 operations, change sets, Content-ID references (api-contracts A6).

Operations run in order through the same dispatcher as direct requests. A change set runs in
one store transaction: when one of its operations fails, its writes are undone and the change
set answers with that single error. Without `Prefer: odata.continue-on-error` the batch stops at
the first failure and takes its status; with it, every operation runs and the batch answers
`200`. Format errors (no boundary, a GET inside a change set, too many operations) refuse the
whole batch with a JSON error, before anything runs.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from starlette.responses import Response

from sandbox.dataverse.api_error import ApiError
from sandbox.dataverse.multipart import (
    EmbeddedRequest,
    boundary_of,
    parse_request,
    render_multipart,
    render_part,
    split_parts,
)
from sandbox.dataverse.resource import API_PREFIX, parse_path
from sandbox.dataverse.store import Store
from sandbox.dataverse.tables import find_table
from sandbox.dataverse.wire import ApiRequest, error_response

__all__ = ["Dispatch", "run_batch"]

Dispatch = Callable[[ApiRequest], Response]
"""Runs one operation and answers it (errors included); never raises ApiError."""


@dataclass(frozen=True, slots=True)
class _ChangeSet:
    requests: list[EmbeddedRequest]


class _ChangeSetFailedError(Exception):
    def __init__(self, response: Response, content_id: str | None) -> None:
        super().__init__(response.status_code)
        self.response = response
        self.content_id = content_id


def _format_error(message: str) -> ApiError:
    return ApiError(400, "0x80060888", message)


def _read_items(request: ApiRequest) -> list[EmbeddedRequest | _ChangeSet]:
    boundary = boundary_of(request.headers.get("content-type", ""))
    if boundary is None:
        raise _format_error("The $batch request must be 'multipart/mixed' with a boundary.")
    parts = split_parts(request.body.decode("utf-8", errors="replace"), boundary)
    if parts is None:
        raise _format_error(f"The $batch body does not end with '--{boundary}--'.")
    items: list[EmbeddedRequest | _ChangeSet] = []
    for part in parts:
        inner_boundary = boundary_of(part.content_type)
        if inner_boundary is None:
            items.append(_parse_operation(parse_request(part)))
            continue
        nested = split_parts(part.body, inner_boundary)
        if nested is None:
            raise _format_error(f"The change set does not end with '--{inner_boundary}--'.")
        requests: list[EmbeddedRequest] = []
        for inner in nested:
            if boundary_of(inner.content_type) is not None:
                raise _format_error("Change sets cannot be nested.")
            operation = _parse_operation(parse_request(inner))
            if operation.method == "GET":
                raise _format_error("GET requests are not allowed inside a change set.")
            requests.append(operation)
        items.append(_ChangeSet(requests))
    return items


def _parse_operation(operation: EmbeddedRequest | None) -> EmbeddedRequest:
    if operation is None:
        raise _format_error("A $batch part does not contain an HTTP request line.")
    return operation


def run_batch(request: ApiRequest, dispatch: Dispatch, store: Store, limit: int) -> Response:
    """Run a multipart `$batch` request and answer with a multipart response.

    Raises:
        ApiError: the batch is malformed or holds more than `limit` operations.
    """
    items = _read_items(request)
    total = sum(len(item.requests) if isinstance(item, _ChangeSet) else 1 for item in items)
    if total > limit:
        raise ApiError(
            400,
            "0x80060888",
            f"The number of requests in the batch ({total}) exceeds the maximum of {limit}.",
        )
    keep_going = request.preferences.continue_on_error
    parts: list[str] = []
    status = 200
    for item in items:
        if isinstance(item, _ChangeSet):
            rendered, failure = _run_change_set(item, request, dispatch, store)
        else:
            response = _run_operation(item, request, dispatch, {})
            rendered = render_part(response, item.content_id)
            failure = response.status_code if response.status_code >= 400 else None
        parts.append(rendered)
        if failure is not None and not keep_going:
            status = failure
            break
    boundary = f"batchresponse_{uuid.uuid4()}"
    headers = {"OData-Version": "4.0"}
    if keep_going:
        headers["Preference-Applied"] = "odata.continue-on-error"
    return Response(
        render_multipart(parts, boundary).encode("utf-8"),
        status,
        headers,
        media_type=f"multipart/mixed; boundary={boundary}",
    )


def _run_change_set(
    change_set: _ChangeSet, request: ApiRequest, dispatch: Dispatch, store: Store
) -> tuple[str, int | None]:
    references: dict[str, str] = {}
    answered: list[tuple[Response, str | None]] = []
    try:
        with store.transaction():
            for operation in change_set.requests:
                response = _run_operation(operation, request, dispatch, references)
                if response.status_code >= 400:
                    raise _ChangeSetFailedError(response, operation.content_id)
                answered.append((response, operation.content_id))
    except _ChangeSetFailedError as failed:
        return render_part(failed.response, failed.content_id), failed.response.status_code
    boundary = f"changesetresponse_{uuid.uuid4()}"
    inner = render_multipart([render_part(response, cid) for response, cid in answered], boundary)
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{inner}", None


def _run_operation(
    operation: EmbeddedRequest, batch: ApiRequest, dispatch: Dispatch, references: dict[str, str]
) -> Response:
    try:
        api_request = _to_api_request(operation, batch.service_root, references)
    except ApiError as error:
        return error_response(error)
    if api_request.path.strip("/") == "$batch":
        return error_response(ApiError(400, "0x80060888", "A batch can't contain a batch."))
    response = dispatch(api_request)
    if operation.content_id is not None and response.status_code < 300:
        location = _location_of(api_request, response)
        if location is not None:
            references[operation.content_id] = location
    return response


def _resolve_reference(text: str, references: dict[str, str]) -> str:
    name, slash, rest = text[1:].partition("/")
    target = references.get(name)
    if target is None:
        raise ApiError(
            400, "", f"Content-ID Reference: '${name}' does not exist in the batch context."
        )
    return target + (f"/{rest}" if slash else "")


def _to_api_request(
    operation: EmbeddedRequest, service_root: str, references: dict[str, str]
) -> ApiRequest:
    url = operation.url
    if url.startswith("$"):
        url = _resolve_reference(url, references)
    parts = urlsplit(url)
    path = parts.path
    if API_PREFIX in path:
        path = path.split(API_PREFIX, 1)[1]
    elif path.startswith("/") or parts.scheme:
        raise ApiError(
            400,
            "0x80060888",
            f"The URL '{operation.url}' is not under the service root '{API_PREFIX}'.",
        )
    body = operation.body.encode("utf-8")
    if operation.body.strip():
        body = _with_references(operation.body, references)
    return ApiRequest(
        operation.method,
        unquote(path),
        tuple(parse_qsl(parts.query, keep_blank_values=True)),
        operation.headers,
        body,
        service_root,
    )


def _with_references(body: str, references: dict[str, str]) -> bytes:
    try:
        decoded: Any = json.loads(body)
    except json.JSONDecodeError:
        return body.encode("utf-8")
    if isinstance(decoded, dict):
        for name, value in decoded.items():
            is_link = name.endswith("@odata.bind") or name == "@odata.id"
            if is_link and isinstance(value, str) and value.startswith("$"):
                decoded[name] = _resolve_reference(value, references)
    return json.dumps(decoded).encode("utf-8")


def _location_of(request: ApiRequest, response: Response) -> str | None:
    if "odata-entityid" in response.headers:
        return response.headers["odata-entityid"]
    segments = parse_path(request.path)
    table = find_table(segments[0].name) if segments else None
    if table is None or not response.body:
        return None
    try:
        body = json.loads(bytes(response.body))
    except ValueError:
        return None
    row_id = body.get(table.primary_id) if isinstance(body, dict) else None
    return f"{request.service_root}{table.entity_set}({row_id})" if row_id else None
