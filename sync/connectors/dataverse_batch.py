r"""Per-record writes through a multipart ``$batch``, and the outcomes of writes in general.

Every operation of a batch stands alone (no change sets) and the batch is sent with
``Prefer: odata.continue-on-error``, so one refused operation costs nobody else and each
operation's own answer becomes its ``WriteOutcome``. A PATCH asks for
``Prefer: return=representation`` with ``$select`` of the id and ``modifiedon``, so its answer
carries the new ETag, read in the same transaction::

    HTTP/1.1 200 OK
    Content-Type: application/json; odata.metadata=minimal

    {"@odata.etag": "W/\"1043\"", "modifiedon": "2025-06-02T12:00:01Z", "accountid": "2e45..."}

A refused operation answers with Dataverse's error body, which becomes a typed outcome::

    HTTP/1.1 412 Precondition Failed

    {"error": {"code": "0x80060882",
               "message": "The version of the existing record doesn't match the RowVersion ..."}}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sync.connectors.accounting import RequestKind
from sync.connectors.multipart import BatchPart, EmbeddedResponse, encode_batch
from sync.connectors.multipart import parse_batch_response as parse_multipart
from sync.connectors.odata import parse_datetime
from sync.connectors.service_client import ServiceClient
from sync.connectors.service_error import read_error_payload
from sync.errors import ConnectorError, TransientConnectorError
from sync.models.record import WriteOutcome
from sync.models.run import ErrorClass

__all__ = ["BatchOperation", "DataverseBatch", "failed_outcome", "ok_outcome"]

_SUCCESS_LOW: Final = 200
_SUCCESS_HIGH: Final = 300
_NOT_FOUND: Final = 404
_TOO_MANY_REQUESTS: Final = 429
_SERVER_ERROR: Final = 500


@dataclass(frozen=True, slots=True)
class BatchOperation:
    """One write of a batch and the request it answers.

    Attributes:
        index: Position of the request in the caller's list.
        record_id: The row written.
        part: The embedded HTTP request.
        gone_is_done: A 404 counts as success (a DELETE of a row already deleted).
    """

    index: int
    record_id: str
    part: BatchPart
    gone_is_done: bool = False


def error_class_of(status: int | None, *, transient: bool = False) -> ErrorClass:
    """Classify a failure: throttling, 5xx and lost answers are transient, the rest permanent."""
    if transient or status is None or status == _TOO_MANY_REQUESTS or status >= _SERVER_ERROR:
        return ErrorClass.TRANSIENT
    return ErrorClass.PERMANENT


def ok_outcome(index: int, record_id: str, answer: dict[str, object] | None = None) -> WriteOutcome:
    """The outcome of a write that took effect; ETag and ``modifiedon`` from its answer."""
    answer = answer or {}
    etag, modified = answer.get("@odata.etag"), answer.get("modifiedon")
    return WriteOutcome(
        index=index,
        record_id=record_id,
        version=etag if isinstance(etag, str) else None,
        modified_at=parse_datetime(modified) if isinstance(modified, str) else None,
    )


def failed_outcome(
    index: int, record_id: str, error: ConnectorError, *, message: str | None = None
) -> WriteOutcome:
    """The outcome of a write a connector error refused (``message`` overrides the error's)."""
    transient = isinstance(error, TransientConnectorError)
    return WriteOutcome(
        index=index,
        record_id=record_id,
        error_class=error_class_of(error.status, transient=transient),
        error_code=error.code or _status_code(error.status),
        error_message=message if message is not None else str(error),
    )


def _status_code(status: int | None) -> str:
    return f"HTTP {status}" if status is not None else ""


def _answer_outcome(operation: BatchOperation, answer: EmbeddedResponse) -> WriteOutcome:
    succeeded = _SUCCESS_LOW <= answer.status < _SUCCESS_HIGH
    if succeeded or (answer.status == _NOT_FOUND and operation.gone_is_done):
        body = answer.json_object() or {}
        if "@odata.etag" not in body and "etag" in answer.headers:
            body["@odata.etag"] = answer.headers["etag"]
        return ok_outcome(operation.index, operation.record_id, body)
    detail = read_error_payload(answer.json_object())
    return WriteOutcome(
        index=operation.index,
        record_id=operation.record_id,
        error_class=error_class_of(answer.status),
        error_code=(detail.code if detail else "") or _status_code(answer.status),
        error_message=(detail.message if detail else "") or f"HTTP {answer.status}",
    )


class DataverseBatch:
    """Sends independent writes as one ``$batch`` and reads one outcome per write.

    Args:
        client: The Dataverse service client.
    """

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    def url_of(self, relative: str) -> str:
        """The absolute URL of a resource, as the request line of a batch part wants it."""
        return str(self._client.base_url.join(relative))

    async def run(
        self, operations: Sequence[BatchOperation], *, idempotent: bool
    ) -> list[WriteOutcome]:
        """Send operations (at most 1,000) as one batch.

        Args:
            operations: The writes, answered in this order.
            idempotent: Whether repeating the whole batch is harmless, so a lost answer may be
                retried (a conditional PATCH is not: its repeat answers 412).

        Returns:
            One outcome per operation, in the order given. A batch the service refused as a
            whole gives every operation that error; an operation left unanswered gets a
            transient error.
        """
        content_type, body = encode_batch([operation.part for operation in operations])
        headers = {"Content-Type": content_type, "Prefer": "odata.continue-on-error"}
        try:
            response = await self._client.request(
                "POST",
                "$batch",
                kind=RequestKind.BATCH,
                idempotent=idempotent,
                headers=headers,
                content=body,
            )
        except ConnectorError as error:
            return [failed_outcome(op.index, op.record_id, error) for op in operations]
        answers = parse_multipart(response.headers.get("content-type", ""), response.content)
        outcomes = [
            _answer_outcome(operation, answer)
            for operation, answer in zip(operations, answers, strict=False)
        ]
        unanswered = TransientConnectorError(
            "The $batch answer holds no response for this operation.",
            service="dataverse",
            code="BatchIncomplete",
        )
        outcomes += [
            failed_outcome(op.index, op.record_id, unanswered) for op in operations[len(answers) :]
        ]
        return outcomes
