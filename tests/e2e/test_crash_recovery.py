"""Crash after every I/O step of a run, then rerun cleanly: no duplicate, no lost change.

The run's ports (both sides and every store) are wrapped in proxies that count I/O steps: each
call, a stream counting once. At step ``k`` the step takes effect and then the "process dies":
the proxy raises, and every later call raises too, so nothing after that instant happens (not
even the lease release). The test then lets the dead run's lease expire, reruns with the real
ports and checks the services and the store. ``k`` goes 1, 2, ... until a run completes without
reaching step ``k``.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from sync.engine.run_parts import Stores
from sync.engine.runner import Runner
from sync.models import RunMode, Side
from sync.settings import RunLimits
from tests.e2e.conftest import SandboxWorld, synced_value

pytestmark = pytest.mark.azurite

MAPPING = "CUSTOMER"
MAX_STEPS = 120
"""A CUSTOMER run over this small data set takes a few dozen steps; more means a loop."""


class SimulatedCrashError(RuntimeError):
    """The process running the sync died at this instant."""


@dataclass
class CrashPlan:
    """Counts I/O steps across every proxy and kills the "process" after step ``at``."""

    at: int
    steps: int = 0
    crashed_after: str | None = None

    def check_alive(self) -> None:
        if self.crashed_after is not None:
            raise SimulatedCrashError(f"the process died after {self.crashed_after}")

    def done(self, step: str) -> None:
        self.steps += 1
        if self.steps == self.at:
            self.crashed_after = f"step {self.at} ({step})"
            raise SimulatedCrashError(f"the process died after {self.crashed_after}")


class Crashing:
    """A port or gateway whose every call is one step of ``plan``."""

    def __init__(self, inner: object, plan: CrashPlan, label: str) -> None:
        self._inner, self._plan, self._label = inner, plan, label

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute):
            return attribute
        step = f"{self._label}.{name}"

        def call(*args: Any, **kwargs: Any) -> Any:
            self._plan.check_alive()
            result = attribute(*args, **kwargs)
            if inspect.isawaitable(result):
                return self._awaited(step, result)
            if hasattr(result, "__aiter__"):
                return self._streamed(step, result)
            self._plan.done(step)
            return result

        return call

    async def _awaited(self, step: str, awaitable: Any) -> Any:
        value = await awaitable
        self._plan.done(step)
        return value

    async def _streamed(self, step: str, stream: Any) -> AsyncIterator[Any]:
        # A stream is one step, taken when its first item (or its end) arrives: a read has no
        # effect, so a crash later in it is the same as a crash before the next step.
        iterator = aiter(stream)
        first = True
        try:
            while True:
                self._plan.check_alive()
                try:
                    item = await anext(iterator)
                except StopAsyncIteration:
                    if first:
                        self._plan.done(step)
                    return
                if first:
                    first = False
                    self._plan.done(step)
                yield item
        finally:
            close = getattr(iterator, "aclose", None)
            if close is not None:
                await close()


def crashing_runner(world: SandboxWorld, plan: CrashPlan) -> Runner:
    parts = world.runner().parts
    stores = parts.stores
    return Runner(
        scope=parts.scope,
        bc=Crashing(parts.sides[Side.BC], plan, "bc"),
        dataverse=Crashing(parts.sides[Side.DATAVERSE], plan, "dataverse"),
        stores=Stores(
            mappings=Crashing(stores.mappings, plan, "mappings"),
            couplings=Crashing(stores.couplings, plan, "couplings"),
            watermarks=Crashing(stores.watermarks, plan, "watermarks"),
            leases=Crashing(stores.leases, plan, "leases"),
            runs=Crashing(stores.runs, plan, "runs"),
        ),
        clock=parts.clock,
        options=parts.options,
    )


@pytest.fixture
def run_limits() -> RunLimits:
    # No overlap window: a watermark past an unsynced change then really loses it, so the
    # watermark check below cannot be satisfied by the overlap alone.
    return RunLimits(overlap_seconds=0)


@dataclass
class Edit:
    """One user edit whose value must reach the other side."""

    side: Side
    bc_id: str
    field: str
    value: str
    made_at: datetime


@dataclass
class Scenario:
    """What users did before the crashed runs, and what must exist exactly once afterwards."""

    edits: list[Edit] = field(default_factory=list)
    created_names: list[str] = field(default_factory=list)


Play = Callable[[SandboxWorld, int, list[Any], Scenario], Awaitable[None]]


async def edit_both_sides(
    world: SandboxWorld, k: int, pairs: list[Any], scenario: Scenario
) -> None:
    """Edits on both sides (one pair edited on both) and a new customer in BC."""
    company = world.company
    bc_edits = ((pairs[0], "city", f"Crashville {k}"), (pairs[2], "email", f"crash{k}@bc.example"))
    for pair, name, value in bc_edits:
        record = world.bc.edit(company, "customers", pair.bc_id, {name: value})
        at = datetime.fromisoformat(record["lastModifiedDateTime"])
        scenario.edits.append(Edit(Side.BC, pair.bc_id, name, value, at))
    dataverse_edits = (
        (pairs[1], "telephone1", "phoneNumber", f"+45 7100 {k:04d}"),
        (pairs[2], "websiteurl", "website", f"www.crash{k}.example"),
    )
    for pair, column, bc_field, value in dataverse_edits:
        world.dataverse.edit("accounts", pair.dataverse_id, {column: value})
        scenario.edits.append(Edit(Side.DATAVERSE, pair.bc_id, bc_field, value, world.clock.now()))
    name = f"Crash Test Customer {k}"
    world.bc.insert(company, "customers", {"displayName": name})
    scenario.created_names.append(name)


async def create_in_dataverse(
    world: SandboxWorld, k: int, pairs: list[Any], scenario: Scenario
) -> None:
    """A new customer account in Dataverse, which the run creates in BC."""
    name = f"Crash Test Account {k}"
    # In a currency BC knows (a new row would get the base currency, which BC cannot map).
    currency = (await world.couplings("CURRENCY"))[0].dataverse_id
    world.dataverse.create(
        "accounts",
        {
            "name": name,
            "customertypecode": 3,
            "transactioncurrencyid@odata.bind": f"/transactioncurrencies({currency})",
        },
    )
    scenario.created_names.append(name)


_DATAVERSE_COLUMN = {
    "city": "address1_city",
    "email": "emailaddress1",
    "phoneNumber": "telephone1",
    "website": "websiteurl",
}


def assert_no_duplicates(world: SandboxWorld, scenario: Scenario) -> None:
    customers = [c["displayName"] for c in world.bc.all(world.company, "customers")]
    accounts = [a["name"] for a in world.dataverse.all("accounts")]
    for name in scenario.created_names:
        assert customers.count(name) == 1, f"BC holds {name!r} {customers.count(name)} times"
        assert accounts.count(name) == 1, f"Dataverse holds {name!r} {accounts.count(name)} times"


async def assert_no_lost_change(world: SandboxWorld, scenario: Scenario) -> None:
    latest = {(edit.bc_id, edit.field): edit for edit in scenario.edits}
    for edit in latest.values():
        pair = await world.coupling_of_bc(MAPPING, edit.bc_id)
        assert pair is not None, f"the coupling of {edit.bc_id} was lost"
        customer, account = world.customer(edit.bc_id), world.account(pair.dataverse_id)
        assert customer[edit.field] == edit.value, (edit, customer[edit.field])
        assert synced_value(account[_DATAVERSE_COLUMN[edit.field]]) == synced_value(edit.value)
    assert await world.unequal_fields(MAPPING) == {}


async def assert_watermark_before_unsynced_changes(world: SandboxWorld, edits: list[Edit]) -> None:
    """Right after a crash: no BC watermark may have passed a change not yet on the other side."""
    watermark = await world.watermark(MAPPING, Side.BC)
    if watermark is None or watermark.modified_at is None:
        return
    for edit in edits:
        if edit.side is not Side.BC:
            continue
        pair = await world.coupling_of_bc(MAPPING, edit.bc_id)
        account = world.account(pair.dataverse_id) if pair else None
        arrived = account is not None and synced_value(
            account[_DATAVERSE_COLUMN[edit.field]]
        ) == synced_value(edit.value)
        if not arrived:
            assert watermark.modified_at <= edit.made_at, (watermark, edit)


async def crash_at_every_step(world: SandboxWorld, play: Play) -> int:
    """Play users, crash at step k, rerun, check; k = 1, 2, ... until a run completes."""
    await world.configure(MAPPING, sync_only_coupled=False)
    result = await world.run(RunMode.FULL)
    assert result.run.counters.failed == 0, result.errors
    pairs = sorted(await world.couplings(MAPPING), key=lambda c: c.bc_id)[:3]
    scenario = Scenario()
    lease = timedelta(seconds=world.engine.limits.lease_seconds)
    for k in range(1, MAX_STEPS + 1):
        world.clock.advance(timedelta(seconds=1))
        edits_before = len(scenario.edits)
        await play(world, k, pairs, scenario)
        world.clock.advance(timedelta(seconds=1))
        plan = CrashPlan(at=k)
        try:
            await crashing_runner(world, plan).run(RunMode.MODIFIED, mappings=[MAPPING])
        except SimulatedCrashError:
            await assert_watermark_before_unsynced_changes(world, scenario.edits[edits_before:])
        # Whatever the dead run held expires before the next scheduled run takes over.
        world.clock.advance(lease + timedelta(seconds=1))
        rerun = await world.run(RunMode.MODIFIED, mappings=[MAPPING])
        assert rerun.run.counters.failed == 0, (k, plan.crashed_after, rerun.errors)
        assert_no_duplicates(world, scenario)
        await assert_no_lost_change(world, scenario)
        if plan.crashed_after is None:
            return k
    pytest.fail(f"a {MAPPING} run still had steps left after {MAX_STEPS}")


async def test_no_duplicate_or_lost_change_when_a_run_dies_after_any_step(world):
    steps = await crash_at_every_step(world, edit_both_sides)
    assert steps > 10, "the crash points did not cover a whole run"


async def test_no_duplicate_bc_record_when_a_run_creating_in_bc_dies_after_any_step(world):
    steps = await crash_at_every_step(world, create_in_dataverse)
    assert steps > 10, "the crash points did not cover a whole run"
