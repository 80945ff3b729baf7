"""The API's own ports (idempotency keys, work ledger, work queue) against each implementation."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from azure.data.tables.aio import TableServiceClient
from azure.storage.queue.aio import QueueClient

from sync.models import RunCounters
from sync.models.idempotency import StoredResponse
from sync.models.work import WorkResult
from sync.store.storage_work_queue import StorageQueueWorkQueue
from sync.store.table_idempotency import TableIdempotencyStore
from sync.store.table_work_ledger import TableWorkLedger
from tests.adapters.conftest import ManualClock, azurite_connection_string
from tests.fakes.work import InMemoryIdempotencyStore, InMemoryWorkLedger

SCOPE = "contoso:production:5d1c"
IMPLEMENTATIONS = ["in_memory", pytest.param("azure_table", marks=pytest.mark.azurite)]


def _prefix() -> str:
    return "t" + uuid.uuid4().hex[:8]


@pytest.fixture(params=IMPLEMENTATIONS)
async def idempotency(request, clock: ManualClock) -> AsyncIterator[object]:
    if request.param == "in_memory":
        yield InMemoryIdempotencyStore(clock=clock)
        return
    async with TableServiceClient.from_connection_string(azurite_connection_string()) as service:
        store = TableIdempotencyStore(service=service, table_prefix=_prefix(), clock=clock)
        await store.ensure_table()
        yield store
        await service.delete_table(store.table_name)


@pytest.fixture(params=IMPLEMENTATIONS)
async def ledger(request) -> AsyncIterator[object]:
    if request.param == "in_memory":
        yield InMemoryWorkLedger()
        return
    async with TableServiceClient.from_connection_string(azurite_connection_string()) as service:
        table_ledger = TableWorkLedger(service=service, table_prefix=_prefix())
        await table_ledger.ensure_table()
        yield table_ledger
        await service.delete_table(table_ledger.table_name)


def _record(clock: ManualClock, key: str = "flow/run#1?", **update) -> StoredResponse:
    return StoredResponse(
        key=key, fingerprint="f1", expires_at=clock.now() + timedelta(hours=1)
    ).model_copy(update=update)


async def test_first_reservation_wins_and_others_see_it_when_a_key_is_reserved(idempotency, clock):
    assert await idempotency.reserve_key(_record(clock)) is None
    again = await idempotency.reserve_key(_record(clock, fingerprint="f2"))
    assert again is not None
    assert again.fingerprint == "f1"
    assert not again.completed


async def test_exactly_one_of_concurrent_reservations_wins_when_they_race(idempotency, clock):
    results = await asyncio.gather(*(idempotency.reserve_key(_record(clock)) for _ in range(8)))
    assert sum(result is None for result in results) == 1


async def test_completed_answer_is_read_back_when_key_is_reserved_again(idempotency, clock):
    await idempotency.reserve_key(_record(clock))
    body = json.dumps({"runId": "r1", "text": "é" * 40_000})
    done = _record(clock, status=202, body=body, headers={"Location": "https://x/1"})
    await idempotency.complete_key(done)
    stored = await idempotency.reserve_key(_record(clock))
    assert stored == done


async def test_expired_key_can_be_reserved_again_when_its_time_passed(idempotency, clock):
    await idempotency.reserve_key(_record(clock, status=200))
    clock.advance(timedelta(hours=2))
    assert await idempotency.reserve_key(_record(clock, fingerprint="new")) is None
    assert (await idempotency.reserve_key(_record(clock))).fingerprint == "new"


async def test_released_key_can_be_reserved_again_when_work_failed(idempotency, clock):
    await idempotency.reserve_key(_record(clock))
    await idempotency.release_key("flow/run#1?")
    await idempotency.release_key("never-reserved")
    assert await idempotency.reserve_key(_record(clock)) is None


async def test_purge_deletes_only_expired_keys_when_called(idempotency, clock):
    await idempotency.reserve_key(_record(clock, key="old"))
    clock.advance(timedelta(hours=2))
    await idempotency.reserve_key(_record(clock, key="new"))
    assert await idempotency.purge_expired() == 1
    assert await idempotency.reserve_key(_record(clock, key="new")) is not None


async def test_stage_is_claimed_by_its_first_owner_and_again_by_that_owner(ledger):
    assert await ledger.claim_stage(SCOPE, "run-1", 0, "message-a")
    assert await ledger.claim_stage(SCOPE, "run-1", 0, "message-a")
    assert not await ledger.claim_stage(SCOPE, "run-1", 0, "message-b")
    assert await ledger.claim_stage(SCOPE, "run-2", 0, "message-b")


async def test_progress_holds_stages_and_results_when_items_report(ledger):
    await ledger.claim_stage(SCOPE, "run-1", 0, "m")
    await ledger.complete_split(SCOPE, "run-1", 0, ["00-a", "00-b"])
    await ledger.save_result(SCOPE, "run-1", _result("00-a", inserted=3))
    progress = await ledger.load_progress(SCOPE, "run-1")
    assert not progress.is_stage_done(0)
    await ledger.save_result(SCOPE, "run-1", _result("00-b", inserted=2))
    await ledger.save_result(SCOPE, "run-1", _result("00-b", inserted=2))  # redelivered
    progress = await ledger.load_progress(SCOPE, "run-1")
    assert progress.is_stage_done(0)
    assert sum(r.counters.inserted for r in progress.counted_results()) == 5
    assert progress.stage(0).owner == "m"
    assert await ledger.has_result(SCOPE, "run-1", "00-a")
    assert not await ledger.has_result(SCOPE, "run-1", "00-c")


async def test_a_newer_listing_replaces_the_stage_items_with_its_note_when_split_again(ledger):
    await ledger.claim_stage(SCOPE, "run-1", 1, "m")
    await ledger.complete_split(SCOPE, "run-1", 1, ["01-a"])
    await ledger.complete_split(SCOPE, "run-1", 1, [], note="mapping X is running")
    progress = await ledger.load_progress(SCOPE, "run-1")
    assert progress.stage(1).item_ids == ()
    assert progress.stage(1).note == "mapping X is running"
    assert progress.is_stage_done(1)


def _result(item: str, **counters):
    return WorkResult(item_id=item, stage=int(item[:2]), counters=RunCounters(**counters))


@pytest.mark.azurite
async def test_queue_messages_are_base64_encoded_like_the_functions_host_expects():
    connection = azurite_connection_string()
    name = "q" + uuid.uuid4().hex[:10]
    queue = StorageQueueWorkQueue.from_connection_string(connection, name)
    await queue.ensure_queue()
    raw = QueueClient.from_connection_string(connection, name)  # no decoding: as stored
    try:
        await queue.send_work(['{"kind": "run", "text": "é"}'])
        messages = [m async for m in raw.receive_messages()]
        assert len(messages) == 1
        assert json.loads(base64.b64decode(messages[0].content)) == {"kind": "run", "text": "é"}
    finally:
        await raw.delete_queue()
        await raw.close()
        await queue.close()
