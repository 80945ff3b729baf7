r"""JSON ``$batch`` writes to Business Central: one outcome per record, none lost or doubled.

Request and response of one batch (api-contracts B5), trimmed::

    POST v2.0/$batch
    {"requests": [{"id": "7", "method": "PATCH", "url": "companies(5d1c...)/customers(9a1e...)",
                   "headers": {"Content-Type": "application/json", "If-Match": "W/\"JzQ0...\""},
                   "body": {"displayName": "Adatum"}}]}

    {"responses": [{"id": "7", "status": 200, "headers": {"etag": "W/\"JzQ1...\""},
                    "body": {"@odata.etag": "W/\"JzQ1...\"", "id": "9a1e...",
                             "lastModifiedDateTime": "2024-05-01T08:00:00.123Z", ...}}]}

No ``Isolation: snapshot``: each item stands alone, so one bad record fails only itself. An item
id is the request's position in the ``write`` call, which maps answers back whatever their order.

When a whole batch fails it is split in halves, recursively, until the failing records are
isolated. A batch that may have run (a timeout, a lost connection, 408 or 5xx) is never sent
again with its creates: each of them gets a transient ``OutcomeUnknown`` outcome, so that the
engine's create guard looks the record up by its match key before creating it again. Updates
and deletes are sent again: their ``If-Match`` makes a repeat harmless (an update that had run
then answers ``Request_EntityChanged`` unless its version was ``*``; a DELETE that finds its
record gone counts as done).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

import httpx

from sync.connectors.accounting import RequestKind
from sync.connectors.business_central_payload import (
    INVALID_RESPONSE,
    is_guid,
    parse_modified,
)
from sync.connectors.service_client import ServiceClient
from sync.connectors.service_error import ServiceErrorDetail, read_error_payload
from sync.cooperative import in_slices
from sync.errors import ConfigError, ConnectorError, PermanentConnectorError
from sync.models import ErrorClass, JsonScalar, WriteKind, WriteOutcome, WriteRequest

MAX_BATCH_SIZE: Final = 100
"""BC online runs at most 100 operations per ``$batch`` (B5, B7)."""
MAX_CONCURRENT_BATCHES: Final = 5
"""BC processes 5 requests per user at once and queues the rest (B7)."""
OUTCOME_UNKNOWN: Final = "OutcomeUnknown"
"""Error code of a create whose batch failed after it may have run (ours, not BC's)."""
INVALID_REQUEST: Final = "InvalidWriteRequest"
"""Error code of a request refused before sending (ours, not BC's)."""

_MISSING_TARGET_CODES: Final = frozenset(
    {"BadRequest_ResourceNotFound", "Internal_CompanyNotFound"}
)
_SPLITTABLE_STATUSES: Final = frozenset(
    {HTTPStatus.BAD_REQUEST, HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.REQUEST_ENTITY_TOO_LARGE}
)
_METHODS: Final = {WriteKind.CREATE: "POST", WriteKind.UPDATE: "PATCH", WriteKind.DELETE: "DELETE"}


@dataclass(frozen=True, slots=True)
class _Item:
    """One write request, ready to go into a batch."""

    index: int
    kind: WriteKind
    record_id: str | None
    wire: dict[str, object]


class BusinessCentralBatchWriter:
    """Sends write requests of one company as concurrent JSON ``$batch`` requests.

    Args:
        client: The BC service client (retries, throttling and the limiter live there).
        company_path: ``companies(<id>)``, the start of every item URL.
        batch_size: Requests per batch, 1 to 100.
        concurrent_batches: Batches in flight at once, at least 1.

    Raises:
        ConfigError: A size out of range.
    """

    def __init__(
        self,
        client: ServiceClient,
        *,
        company_path: str,
        batch_size: int = MAX_BATCH_SIZE,
        concurrent_batches: int = MAX_CONCURRENT_BATCHES,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ConfigError(f"the BC batch size must be 1 to {MAX_BATCH_SIZE}, not {batch_size}")
        if concurrent_batches < 1:
            raise ConfigError("concurrent BC batches must be at least 1")
        self._client = client
        self._company_path = company_path
        self._batch_size = batch_size
        self._slots = asyncio.Semaphore(concurrent_batches)

    async def write(
        self, entity: str, requests: Sequence[WriteRequest], *, api: str
    ) -> list[WriteOutcome]:
        """Send every request and answer one outcome per request, in input order.

        Args:
            entity: The entity set, e.g. ``customers``.
            requests: Creates, updates and deletes. Upserts, and updates or deletes without a
                GUID ``record_id``, get a permanent ``InvalidWriteRequest`` outcome unsent.
            api: ``v2.0`` or ``publisher/group/version``; the batch goes to ``{api}/$batch``.

        Returns:
            ``outcomes[i]`` answers ``requests[i]``: ok with the new id, etag and change time,
            or the error class, BC's error code (``Request_EntityChanged``,
            ``Internal_EntityWithSameKeyExists``, ...) and message.

        Raises:
            AuthError: No token, or BC refused it; nothing was written.
        """
        outcomes: list[WriteOutcome | None] = [None] * len(requests)
        items: list[_Item] = []
        index = 0
        async for some in in_slices(requests):
            for request in some:
                item = self._item(entity, index, request)
                if isinstance(item, WriteOutcome):
                    outcomes[index] = item
                else:
                    items.append(item)
                index += 1
        try:
            async with asyncio.TaskGroup() as group:
                for start in range(0, len(items), self._batch_size):
                    chunk = items[start : start + self._batch_size]
                    group.create_task(self._send(api, chunk, outcomes))
        except ExceptionGroup as group_error:
            # Only what the per-item handling cannot answer gets here (e.g. AuthError).
            raise _first_leaf(group_error) from None
        return [_answered(index, outcome) for index, outcome in enumerate(outcomes)]

    def _item(self, entity: str, index: int, request: WriteRequest) -> _Item | WriteOutcome:
        method = _METHODS.get(request.kind)
        if method is None:
            return _refused(index, f"Business Central has no {request.kind} write")
        url = f"{self._company_path}/{entity}"
        headers = {"Content-Type": "application/json"}
        if request.kind is not WriteKind.CREATE:
            # The id goes into the URL, so it must be a plain GUID and nothing more.
            if request.record_id is None or not is_guid(request.record_id):
                return _refused(index, f"a {request.kind} needs the record's GUID id")
            url += f"({request.record_id})"
            headers["If-Match"] = request.version or "*"
        wire: dict[str, object] = {"id": str(index), "method": method, "url": url}
        wire["headers"] = headers
        if request.kind is not WriteKind.DELETE:
            wire["body"] = dict(request.values)
        return _Item(index, request.kind, request.record_id, wire)

    async def _send(
        self, api: str, items: Sequence[_Item], outcomes: list[WriteOutcome | None]
    ) -> None:
        creates = any(item.kind is WriteKind.CREATE for item in items)
        try:
            # The slot covers the request only: the halves of a split need slots of their own.
            async with self._slots:
                response = await self._client.request(
                    "POST",
                    f"{api}/$batch",
                    kind=RequestKind.BATCH,
                    # A timed-out create may have run; updates and deletes carry If-Match.
                    idempotent=not creates,
                    json={"requests": [item.wire for item in items]},
                )
        except ConnectorError as error:
            await self._recover(api, items, error, outcomes)
            return
        answers = _answers(response)
        for item in items:
            outcomes[item.index] = _outcome(item, answers)

    async def _recover(
        self,
        api: str,
        items: Sequence[_Item],
        error: ConnectorError,
        outcomes: list[WriteOutcome | None],
    ) -> None:
        remaining = list(items)
        if _may_have_run(error):
            remaining = [item for item in items if item.kind is not WriteKind.CREATE]
            for item in items:
                if item.kind is WriteKind.CREATE:
                    outcomes[item.index] = _unknown(item.index, error)
        if len(items) == 1 or not _split_may_help(error):
            for item in remaining:
                outcomes[item.index] = _failed(item.index, item.record_id, error)
            return
        halves = [remaining[: len(remaining) // 2], remaining[len(remaining) // 2 :]]
        async with asyncio.TaskGroup() as group:
            for half in halves:
                if half:
                    group.create_task(self._send(api, half, outcomes))


def _split_may_help(error: ConnectorError) -> bool:
    """Tell whether smaller batches may succeed where this one failed.

    A malformed or too large batch (400, 413), a timeout or a server failure may be down to
    some of its items. Throttling (429), a refused token or a missing endpoint (404: e.g. a
    custom API without ``$batch``) fail any batch alike: splitting only multiplies requests.
    """
    status = error.status
    return status is None or status in _SPLITTABLE_STATUSES or status >= 500  # noqa: PLR2004


def _may_have_run(error: ConnectorError) -> bool:
    """Tell whether BC may have run some items of a batch that failed as a whole.

    A 4xx other than 408 refuses the batch before any item runs (malformed, too large,
    throttled). No answer at all, 408 (BC cancels a session after 8 minutes, keeping what
    committed) and 5xx leave the items' fate open.
    """
    status = error.status
    return status is None or status == HTTPStatus.REQUEST_TIMEOUT or status >= 500  # noqa: PLR2004


def _answers(response: httpx.Response) -> dict[str, Mapping[str, Any]]:
    """Index a ``$batch`` response's items by id (see the module docstring for its shape)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    responses = body.get("responses") if isinstance(body, dict) else None
    if not isinstance(responses, list):
        return {}
    return {
        str(answer.get("id")): answer
        for answer in responses
        if isinstance(answer, dict) and "id" in answer
    }


def _outcome(item: _Item, answers: Mapping[str, Mapping[str, Any]]) -> WriteOutcome:
    answer = answers.get(str(item.index))
    status = answer.get("status") if answer is not None else None
    if answer is None or not isinstance(status, int):
        # The batch ran, so this item may have too: a create must go through the guard.
        message = "The $batch response has no readable answer for this request."
        code = OUTCOME_UNKNOWN if item.kind is WriteKind.CREATE else INVALID_RESPONSE
        return WriteOutcome(
            index=item.index,
            record_id=item.record_id,
            error_class=ErrorClass.TRANSIENT,
            error_code=code,
            error_message=message,
        )
    body = answer.get("body")
    if status < 300:  # noqa: PLR2004
        return _succeeded(item, body, answer.get("headers"))
    detail = read_error_payload(body)
    if _already_deleted(item, status, detail):
        return WriteOutcome(index=item.index, record_id=item.record_id)
    return WriteOutcome(
        index=item.index,
        record_id=item.record_id,
        error_class=_error_class(status),
        error_code=(detail and detail.code) or _status_code(status),
        error_message=(detail and detail.message) or f"Business Central answered {status}.",
    )


def _already_deleted(item: _Item, status: int, detail: ServiceErrorDetail | None) -> bool:
    """Tell whether a DELETE found its record gone, which is what it asked for.

    A delete sent again after an ambiguous batch failure meets exactly this. An unknown entity
    set or company is no such case: that 404 names the segment (``BadRequest_ResourceNotFound``,
    ``Internal_CompanyNotFound``).
    """
    if item.kind is not WriteKind.DELETE or status != HTTPStatus.NOT_FOUND:
        return False
    code = detail.code if detail is not None else ""
    return code not in _MISSING_TARGET_CODES


def _succeeded(item: _Item, body: object, headers: object) -> WriteOutcome:
    if not isinstance(body, dict):  # a DELETE answers 204 without a body
        etag = _header(headers, "etag")
        return WriteOutcome(index=item.index, record_id=item.record_id, version=etag)
    record_id = body.get("id")
    version = body.get("@odata.etag")
    return WriteOutcome(
        index=item.index,
        record_id=record_id if isinstance(record_id, str) else item.record_id,
        version=version if isinstance(version, str) else _header(headers, "etag"),
        modified_at=parse_modified(body.get("lastModifiedDateTime")),
        values=_scalars(body),
    )


def _scalars(body: Mapping[str, object]) -> dict[str, JsonScalar]:
    # The stored record, minus OData annotations and anything that is not a plain value.
    return {
        name: value
        for name, value in body.items()
        if "@" not in name and (value is None or isinstance(value, str | int | float | bool))
    }


def _header(headers: object, name: str) -> str | None:
    if not isinstance(headers, dict):
        return None
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name and isinstance(value, str):
            return value
    return None


def _error_class(status: int | None) -> ErrorClass:
    transient = (
        status is None
        or status in (HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS)
        or status >= 500  # noqa: PLR2004
    )
    return ErrorClass.TRANSIENT if transient else ErrorClass.PERMANENT


def _failed(index: int, record_id: str | None, error: ConnectorError) -> WriteOutcome:
    return WriteOutcome(
        index=index,
        record_id=record_id,
        error_class=_error_class(error.status),
        error_code=error.code or _status_code(error.status),
        error_message=str(error),
    )


def _status_code(status: int | None) -> str:
    return "NoResponse" if status is None else f"HTTP{status}"


def _unknown(index: int, error: ConnectorError) -> WriteOutcome:
    return WriteOutcome(
        index=index,
        error_class=ErrorClass.TRANSIENT,
        error_code=OUTCOME_UNKNOWN,
        error_message=(
            f"The batch failed after it may have run ({error}); the create was not sent again, "
            "look the record up by its match key before creating it."
        ),
    )


def _refused(index: int, message: str) -> WriteOutcome:
    return WriteOutcome(
        index=index,
        error_class=ErrorClass.PERMANENT,
        error_code=INVALID_REQUEST,
        error_message=message,
    )


def _first_leaf(group: BaseExceptionGroup[Exception]) -> Exception:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def _answered(index: int, outcome: WriteOutcome | None) -> WriteOutcome:
    if outcome is None:  # a bug here must not pass as a silent success
        raise PermanentConnectorError(
            f"write request {index} got no outcome", service="bc", code=INVALID_RESPONSE
        )
    return outcome
