"""The long-operation path on Azurite: tables for state and idempotency, the real work queue."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from azure.data.tables.aio import TableServiceClient
from azure.storage.queue import TextBase64DecodePolicy
from azure.storage.queue.aio import QueueClient
from pydantic import SecretStr

from sync.entrypoints.work_message import parse_work
from sync.models import RunMode
from sync.settings import SyncApiSettings
from sync.store import TableStateStore
from sync.store.storage_work_queue import StorageQueueWorkQueue
from sync.store.table_idempotency import TableIdempotencyStore
from sync.store.table_work_ledger import TableWorkLedger
from tests.adapters.conftest import azurite_connection_string
from tests.entrypoints.harness import SIGNING_KEY, App, close_app, open_app

pytestmark = pytest.mark.azurite


class QueueReader:
    """Takes messages off the Azurite queue as the Functions host does (base64-decoded)."""

    def __init__(self, client: QueueClient) -> None:
        self.client = client

    async def drain(self, app: App, *, repeat_page: int | None = None) -> int:
        delivered = pages = 0
        while True:
            messages = [m async for m in self.client.receive_messages(visibility_timeout=30)]
            if not messages:
                return delivered
            for message in messages:
                await app.deliver(message.content, message_id=message.id)
                delivered += 1
                if parse_work(message.content).kind == "page":
                    pages += 1
                    if pages == repeat_page:  # delivered again before it was deleted
                        await app.deliver(message.content, message_id=message.id)
                await self.client.delete_message(message)


@pytest.fixture
async def azurite_app(functions) -> AsyncIterator[tuple[App, QueueReader]]:
    connection = azurite_connection_string()
    prefix = "t" + uuid.uuid4().hex[:8]
    queue_name = "sync-work-" + uuid.uuid4().hex[:8]
    state = TableStateStore.from_connection_string(connection, table_prefix=prefix)
    queue = StorageQueueWorkQueue.from_connection_string(connection, queue_name)
    await queue.ensure_queue()
    reader = QueueClient.from_connection_string(
        connection, queue_name, message_decode_policy=TextBase64DecodePolicy()
    )
    async with TableServiceClient.from_connection_string(connection) as tables:
        idempotency = TableIdempotencyStore(service=tables, table_prefix=prefix)
        ledger = TableWorkLedger(service=tables, table_prefix=prefix)
        await idempotency.ensure_table()
        await ledger.ensure_table()
        api = SyncApiSettings(status_signing_key=SecretStr(SIGNING_KEY), fan_out_page_size=8)
        app = await open_app(
            functions,
            records=40,
            store=state,
            queue=queue,
            idempotency=idempotency,
            ledger=ledger,
            api=api,
        )
        try:
            yield app, QueueReader(reader)
        finally:
            await reader.delete_queue()
            await reader.close()
            await queue.close()
            await state.delete_tables()
            for table in (idempotency.table_name, ledger.table_name):
                await tables.delete_table(table)
            await close_app(app)


async def test_mapping_sync_completes_through_the_queue_when_polled_without_key(azurite_app):
    app, reader = azurite_app
    response = await app.call(
        "start_mapping_sync", "POST", "sync/CURRENCY", route={"mapping": "CURRENCY"}
    )
    assert response.status == 202
    assert (await app.poll(response.headers["Location"])).status == 202
    assert await reader.drain(app) == 1
    done = await app.poll(response.headers["Location"])
    assert done.status == 200
    assert done.body["id"] == response.body["runId"]
    assert done.body["status"] == "succeeded"


async def test_idempotency_key_replays_the_first_202_when_stored_in_table_storage(azurite_app):
    app, reader = azurite_app
    headers = {"Idempotency-Key": "flow-7f3a"}
    first = await app.call("start_modified_sync", "POST", "sync", headers=headers)
    again = await app.call("start_modified_sync", "POST", "sync", headers=headers)
    assert again.status == first.status == 202
    assert again.body["runId"] == first.body["runId"]
    assert await reader.drain(app) == 1


async def test_full_sync_fans_out_over_the_queue_and_counts_a_repeated_item_once(
    azurite_app, functions
):
    app, reader = azurite_app
    response = await app.call("start_full_sync", "POST", "sync/full")
    assert response.status == 202
    delivered = await reader.drain(app, repeat_page=2)
    assert delivered > 5
    done = await app.poll(response.headers["Location"])
    assert done.status == 200
    twin = await open_app(functions, records=40)
    try:
        direct = await twin.dependencies.runner(twin.companies[0]).run(RunMode.FULL)
    finally:
        await close_app(twin)
    assert done.body["counters"] == direct.run.counters.model_dump()
