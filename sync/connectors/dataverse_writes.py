"""Writes to one Dataverse table: bulk messages where possible, ``$batch`` where needed.

How each ``WriteRequest`` travels:

- create, or upsert without version: ``UpsertMultiple``. The target carries the client-chosen id,
  so a retried create updates the row it created instead of adding a second one.
- update without version: ``UpdateMultiple`` (update only: a missing row fails, as with
  ``If-Match: *``).
- update or upsert with a version: ``PATCH`` with ``If-Match: <version>`` in a ``$batch``. Bulk
  messages carry no per-target condition, so optimistic concurrency costs one operation per
  record.
- delete: ``DELETE`` in a ``$batch``, with ``If-Match`` when a version is set; a row already gone
  counts as deleted.

Bulk messages on standard tables are all-or-nothing. A chunk refused with a 4xx is split until
the refused records stand alone: when Dataverse names the failing target (``Targets[i]``) only
that one is set aside, otherwise the chunk is halved. Throttling, a 5xx or a lost answer fails
the chunk as transient, unsplit (nobody in it is at fault). When a table does not support a
bulk message, its writes go through ``$batch`` PATCHes instead (remembered per table for the
connector's life). Bulk messages answer without ETags, so their outcomes carry no version;
``$batch`` PATCHes return the new ETag and ``modifiedon``. All chunks run at once; the service
client's limiter bounds how many are in flight.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, TypeVar

from sync.connectors.accounting import RequestKind
from sync.connectors.dataverse_batch import (
    BatchOperation,
    DataverseBatch,
    failed_outcome,
    ok_outcome,
)
from sync.connectors.multipart import BatchPart
from sync.connectors.service_client import ServiceClient
from sync.errors import ConfigError, ConnectorError, PermanentConnectorError
from sync.models.record import WriteKind, WriteOutcome, WriteRequest
from sync.models.run import ErrorClass

__all__ = ["DataverseWriter", "WriteTarget"]

BulkMessage = Literal["UpsertMultiple", "UpdateMultiple"]
_T = TypeVar("_T")

MAX_BATCH_OPERATIONS: Final = 1000
_CLIENT_ERROR: Final = 400
_SERVER_ERROR: Final = 500
_RETURN_ROW: Final = "return=representation"
_NAMED_TARGET: Final = re.compile(r"\s*\(Targets\[(\d+)\]\)")
_UNSUPPORTED: Final = re.compile(
    r"Resource not found for the segment|does not support entities of type|"
    r"is not supported for entity|is not a valid message",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class WriteTarget:
    """The table written to: entity set (``accounts``), logical name, primary id column."""

    entity_set: str
    logical_name: str
    id_field: str


@dataclass(frozen=True, slots=True)
class _Item:
    index: int
    record_id: str  # as the caller wrote it, echoed in the outcome
    guid: str  # canonical, for URLs and bodies
    request: WriteRequest


@dataclass(slots=True)
class _Plan:
    upserts: list[_Item] = field(default_factory=list)
    updates: list[_Item] = field(default_factory=list)
    conditional: list[_Item] = field(default_factory=list)
    deletes: list[_Item] = field(default_factory=list)
    refused: list[WriteOutcome] = field(default_factory=list)


def _plan(requests: Sequence[WriteRequest]) -> _Plan:
    plan = _Plan()
    for index, request in enumerate(requests):
        guid = _guid(request.record_id)
        if request.record_id is None or guid is None:
            plan.refused.append(_refusal(index, request.record_id))
            continue
        item = _Item(index, request.record_id, guid, request)
        if request.kind is WriteKind.DELETE:
            plan.deletes.append(item)
        elif request.kind is not WriteKind.CREATE and request.version is not None:
            plan.conditional.append(item)
        elif request.kind is WriteKind.UPDATE:
            plan.updates.append(item)
        else:
            plan.upserts.append(item)
    return plan


def _guid(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return str(uuid.UUID(text.strip().strip("{}")))
    except ValueError:
        return None


def _refusal(index: int, record_id: str | None) -> WriteOutcome:
    # Without a client-chosen id a retried create could not be told from a new one.
    return WriteOutcome(
        index=index,
        record_id=record_id,
        error_class=ErrorClass.PERMANENT,
        error_code="InvalidRecordId",
        error_message=f"A Dataverse write needs the row's GUID as record_id, not {record_id!r}.",
    )


def _blames_the_request(error: ConnectorError) -> bool:
    """A 4xx answer to a bulk message: some target in it is at fault (429 is no 4xx here)."""
    status = error.status
    return (
        isinstance(error, PermanentConnectorError)
        and status is not None
        and _CLIENT_ERROR <= status < _SERVER_ERROR
    )


def _without_target_index(message: str) -> str:
    return _NAMED_TARGET.sub("", message)


class DataverseWriter:
    """Writes batches of records to Dataverse, one outcome per record.

    Args:
        client: The Dataverse service client.
        bulk_size: Targets per bulk message (1,000 suits small rows without plug-ins).
        batch_size: Operations per ``$batch`` (at most 1,000).
    """

    def __init__(self, client: ServiceClient, *, bulk_size: int, batch_size: int) -> None:
        if bulk_size < 1 or not 1 <= batch_size <= MAX_BATCH_OPERATIONS:
            raise ConfigError(
                f"bulk_size must be at least 1 and batch_size 1..{MAX_BATCH_OPERATIONS}"
            )
        self._client = client
        self._batch = DataverseBatch(client)
        self._bulk_size = bulk_size
        self._batch_size = batch_size
        self._unsupported: set[tuple[str, BulkMessage]] = set()

    async def write(
        self, target: WriteTarget, requests: Sequence[WriteRequest]
    ) -> list[WriteOutcome]:
        """Apply writes to one table (see ``DataverseConnector.write``)."""
        plan = _plan(requests)
        jobs: list[Awaitable[list[WriteOutcome]]] = []
        bulk: list[tuple[BulkMessage, list[_Item]]] = [
            ("UpsertMultiple", plan.upserts),
            ("UpdateMultiple", plan.updates),
        ]
        for message, items in bulk:
            jobs += [
                self._bulk(target, message, chunk) for chunk in _slices(items, self._bulk_size)
            ]
        # A repeated conditional PATCH answers 412 for its own first write: never repeat it.
        jobs += self._batches(target, plan.conditional, self._conditional, idempotent=False)
        jobs += self._batches(target, plan.deletes, self._delete, idempotent=True)
        by_index = {outcome.index: outcome for outcome in plan.refused}
        for outcomes in await _run_all(jobs):
            by_index.update((outcome.index, outcome) for outcome in outcomes)
        return [by_index[index] for index in range(len(requests))]

    async def _bulk(
        self, target: WriteTarget, message: BulkMessage, items: list[_Item]
    ) -> list[WriteOutcome]:
        if (target.entity_set, message) in self._unsupported:
            return await self._bulk_by_batch(target, message, items)
        body = {"Targets": [self._bulk_target(target, item) for item in items]}
        try:
            await self._client.request(
                "POST",
                f"{target.entity_set}/Microsoft.Dynamics.CRM.{message}",
                kind=RequestKind.WRITE,
                idempotent=True,  # client-chosen ids: a repeat writes the same rows again
                json=body,
            )
        except ConnectorError as error:
            if message in str(error) and _UNSUPPORTED.search(str(error)):
                self._unsupported.add((target.entity_set, message))
                return await self._bulk_by_batch(target, message, items)
            if _blames_the_request(error):
                return await self._isolate(target, message, items, error)
            # Throttling or an outage is nobody's fault in particular: no splitting.
            return [failed_outcome(item.index, item.record_id, error) for item in items]
        return [ok_outcome(item.index, item.record_id) for item in items]

    async def _isolate(
        self,
        target: WriteTarget,
        message: BulkMessage,
        items: list[_Item],
        error: ConnectorError,
    ) -> list[WriteOutcome]:
        if len(items) == 1:
            only = items[0]
            text = _without_target_index(str(error))
            return [failed_outcome(only.index, only.record_id, error, message=text)]
        named = _NAMED_TARGET.search(str(error))
        culprit = int(named.group(1)) if named else None
        if culprit is not None and culprit < len(items):
            bad = items[culprit]
            text = _without_target_index(str(error))
            rest = items[:culprit] + items[culprit + 1 :]
            return [
                failed_outcome(bad.index, bad.record_id, error, message=text),
                *await self._bulk(target, message, rest),
            ]
        half = len(items) // 2
        halves = await _run_all(
            [
                self._bulk(target, message, items[:half]),
                self._bulk(target, message, items[half:]),
            ]
        )
        return [outcome for outcomes in halves for outcome in outcomes]

    @staticmethod
    def _bulk_target(target: WriteTarget, item: _Item) -> dict[str, object]:
        return {
            "@odata.type": f"Microsoft.Dynamics.CRM.{target.logical_name}",
            **item.request.values,
            target.id_field: item.guid,
        }

    async def _bulk_by_batch(
        self, target: WriteTarget, message: BulkMessage, items: list[_Item]
    ) -> list[WriteOutcome]:
        # UpdateMultiple updates only: `If-Match: *` keeps a PATCH from creating the row.
        if_match = "*" if message == "UpdateMultiple" else None

        def patch(target: WriteTarget, item: _Item) -> BatchOperation:
            return self._patch(target, item, if_match=if_match)

        jobs = self._batches(target, items, patch, idempotent=True)
        return [outcome for outcomes in await _run_all(jobs) for outcome in outcomes]

    def _batches(
        self,
        target: WriteTarget,
        items: Sequence[_Item],
        operation: Callable[[WriteTarget, _Item], BatchOperation],
        *,
        idempotent: bool,
    ) -> list[Awaitable[list[WriteOutcome]]]:
        return [
            self._batch.run([operation(target, item) for item in chunk], idempotent=idempotent)
            for chunk in _slices(items, self._batch_size)
        ]

    def _conditional(self, target: WriteTarget, item: _Item) -> BatchOperation:
        return self._patch(target, item, if_match=item.request.version)

    def _patch(self, target: WriteTarget, item: _Item, *, if_match: str | None) -> BatchOperation:
        headers = {"Prefer": _RETURN_ROW}
        if if_match is not None:
            headers["If-Match"] = if_match
        values = {k: v for k, v in item.request.values.items() if k != target.id_field}
        url = self._batch.url_of(
            f"{target.entity_set}({item.guid})?$select={target.id_field},modifiedon"
        )
        part = BatchPart("PATCH", url, headers, values)
        return BatchOperation(item.index, item.record_id, part)

    def _delete(self, target: WriteTarget, item: _Item) -> BatchOperation:
        version = item.request.version
        headers = {"If-Match": version} if version is not None else {}
        url = self._batch.url_of(f"{target.entity_set}({item.guid})")
        part = BatchPart("DELETE", url, headers)
        return BatchOperation(item.index, item.record_id, part, gone_is_done=True)


def _slices(items: Sequence[_T], size: int) -> Iterator[list[_T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


async def _run_all(
    jobs: Sequence[Awaitable[list[WriteOutcome]]],
) -> list[list[WriteOutcome]]:
    """Await jobs concurrently; the first failure that is no outcome cancels the rest."""
    tasks: list[asyncio.Task[list[WriteOutcome]]] = []
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_as_coroutine(job)) for job in jobs]
    except BaseExceptionGroup as failed:
        raise _first_leaf(failed) from None
    return [task.result() for task in tasks]


async def _as_coroutine(job: Awaitable[list[WriteOutcome]]) -> list[WriteOutcome]:
    return await job


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
