"""A sandbox-backed engine world: both emulators in-process, state in Azure Table Storage.

The engine is composed exactly as the demo composes it (``sync.bootstrap``), over the in-process
emulators (``httpx.ASGITransport``) with the emulators' request counters outermost. State goes to
a real Azure Table store on Azurite (tables with a unique prefix, deleted afterwards), or to
SQLite or memory when a test asks for ``store_kind="sqlite"`` or ``"in_memory"``. Users' edits go
through the emulators' control planes, which bump versions and change times like the services.

One clock drives both emulators, the engine and the lease store; a test moves it forward to put
edits on either side of a watermark or to let a dead run's lease expire.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox import business_central, dataverse
from sandbox.counters import CounterKey, CounterSnapshot
from sandbox.server import SandboxApps, SandboxSettings, build_apps
from sync.bootstrap import Engine, service_clients
from sync.connectors import StaticTokenProvider
from sync.engine.run_parts import RunResult
from sync.engine.runner import Runner
from sync.mappings.configuration import load_configuration, replace_configuration
from sync.models import (
    Coupling,
    Direction,
    MappingSet,
    RunMode,
    Scope,
    Side,
    TableMapping,
    Watermark,
)
from sync.settings import RunLimits
from sync.store import SqliteStateStore, StateStore, TableStateStore
from tests.fakes.store import InMemoryStateStore

CONNECTION_VARIABLE = "AZURE_STORAGE_CONNECTION_STRING"
BC_HOST = "https://api.businesscentral.sandbox"
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
RECORDS = 10
"""Records per seeded table: small, so a full sync of the standard set takes well under a second."""


class WorldClock:  # implements Clock
    """Wall-clock time plus an offset the test moves forward (never back)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@dataclass(frozen=True)
class Requests:
    """Requests the emulators received between two instants, per side."""

    bc: dict[CounterKey, int]
    dataverse: dict[CounterKey, int]

    def bc_writes(self) -> int:
        return sum(n for (method, _, _), n in self.bc.items() if method != "GET")

    def dataverse_writes(self) -> int:
        return sum(n for (method, _, _), n in self.dataverse.items() if method != "GET")

    def writes(self) -> int:
        return self.bc_writes() + self.dataverse_writes()

    def reads(self, side: Side, kind: str | None = None) -> int:
        counts = self.bc if side is Side.BC else self.dataverse
        return sum(
            n for (method, k, _), n in counts.items() if method == "GET" and kind in (None, k)
        )


def synced_value(value: object) -> object:
    """A value as both sides can agree on it: blanks are "no value", codes ignore case.

    Blank text, null and BC's empty GUID all mean "no value"; BC upper-cases code fields
    (``country``) that Dataverse holds as typed.
    """
    if value in ("", None, EMPTY_GUID):
        return None
    return value.casefold() if isinstance(value, str) else value


def _since(before: CounterSnapshot, after: CounterSnapshot) -> dict[CounterKey, int]:
    delta = {key: n - before.counts.get(key, 0) for key, n in after.counts.items()}
    return {key: n for key, n in delta.items() if n}


class SandboxWorld:
    """Both emulators, the engine over them, and the handles a test plays users with."""

    def __init__(
        self,
        *,
        apps: SandboxApps,
        bc_app: Any,
        dataverse_app: Any,
        engine: Engine,
        clock: WorldClock,
    ) -> None:
        self.apps = apps
        self.bc = bc_app.state.bc
        self.dataverse = dataverse_app.state.dataverse
        self.engine = engine
        self.store: StateStore = engine.store
        self.clock = clock
        self.companies: list[str] = self.bc.company_ids()
        self.company = self.companies[0]

    def runner(self, company: str | None = None) -> Runner:
        return self.engine.runner(company or self.company)

    def scope(self, company: str | None = None) -> str:
        return Scope(
            tenant=self.engine.tenant,
            environment=self.engine.environment,
            company_id=company or self.company,
        ).key

    async def run(
        self,
        mode: RunMode = RunMode.MODIFIED,
        *,
        company: str | None = None,
        mappings: list[str] | None = None,
    ) -> RunResult:
        return await self.runner(company).run(mode, mappings=mappings)

    async def configure(self, name: str, *, company: str | None = None, **changes: Any) -> None:
        """Save the scope's configuration with one mapping changed (as an admin would)."""
        scope = self.scope(company)
        current = await load_configuration(self.store.mappings, scope)
        mappings = tuple(
            TableMapping.model_validate(m.model_dump() | changes) if m.name == name else m
            for m in current.mappings
        )
        await replace_configuration(
            self.store.mappings, scope, current.model_copy(update={"mappings": mappings})
        )

    async def couplings(self, mapping: str, *, company: str | None = None) -> list[Coupling]:
        scope = self.scope(company)
        return [c async for c in self.store.couplings.load_couplings(scope, mapping)]

    async def coupling_of_bc(
        self, mapping: str, bc_id: str, *, company: str | None = None
    ) -> Coupling | None:
        return await self.store.couplings.get_by_bc_id(self.scope(company), mapping, bc_id)

    async def watermark(
        self, mapping: str, side: Side, *, company: str | None = None
    ) -> Watermark | None:
        return await self.store.watermarks.load_watermark(self.scope(company), mapping, side)

    def counters(self) -> tuple[CounterSnapshot, CounterSnapshot]:
        return self.apps.business_central.snapshot(), self.apps.dataverse.snapshot()

    def requests_since(self, before: tuple[CounterSnapshot, CounterSnapshot]) -> Requests:
        bc, dataverse_ = self.counters()
        return Requests(bc=_since(before[0], bc), dataverse=_since(before[1], dataverse_))

    def customer(self, bc_id: str, *, company: str | None = None) -> dict[str, Any] | None:
        return self.bc.get(company or self.company, "customers", bc_id)

    def account(self, row_id: str) -> dict[str, Any] | None:
        return self.dataverse.get("accounts", row_id)

    async def mapping_set(self, *, company: str | None = None) -> MappingSet:
        return await load_configuration(self.store.mappings, self.scope(company))

    async def mapping(self, name: str, *, company: str | None = None) -> TableMapping:
        return (await self.mapping_set(company=company)).get(name)

    async def unequal_fields(
        self, name: str, *, company: str | None = None
    ) -> dict[str, list[str]]:
        """Plain fields that differ between the two records of each coupled pair, by BC id.

        A pair whose record is missing on either side is reported as ``["(missing)"]``.
        Lookups and transformed fields are left to the tests that are about them.
        """
        mapping = await self.mapping(name, company=company)
        # A one-way field of a two-way mapping is not copied when the record is created the
        # other way (BC does the same), so only fields that flow both ways must agree there.
        plain = [
            f
            for f in mapping.fields
            if f.enabled
            and f.bc_field
            and f.dataverse_field
            and f.direction in (mapping.direction, Direction.BIDIRECTIONAL)
            and f.lookup is None
            and not (f.transforms_to_dataverse or f.transforms_from_dataverse)
        ]
        found: dict[str, list[str]] = {}
        for coupling in await self.couplings(name, company=company):
            bc = self.bc.get(company or self.company, mapping.bc_entity, coupling.bc_id)
            row = self.dataverse.get(mapping.dataverse_entity_set, coupling.dataverse_id)
            if bc is None or row is None:
                found[coupling.bc_id] = ["(missing)"]
                continue
            differing = [
                f.label
                for f in plain
                if synced_value(bc.get(f.bc_field)) != synced_value(row.get(f.dataverse_field))
            ]
            if differing:
                found[coupling.bc_id] = differing
        return found


def azurite_connection_string() -> str:
    """The Azurite connection string; skip without one, but fail in CI (never skip there)."""
    connection_string = os.environ.get(CONNECTION_VARIABLE, "")
    if connection_string:
        return connection_string
    reason = f"{CONNECTION_VARIABLE} is not set, so the end-to-end tests need Azurite"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, where Azurite tests must run, not skip")
    pytest.skip(f"{reason} (start azurite-table and export {CONNECTION_VARIABLE})")


@pytest.fixture
def store_kind() -> str:
    """Where the world keeps its state; parametrize indirectly to switch."""
    return "azure_table"


@pytest.fixture
def run_limits() -> RunLimits:
    """The engine's run bounds; a test module may override this fixture."""
    return RunLimits()


async def open_world(
    *, store_kind: str, tmp_path: Path | None, limits: RunLimits, records: int = RECORDS
) -> SandboxWorld:
    """Seeded emulators and an engine over them.

    ``store_kind`` is ``azure_table`` (Azurite), ``sqlite`` (in ``tmp_path``) or ``in_memory``.
    """
    clock = WorldClock()
    settings = SandboxSettings(records=records)
    bc_app = business_central.create_app(seed=settings.seed, records=records, clock=clock.now)
    dataverse_app = dataverse.create_app(seed=settings.seed, records=records, clock=clock.now)
    apps = build_apps(settings, business_central_app=bc_app, dataverse_app=dataverse_app)
    tokens = StaticTokenProvider(lambda scope: apps.token_issuer.issue("sandbox-client", scope))
    bc_client, dataverse_client = service_clients(
        bc_root=f"{BC_HOST}/v2.0/{settings.tenant_id}/{settings.environment}/api",
        dataverse_url=settings.auth.dataverse_audience,
        tokens=tokens,
        transports=(
            httpx.ASGITransport(app=apps.business_central),
            httpx.ASGITransport(app=apps.dataverse),
        ),
    )
    store: StateStore
    if store_kind == "in_memory":
        store = InMemoryStateStore(clock=clock)
    elif store_kind == "sqlite":
        assert tmp_path is not None
        store = SqliteStateStore(tmp_path / "state.db", clock=clock)
    else:
        store = TableStateStore.from_connection_string(
            azurite_connection_string(), table_prefix=f"e2e{uuid.uuid4().hex[:10]}", clock=clock
        )
    await store.ensure_tables()
    engine = Engine(
        store=store,
        bc_client=bc_client,
        dataverse_client=dataverse_client,
        tenant=settings.tenant_id,
        environment=settings.environment,
        limits=limits,
        clock=clock,
    )
    return SandboxWorld(
        apps=apps, bc_app=bc_app, dataverse_app=dataverse_app, engine=engine, clock=clock
    )


async def close_world(world: SandboxWorld) -> None:
    try:
        if isinstance(world.store, TableStateStore):
            await world.store.delete_tables()
    finally:
        await world.engine.close()


@pytest.fixture
async def world(
    store_kind: str, run_limits: RunLimits, tmp_path: Path
) -> AsyncIterator[SandboxWorld]:
    """A fresh sandbox world (10 records per table) with its state store opened."""
    opened = await open_world(store_kind=store_kind, tmp_path=tmp_path, limits=run_limits)
    try:
        yield opened
    finally:
        await close_world(opened)


@pytest.fixture
async def synced(world: SandboxWorld) -> SandboxWorld:
    """The world after a clean full sync of the standard mappings of the first company."""
    result = await world.run(RunMode.FULL)
    assert result.run.counters.failed == 0, result.errors
    return world
