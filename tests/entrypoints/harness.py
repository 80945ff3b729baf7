"""The Functions app in-process over the sandbox emulators: an API client, the queue, timers.

``open_app`` composes what production composes, with stand-ins: the sandbox's BC and Dataverse
emulators behind ``httpx.ASGITransport``, a state store (in memory, or Azure Table Storage on
Azurite), and the API's own ports (in memory, or Azurite tables and queue). It hands the result
to the app with ``use_dependencies``: the triggers run exactly as in Azure, only their
dependencies differ.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import httpx
from azure.functions.timer import TimerRequest
from pydantic import SecretStr

from sync.entrypoints.dependencies import Dependencies, use_dependencies
from sync.entrypoints.sandbox_engine import open_sandbox_engine
from sync.entrypoints.status_link import StatusLinks
from sync.ports import IdempotencyStore, WorkLedger, WorkQueue
from sync.settings import SyncApiSettings
from sync.store import StateStore
from tests.fakes.store import InMemoryStateStore
from tests.fakes.work import InMemoryIdempotencyStore, InMemoryWorkLedger, InMemoryWorkQueue

SIGNING_KEY = "test-signing-key-0123456789abcdef0123456789"
BC_HOST = "https://api.businesscentral.sandbox"
_message_ids = itertools.count(1)


class MovableClock:  # implements Clock
    """The system time plus an offset a test can move (for expiring links and keys)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error_code(self) -> str:
        return self.body["error"]["code"]


@dataclass
class App:
    """The app under test: its functions, its dependencies and the emulators' control planes."""

    functions: dict[str, Any]
    dependencies: Dependencies
    bc: Any
    dataverse: Any
    link_clock: MovableClock  # status links and idempotency keys expire by it
    companies: list[str] = field(default_factory=list)

    @property
    def queue(self) -> InMemoryWorkQueue:
        queue = self.dependencies.work_queue
        assert isinstance(queue, InMemoryWorkQueue)
        return queue

    @property
    def store(self) -> StateStore:
        return self.dependencies.engine.store

    async def call(
        self,
        function: str,
        method: str,
        path: str,
        *,
        route: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        raw = (
            body
            if body is not None
            else b""
            if json_body is None
            else json.dumps(json_body).encode()
        )
        request = func.HttpRequest(
            method=method,
            url=f"https://sync.example.net/api/{path}",
            headers=headers or {},
            params=params or {},
            route_params=route or {},
            body=raw,
        )
        response = await self.functions[function].get_user_function()(request)
        text = response.get_body()
        return Answer(
            response.status_code, json.loads(text) if text else None, dict(response.headers)
        )

    @staticmethod
    def request(
        method: str,
        path: str,
        *,
        route: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> func.HttpRequest:
        if body is None:
            body = b"" if json_body is None else json.dumps(json_body).encode()
        return func.HttpRequest(
            method=method,
            url=f"https://sync.example.net/api/{path}",
            headers=headers or {},
            params=params or {},
            route_params=route or {},
            body=body,
        )

    async def poll(self, location: str, **params: str) -> Answer:
        """GET a status link as Power Automate would: no function key, no other header."""
        url = httpx.URL(location)
        run_id = url.path.split("/")[-2]
        query = {k: v for k, v in url.params.items()} | params
        return await self.call(
            "get_run_status",
            "GET",
            url.path.removeprefix("/api/"),
            route={"id": run_id},
            params=query,
        )

    async def deliver(
        self, text: str, *, message_id: str | None = None, poison: bool = False
    ) -> None:
        """Hand one message to the queue trigger (or the poison queue's), as the host would."""
        message = func.QueueMessage(id=message_id or f"m{next(_message_ids)}", body=text.encode())
        name = "process_failed_work" if poison else "process_work"
        await self.functions[name].get_user_function()(message)

    async def drain(self, *, limit: int = 1000) -> int:
        """Deliver queued messages (and the ones they enqueue) until the queue is empty."""
        delivered = 0
        while self.queue.messages and delivered < limit:
            for text in self.queue.take_all():
                await self.deliver(text)
                delivered += 1
        return delivered

    async def fire_timer(self, mapping_function: str, *, past_due: bool = False) -> None:
        await self.functions[mapping_function].get_user_function()(TimerRequest(past_due=past_due))


async def open_app(
    functions: dict[str, Any],
    *,
    records: int = 30,
    store: StateStore | None = None,
    queue: WorkQueue | None = None,
    idempotency: IdempotencyStore | None = None,
    ledger: WorkLedger | None = None,
    several_companies: bool = False,
    api: SyncApiSettings | None = None,
) -> App:
    """Compose the sandbox, the engine and the API's ports, and hand them to the app."""
    engine, editors = await open_sandbox_engine(
        records=records, store=store or InMemoryStateStore()
    )
    companies = editors.bc.company_ids()
    link_clock = MovableClock()
    dependencies = Dependencies(
        engine=engine,
        companies=tuple(companies if several_companies else companies[:1]),
        work_queue=queue or InMemoryWorkQueue(),
        idempotency=idempotency or InMemoryIdempotencyStore(clock=link_clock),
        ledger=ledger or InMemoryWorkLedger(),
        api=api or SyncApiSettings(status_signing_key=SecretStr(SIGNING_KEY)),
        status_links=StatusLinks(
            key=SecretStr(SIGNING_KEY), lifetime=timedelta(hours=1), clock=link_clock
        ),
    )
    use_dependencies(dependencies)
    return App(
        functions=functions,
        dependencies=dependencies,
        bc=editors.bc,
        dataverse=editors.dataverse,
        link_clock=link_clock,
        companies=list(dependencies.companies),
    )


async def close_app(app: App) -> None:
    use_dependencies(None)
    await app.dependencies.close()
