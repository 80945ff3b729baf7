from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from sync.engine.coupling_index import CouplingIndex
from sync.engine.operation import Operation, OperationKind
from sync.engine.page import PageApplier
from sync.engine.planner import PlanContext
from sync.engine.recording import RecordingContext
from sync.errors import PermanentConnectorError
from sync.models import Side, WriteKind, WriteRequest
from tests.fakes.sides import InMemorySide, SteppingClock
from tests.fakes.store import InMemoryStateStore
from tests.fakes.world import CUSTOMER, SCOPE

START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class Journal:
    """What the store and BC saw, in order: intents saved, writes sent."""

    def __init__(self) -> None:
        self.events: list[str] = []


class JournaledSide(InMemorySide):
    def __init__(self, journal: Journal, clock: SteppingClock, *, fail_call: int | None = None):
        super().__init__(Side.BC, clock)
        self.journal, self.fail_call = journal, fail_call

    async def write(self, mapping, requests):
        self.journal.events.append(f"write {len(requests)}")
        if self.write_calls == self.fail_call:
            self.write_calls += 1
            raise PermanentConnectorError("BC refused the whole batch", service="bc")
        return await super().write(mapping, requests)


def bc_create(number: int) -> Operation:
    dataverse_id = f"00000000-0000-0000-0000-{number:012d}"
    return Operation(
        kind=OperationKind.CREATE,
        mapping=CUSTOMER.name,
        source=Side.DATAVERSE,
        dataverse_id=dataverse_id,
        bc_write=WriteRequest(kind=WriteKind.CREATE, values={"displayName": f"Customer {number}"}),
    )


def applier(journal: Journal, side: InMemorySide, store: InMemoryStateStore) -> PageApplier:
    saved = store.couplings.put_couplings

    async def put_couplings(couplings):
        journal.events.append(f"intents {len(couplings)}")
        await asyncio.sleep(0)  # a real store answers later: chunks already sent go meanwhile
        await saved(couplings)

    store.couplings.put_couplings = put_couplings
    clock = SteppingClock(START)
    return PageApplier(
        context=PlanContext(scope=SCOPE.key, mapping=CUSTOMER, lookups={}, create_missing=True),
        sides={Side.BC: side, Side.DATAVERSE: InMemorySide(Side.DATAVERSE, clock)},
        couplings=store.couplings,
        runs=store.runs,
        index=CouplingIndex(scope=SCOPE.key, mapping=CUSTOMER.name),
        recording=RecordingContext(
            scope=SCOPE.key, run_id="run-1", now=START, failures_before_skip=2
        ),
        max_deletions=0,
        write_chunk=2,
    )


async def test_each_chunk_is_sent_once_its_own_intents_are_saved():
    journal, store = Journal(), InMemoryStateStore()
    side = JournaledSide(journal, SteppingClock(START))

    recorded = await applier(journal, side, store).apply([bc_create(n) for n in range(5)])

    assert journal.events[:6] == [
        "intents 2",
        "intents 2",
        "write 2",
        "intents 1",
        "write 2",
        "write 1",
    ]
    assert recorded.counters.inserted == 5
    assert len(side.tables["customers"]) == 5


async def test_a_chunk_that_fails_is_raised_after_the_other_chunks_were_sent():
    journal, store = Journal(), InMemoryStateStore()
    side = JournaledSide(journal, SteppingClock(START), fail_call=0)

    with pytest.raises(PermanentConnectorError, match="whole batch"):
        await applier(journal, side, store).apply([bc_create(n) for n in range(5)])

    assert [event for event in journal.events if event.startswith("write")] == [
        "write 2",
        "write 2",
        "write 1",
    ]
    assert len(side.tables["customers"]) == 3  # the chunks after the failed one were written
    intents = [
        c async for c in store.couplings.load_couplings(SCOPE.key, "CUSTOMER/create-intents")
    ]
    assert len(intents) == 5  # nothing settled: the next run recovers by match key
