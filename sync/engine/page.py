"""Apply one page of planned operations: batched writes per side, then record the outcomes."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from sync.cooperative import in_slices
from sync.engine.coupling_index import CouplingIndex
from sync.engine.create_guard import CreateGuard
from sync.engine.operation import SETTLED, Operation, OperationKind
from sync.engine.planner import PlanContext
from sync.engine.recording import Recorded, RecordingContext, record_operation
from sync.errors import SyncError
from sync.models import Coupling, Side, WriteOutcome, WriteRequest
from sync.ports import CouplingStore, RunStore, SideGateway

WRITE_CHUNK = 1000
"""Operations per write call: a multiple of both services' message sizes (Dataverse bulk 1,000,
BC ``$batch`` 100), so chunking a page adds no request."""


class DeletionGuardError(SyncError):
    """A run would delete more than the allowed share of a table; it stopped instead."""


class PageApplier:
    """Writes a page's operations to both sides and records couplings, counters and errors.

    Writes of one side go out in one call (the gateway batches and isolates failures); every
    operation then gets its outcomes, and the page's couplings and errors are saved before the
    caller may move the watermark.
    """

    def __init__(
        self,
        *,
        context: PlanContext,
        sides: Mapping[Side, SideGateway],
        couplings: CouplingStore,
        runs: RunStore,
        index: CouplingIndex,
        recording: RecordingContext,
        max_deletions: int,
        write_chunk: int = WRITE_CHUNK,
    ) -> None:
        self._context = context
        self._sides = sides
        self._couplings = couplings
        self._runs = runs
        self._index = index
        self._recording = recording
        self._deletions_left = max_deletions
        self._write_chunk = write_chunk
        self._create_guard = CreateGuard(
            store=couplings, scope=recording.scope, mapping=context.mapping
        )

    async def apply(self, operations: Sequence[Operation]) -> Recorded:
        """Apply and record a page; returns what was recorded.

        Raises:
            DeletionGuardError: The page would exceed the run's deletion budget; nothing of it
                was written.
        """
        self._guard_deletions(operations)
        outcomes = await self._write_all(operations)
        recorded = Recorded()
        position = 0
        async for chunk in in_slices(operations):
            for operation in chunk:
                # A settled pair is only counted: finding its coupling again would be wasted.
                settled = operation.kind is OperationKind.UNCHANGED and operation.reason == SETTLED
                existing = None if settled else self._existing(operation)
                record_operation(self._recording, operation, existing, outcomes[position], recorded)
                position += 1
        await self._save(recorded)
        await self._create_guard.settle(operations, recorded.transient_failures)
        return recorded

    def _guard_deletions(self, operations: Sequence[Operation]) -> None:
        deletions = sum(1 for op in operations if op.kind is OperationKind.DELETE)
        if deletions > self._deletions_left:
            raise DeletionGuardError(
                f"mapping {self._context.mapping.name}: the run would delete more than the "
                "allowed share of coupled records (SYNC_LIMITS__MAX_DELETION_SHARE); nothing "
                "more was deleted. Check the deletions on the source side, then raise the limit "
                "or delete in smaller steps."
            )
        self._deletions_left -= deletions

    async def _write_all(self, operations: Sequence[Operation]) -> list[dict[Side, WriteOutcome]]:
        # Chunk by chunk, so the first requests leave once a thousand operations are ready rather
        # than the whole page; each chunk's BC create intents are saved before its writes start.
        outcomes: list[dict[Side, WriteOutcome]] = [{} for _ in operations]
        writing: list[asyncio.Task[None]] = []
        try:
            for start in range(0, len(operations), self._write_chunk):
                chunk = range(start, min(start + self._write_chunk, len(operations)))
                await self._create_guard.record_intents(
                    [operations[i] for i in chunk], now=self._recording.now
                )
                writing.append(asyncio.create_task(self._write(operations, chunk, outcomes)))
        finally:
            # Every chunk already sent is waited for, also when a later one could not start.
            results = await asyncio.gather(*writing, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return outcomes

    async def _write(
        self,
        operations: Sequence[Operation],
        chunk: range,
        outcomes: list[dict[Side, WriteOutcome]],
    ) -> None:
        for side in Side:
            positions: list[int] = []
            requests: list[WriteRequest] = []
            for position in chunk:
                operation = operations[position]
                request = operation.bc_write if side is Side.BC else operation.dataverse_write
                if request is not None:
                    positions.append(position)
                    requests.append(request)
            if not requests:
                continue
            results = await self._sides[side].write(self._context.mapping, requests)
            for position, outcome in zip(positions, results, strict=True):
                outcomes[position][side] = outcome

    def _existing(self, operation: Operation) -> Coupling | None:
        if operation.bc_id is not None:
            return self._index.find(Side.BC, operation.bc_id)
        if operation.dataverse_id is not None:
            return self._index.find(Side.DATAVERSE, operation.dataverse_id)
        return None

    async def _save(self, recorded: Recorded) -> None:
        if recorded.removed:
            await self._couplings.delete_couplings(recorded.removed)
            self._index.remove(recorded.removed)
        if recorded.put:
            await self._couplings.put_couplings(recorded.put)
            self._index.put(recorded.put)
        if recorded.errors:
            await self._runs.add_errors(self._recording.scope, recorded.errors)
