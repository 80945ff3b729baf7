"""Open the production dependencies from settings: Table Storage, the work queue, the engine.

Imported on a trigger's first call, not at import, so a cold start does not load the Azure
SDKs before it needs them.
"""

from __future__ import annotations

from datetime import timedelta

from azure.core.credentials_async import AsyncTokenCredential
from azure.data.tables.aio import TableServiceClient
from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

from sync.bootstrap import open_engine
from sync.clock import SystemClock
from sync.entrypoints.dependencies import Closer, Dependencies
from sync.entrypoints.status_link import StatusLinks
from sync.errors import ConfigError
from sync.settings import (
    Settings,
    SqliteTarget,
    TableConnectionTarget,
    TableIdentityTarget,
    resolve_store,
)
from sync.store.storage_work_queue import StorageQueueWorkQueue
from sync.store.table_idempotency import TableIdempotencyStore
from sync.store.table_work_ledger import TableWorkLedger


async def open_dependencies(settings: Settings) -> Dependencies:
    """Open the production dependencies: the engine, Table Storage and the work queue.

    Raises:
        ConfigError: A setting is missing; the message names it.
    """
    signing_key = settings.require_status_signing_key()
    bc, _, _ = settings.require_services()
    target = resolve_store(settings, host="functions")
    if isinstance(target, SqliteTarget):  # resolve_store refuses it in the Functions host
        raise ConfigError("the Functions app keeps its state in Table Storage, not SQLite")
    service, credential = _table_service(target)
    idempotency = TableIdempotencyStore(service=service, table_prefix=target.table_prefix)
    ledger = TableWorkLedger(service=service, table_prefix=target.table_prefix)
    queue = _work_queue(settings)
    engine = await open_engine(settings, host="functions")
    await idempotency.ensure_table()
    await ledger.ensure_table()
    await queue.ensure_queue()
    closers: list[Closer] = [service.close, queue.close]
    if credential is not None:
        closers.append(credential.close)
    return Dependencies(
        engine=engine,
        companies=bc.companies,
        work_queue=queue,
        idempotency=idempotency,
        ledger=ledger,
        api=settings.api,
        status_links=StatusLinks(
            key=signing_key,
            lifetime=timedelta(seconds=settings.api.status_link_seconds),
            clock=SystemClock(),
        ),
        closers=closers,
    )


def _credential(client_id: str | None) -> AsyncTokenCredential:
    if client_id:
        return ManagedIdentityCredential(client_id=client_id)
    return DefaultAzureCredential()


def _table_service(
    target: TableConnectionTarget | TableIdentityTarget,
) -> tuple[TableServiceClient, AsyncTokenCredential | None]:
    if isinstance(target, TableConnectionTarget):
        conn = target.connection_string.get_secret_value()
        return TableServiceClient.from_connection_string(conn), None
    credential = _credential(target.client_id)
    return TableServiceClient(endpoint=target.endpoint, credential=credential), credential


def _work_queue(settings: Settings) -> StorageQueueWorkQueue:
    """The queue the ``process_work`` trigger listens to: the host's own storage account."""
    connection = settings.host_storage
    if connection is not None and connection.get_secret_value():
        return StorageQueueWorkQueue.from_connection_string(connection.get_secret_value())
    url = settings.host_storage_queue_uri
    if url is None and settings.host_storage_account:
        url = f"https://{settings.host_storage_account}.queue.core.windows.net"
    if url is None:
        raise ConfigError(
            "No work queue: set AzureWebJobsStorage (or AzureWebJobsStorage__accountName or "
            "AzureWebJobsStorage__queueServiceUri for a managed identity)"
        )
    return StorageQueueWorkQueue.from_account_url(url, _credential(settings.host_storage_client_id))
