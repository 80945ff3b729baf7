from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import aclosing

import pytest

from sync.engine.page_pipeline import PagePipeline, read_ahead
from sync.engine.recording import Recorded
from sync.models import ChangePage, Record


def page(*ids: str) -> ChangePage:
    return ChangePage(records=tuple(Record(id=record_id) for record_id in ids))


class Gate:
    """Work that finishes when the test says so, and notes how many ran at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most_at_once = 0
        self.events: dict[str, asyncio.Event] = {}

    async def work(self, name: str, *, fail: bool = False) -> Recorded:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        await self.events.setdefault(name, asyncio.Event()).wait()
        self.running -= 1
        if fail:
            raise RuntimeError(f"{name} failed")
        return Recorded(tally=Counter(modified=int(name[1:])))

    def release(self, name: str) -> None:
        self.events.setdefault(name, asyncio.Event()).set()


def note_into(reported: list[int]):
    def note(_page: ChangePage, recorded: Recorded) -> None:
        reported.append(recorded.counters.modified)

    return note


def ignore(_page: ChangePage, _recorded: Recorded) -> None:
    return None


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_pages_report_in_read_order_when_later_pages_finish_first():
    gate, reported = Gate(), []
    pipeline = PagePipeline(depth=2, on_done=note_into(reported))
    await pipeline.start(page("a"), gate.work("p1"))
    await pipeline.start(page("b"), gate.work("p2"))
    gate.release("p2")
    await settle()
    assert reported == []
    gate.release("p1")
    await pipeline.drain()

    assert reported == [1, 2]


async def test_no_more_than_depth_pages_write_at_once():
    gate, reported = Gate(), []
    pipeline = PagePipeline(depth=2, on_done=note_into(reported))
    await pipeline.start(page("a"), gate.work("p1"))
    await pipeline.start(page("b"), gate.work("p2"))
    third = asyncio.create_task(pipeline.start(page("c"), gate.work("p3")))
    await settle()
    assert not third.done()  # waits for the oldest page, not just any
    gate.release("p2")
    await settle()
    assert not third.done()
    gate.release("p1")
    gate.release("p3")
    await third
    await pipeline.drain()

    assert gate.most_at_once == 2
    assert reported == [1, 2, 3]


async def test_depth_one_applies_pages_one_after_another():
    gate = Gate()
    pipeline = PagePipeline(depth=1, on_done=ignore)
    for name in ("p1", "p2", "p3"):
        gate.release(name)
        await pipeline.start(page(name), gate.work(name))
    await pipeline.drain()

    assert gate.most_at_once == 1


async def test_first_failure_is_raised_and_pages_after_it_still_finish_and_report():
    gate, reported = Gate(), []
    pipeline = PagePipeline(depth=2, on_done=note_into(reported))
    await pipeline.start(page("a"), gate.work("p1", fail=True))
    await pipeline.start(page("b"), gate.work("p2"))
    gate.release("p1")
    gate.release("p2")

    with pytest.raises(RuntimeError, match="p1 failed"):
        await pipeline.drain()
    await pipeline.close()

    assert reported == [2]
    assert gate.running == 0


async def test_page_waiting_for_a_slot_is_never_started_when_an_earlier_page_fails():
    gate = Gate()
    pipeline = PagePipeline(depth=1, on_done=ignore)
    await pipeline.start(page("a"), gate.work("p1", fail=True))
    gate.release("p1")
    never = gate.work("p2")

    with pytest.raises(RuntimeError, match="p1 failed"):
        await pipeline.start(page("b"), never)

    assert never.cr_frame is None  # closed, so no "never awaited" warning and no write
    assert gate.most_at_once == 1


async def test_holds_any_when_a_record_of_a_page_in_flight_is_read_again():
    gate = Gate()
    pipeline = PagePipeline(depth=2, on_done=ignore)
    await pipeline.start(page("A1", "A2"), gate.work("p1"))

    assert pipeline.holds_any([Record(id="a2")])
    assert not pipeline.holds_any([Record(id="a3")])
    gate.release("p1")
    await pipeline.drain()
    assert not pipeline.holds_any([Record(id="a2")])


def test_depth_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        PagePipeline(depth=0, on_done=ignore)


class Source:
    """Pages read one at a time, noting which reads started and whether it was closed."""

    def __init__(self, count: int, *, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.started: list[int] = []
        self.closed = False

    async def pages(self):
        try:
            for number in range(self.count):
                self.started.append(number)
                await asyncio.sleep(0)
                if number == self.fail_at:
                    raise RuntimeError(f"read {number} failed")
                yield page(f"r{number}")
        finally:
            self.closed = True


async def test_next_page_is_read_while_the_current_one_is_worked_on():
    source = Source(3)
    seen: list[tuple[str, list[int]]] = []
    async with aclosing(read_ahead(source.pages())) as pages:
        async for current in pages:
            await settle()  # the caller planning and applying
            seen.append((current.records[0].id, list(source.started)))

    assert seen == [("r0", [0, 1]), ("r1", [0, 1, 2]), ("r2", [0, 1, 2])]
    assert source.closed


async def test_stopping_early_reads_at_most_one_page_more_and_closes_the_source():
    source = Source(10)
    async with aclosing(read_ahead(source.pages())) as pages:
        async for current in pages:
            await settle()
            if current.records[0].id == "r1":
                break

    assert source.started == [0, 1, 2]
    assert source.closed


async def test_a_failed_read_is_raised_after_the_pages_before_it():
    source = Source(5, fail_at=2)
    read: list[str] = []

    async def consume() -> None:
        async with aclosing(read_ahead(source.pages())) as pages:
            async for current in pages:
                read.append(current.records[0].id)

    with pytest.raises(RuntimeError, match="read 2 failed"):
        await consume()

    assert read == ["r0", "r1"]
    assert source.closed
