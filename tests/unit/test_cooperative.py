from __future__ import annotations

import asyncio

from sync.cooperative import in_slices


async def test_slices_cover_every_item_in_order():
    slices = [list(chunk) async for chunk in in_slices(list(range(7)), size=3)]

    assert slices == [[0, 1, 2], [3, 4, 5], [6]]


async def test_nothing_is_yielded_for_no_items():
    assert [chunk async for chunk in in_slices([], size=3)] == []


async def test_other_tasks_run_between_slices():
    events: list[str] = []

    async def other() -> None:
        events.append("other task")

    task = asyncio.ensure_future(other())
    async for chunk in in_slices([1, 2], size=1):
        events.append(f"slice {chunk[0]}")
    await task

    assert events == ["slice 1", "other task", "slice 2"]
