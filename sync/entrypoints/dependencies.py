"""What the triggers work with: built once per process from the settings, or set by a test.

Nothing is built at import. The first trigger that needs the engine calls
``get_dependencies()``, which reads the cached settings and opens the engine, the work queue
and the API's own tables; later calls get the same objects. Tests and local tools hand in
their own with ``use_dependencies`` (for example an engine over the sandbox emulators).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from azure.core.credentials_async import AsyncTokenCredential
from azure.data.tables.aio import TableServiceClient
from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

from sync.bootstrap import Engine, open_engine
from sync.clock import SystemClock
from sync.engine.runner import Runner
from sync.entrypoints.status_link import StatusLinks
from sync.errors import ConfigError
from sync.models import Side
from sync.ports import IdempotencyStore, WorkLedger, WorkQueue
from sync.settings import (
    Settings,
    SqliteTarget,
    SyncApiSettings,
    TableConnectionTarget,
    TableIdentityTarget,
    get_settings,
    resolve_store,
)
from sync.store.storage_work_queue import StorageQueueWorkQueue
from sync.store.table_idempotency import TableIdempotencyStore
from sync.store.table_work_ledger import TableWorkLedger

Closer = Callable[[], Awaitable[None]]


@dataclass
class Dependencies:
    """The engine and everything around it that the triggers share.

    Attributes:
        engine: The sync engine (clients of both services and the state store).
        companies: The BC company ids this app syncs (``SYNC_BC__COMPANIES``).
        work_queue: Where long operations are handed over to the queue trigger.
        idempotency: Answers kept for ``Idempotency-Key`` replays.
        ledger: Stages and item results of runs split over the work queue.
        api: The API's settings (``SYNC_API__*``).
        status_links: Signs and checks the status links of long operations.
        closers: Extra resources to release on ``close``.
    """

    engine: Engine
    companies: tuple[str, ...]
    work_queue: WorkQueue
    idempotency: IdempotencyStore
    ledger: WorkLedger
    api: SyncApiSettings
    status_links: StatusLinks
    closers: list[Closer] = field(default_factory=list)

    def runner(self, company: str, *, run_id: str | None = None) -> Runner:
        """A runner for one company; with ``run_id`` its next run gets that id."""
        runner = self.engine.runner(company)
        if run_id is None:
            return runner
        # Engine.runner cannot fix the run id: rebuild the runner over the same parts.
        parts = runner.parts
        return Runner(
            scope=parts.scope,
            bc=parts.sides[Side.BC],
            dataverse=parts.sides[Side.DATAVERSE],
            stores=parts.stores,
            clock=parts.clock,
            options=parts.options,
            new_run_id=lambda: run_id,
        )

    async def close(self) -> None:
        """Close the engine and every extra resource."""
        await self.engine.close()
        for close in self.closers:
            await close()


class _Provider:
    """Holds the process's dependencies; opening them happens once, on first use."""

    def __init__(self) -> None:
        self.current: Dependencies | None = None
        self.opening: asyncio.Task[Dependencies] | None = None


_provider = _Provider()


def use_dependencies(dependencies: Dependencies | None) -> None:
    """Make every trigger use ``dependencies``; None goes back to building them from settings.

    The caller owns what it hands in (and closes it).
    """
    _provider.current = dependencies
    _provider.opening = None


async def get_dependencies() -> Dependencies:
    """The process's dependencies, opened from the settings on first use.

    Raises:
        ConfigError: A setting needed to open them is missing or unusable.
    """
    if _provider.current is not None:
        return _provider.current
    if _provider.opening is None:
        _provider.opening = asyncio.ensure_future(open_dependencies(get_settings()))
    opening = _provider.opening
    try:
        _provider.current = await asyncio.shield(opening)
    finally:
        if _provider.current is None and opening.done():
            _provider.opening = None  # failed: a fixed setting or a store back up counts next time
    return _provider.current


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
