"""In-memory fakes of the API's own ports: idempotency keys, the work ledger and the queue."""

from __future__ import annotations

from collections.abc import Sequence

from sync.clock import SystemClock
from sync.models.idempotency import StoredResponse
from sync.models.work import RunProgress, StageSplit, WorkResult
from sync.ports import Clock


class InMemoryIdempotencyStore:  # implements IdempotencyStore
    """Stored responses in a dict; expiry decided by the injected clock."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.records: dict[str, StoredResponse] = {}
        self._clock: Clock = clock or SystemClock()

    async def reserve_key(self, record: StoredResponse) -> StoredResponse | None:
        current = self.records.get(record.key)
        if current is not None and not current.is_expired(self._clock.now()):
            return current
        self.records[record.key] = record
        return None

    async def complete_key(self, record: StoredResponse) -> None:
        self.records[record.key] = record

    async def release_key(self, key: str) -> None:
        self.records.pop(key, None)

    async def purge_expired(self) -> int:
        now = self._clock.now()
        expired = [key for key, record in self.records.items() if record.is_expired(now)]
        for key in expired:
            del self.records[key]
        return len(expired)


class InMemoryWorkLedger:  # implements WorkLedger
    """Stages and results per run in dicts."""

    def __init__(self) -> None:
        self.stages: dict[tuple[str, str], dict[int, StageSplit]] = {}
        self.results: dict[tuple[str, str], dict[str, WorkResult]] = {}

    async def claim_stage(self, scope: str, run_id: str, stage: int, owner: str) -> bool:
        stages = self.stages.setdefault((scope, run_id), {})
        current = stages.setdefault(stage, StageSplit(stage=stage, owner=owner))
        return current.owner == owner

    async def complete_split(
        self,
        scope: str,
        run_id: str,
        stage: int,
        item_ids: Sequence[str],
        *,
        note: str | None = None,
    ) -> None:
        stages = self.stages.setdefault((scope, run_id), {})
        current = stages.get(stage, StageSplit(stage=stage, owner="-"))
        stages[stage] = current.model_copy(update={"item_ids": tuple(item_ids), "note": note})

    async def save_result(self, scope: str, run_id: str, result: WorkResult) -> None:
        self.results.setdefault((scope, run_id), {})[result.item_id] = result

    async def has_result(self, scope: str, run_id: str, item_id: str) -> bool:
        return item_id in self.results.get((scope, run_id), {})

    async def load_progress(self, scope: str, run_id: str) -> RunProgress:
        stages = self.stages.get((scope, run_id), {})
        results = self.results.get((scope, run_id), {})
        return RunProgress(
            stages=tuple(stages[n] for n in sorted(stages)), results=tuple(results.values())
        )


class InMemoryWorkQueue:  # implements WorkQueue
    """Messages in a list, in the order they were sent; tests take them out by hand."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def send_work(self, messages: Sequence[str]) -> None:
        self.messages.extend(messages)

    def take_all(self) -> list[str]:
        """Remove and return every message sent so far."""
        taken, self.messages = self.messages, []
        return taken
