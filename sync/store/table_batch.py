"""Entity group transactions: packed per partition, at most 100 operations, sent concurrently.

Table Storage commits a transaction only within one partition, refuses more than 100 operations
(Azurite even answers 101 with a malformed response) and more than 4 MiB of payload. Writes are
packed here and never elsewhere: at most 100 operations and about 1 MB of JSON per transaction
(aiohttp also warns about larger request bodies). Operations that must commit together (a
coupling and its Dataverse-id index entity) are packed as one unit and never split.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any

from azure.data.tables import TableErrorCode, TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient

from sync.store.table_entity import Entity, azure_errors

MAX_OPERATIONS = 100
"""Table Storage's limit of operations per transaction."""

MAX_PAYLOAD = 1_000_000
"""Bytes of JSON per transaction we aim to stay under; a single larger unit goes alone."""

_OVERHEAD = 600  # multipart headers and the request line of one operation, generously

DEFAULT_CONCURRENCY = 8
"""Transactions in flight at once: enough to hide latency without flooding the account."""

Operation = tuple[str, Entity, dict[str, Any]]
"""One transaction operation as the SDK takes it: (kind, entity, keyword arguments)."""


def replace(entity: Entity) -> Operation:
    """Insert or replace the whole entity (stale properties, such as dropped Nones, go away)."""
    return ("upsert", entity, {"mode": UpdateMode.REPLACE})


def delete(partition_key: str, row_key: str) -> Operation:
    """Delete one entity, whatever its ETag."""
    return ("delete", {"PartitionKey": partition_key, "RowKey": row_key}, {})


def pack_transactions(units: Iterable[Sequence[Operation]]) -> list[list[Operation]]:
    """Group units of operations into transactions of one partition and <= 100 operations.

    Args:
        units: Operations that must commit together; all of one unit share a PartitionKey.

    Returns:
        The transactions, each a list of operations, in no particular partition order.
    """
    by_partition: dict[str, list[tuple[list[Operation], int]]] = {}
    for unit in units:
        if not unit:
            continue
        size = sum(_payload_size(operation) for operation in unit)
        transactions = by_partition.setdefault(unit[0][1]["PartitionKey"], [([], 0)])
        operations, payload = transactions[-1]
        if len(operations) + len(unit) > MAX_OPERATIONS or payload + size > MAX_PAYLOAD:
            transactions.append(([], 0))
            operations, payload = transactions[-1]
        operations.extend(unit)
        transactions[-1] = (operations, payload + size)
    return [ops for transactions in by_partition.values() for ops, _ in transactions if ops]


def _payload_size(operation: Operation) -> int:
    # The SDK sends each entity as JSON with non-ASCII characters escaped; count them that way.
    _, entity, _ = operation
    size = _OVERHEAD
    for name, value in entity.items():
        text = value if isinstance(value, str) else "x" * 40  # numbers, dates and their type
        size += len(name) + len(json.dumps(text)) + 4
    return size


async def submit_transactions(
    table: TableClient,
    transactions: Sequence[list[Operation]],
    *,
    action: str,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> None:
    """Submit transactions, up to ``concurrency`` at a time, and wait for all of them.

    Every transaction is awaited before the first failure is raised, so no request is left
    running in the background.

    Raises:
        StoreError: A transaction failed (each transaction commits whole or not at all).
    """
    gate = asyncio.Semaphore(concurrency)

    async def submit(operations: list[Operation]) -> None:
        async with gate:
            await _submit_one(table, operations, action=action)

    await wait_all(submit(ops) for ops in transactions)


async def wait_all(calls: Iterable[Awaitable[object]]) -> None:
    """Run ``calls`` concurrently; once all have finished, raise the first failure if any.

    Unlike a bare ``asyncio.gather``, no call is left running after the first one fails.
    """
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


async def _submit_one(table: TableClient, operations: list[Operation], *, action: str) -> None:
    with azure_errors(action):
        try:
            await table.submit_transaction(operations)
        except TableTransactionError as exc:
            if not _only_deletes_of_missing(exc, operations):
                raise
            # One entity of the batch was already gone, which rolls the whole batch back.
            # Deleting is idempotent for our callers, so delete one by one (404 is ignored).
            for _, entity, _ in operations:
                await table.delete_entity(entity["PartitionKey"], entity["RowKey"])


def _only_deletes_of_missing(exc: TableTransactionError, operations: list[Operation]) -> bool:
    missing = getattr(exc, "error_code", None) == TableErrorCode.RESOURCE_NOT_FOUND
    return missing and all(kind == "delete" for kind, _, _ in operations)
