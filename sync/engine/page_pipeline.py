"""Apply pages in the background so a side's writes never wait for the next page's read.

Reading and planning page N+1 takes a round trip or two; writing page N takes several bulk
requests spread over the limiter's slots. Run one after the other, the slots idle at every page
boundary (a page of 5,000 is five bulk messages on four slots: a round of four, then one alone).
The pipeline lets a bounded number of pages write at once and hands their results back strictly
in page order, because the watermark may only move past pages whose outcomes are recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from typing import Any

from sync.engine.recording import Recorded
from sync.models import ChangePage, Record

log = logging.getLogger("sync")

PageDone = Callable[[ChangePage, Recorded], None]
"""Told about each applied page, in the order the pages were read."""


class PagePipeline:
    """At most ``depth`` pages applying at once; results reported in page order.

    Args:
        depth: Pages whose writes may be in flight together (1 = one after another).
        on_done: Called with each page and what applying it recorded, in page order.
    """

    def __init__(self, *, depth: int, on_done: PageDone) -> None:
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self._depth = depth
        self._on_done = on_done
        self._in_flight: deque[tuple[ChangePage, frozenset[str], asyncio.Task[Recorded]]] = deque()

    def holds_any(self, records: Iterable[Record]) -> bool:
        """Whether a record is in a page still applying (plan it only after that page is done).

        A record read twice (changed again while the run pages through its side) must see the
        coupling the first write created, or it would be created a second time.
        """
        ids = {record.id.lower() for record in records}
        return any(not ids.isdisjoint(held) for _, held, _ in self._in_flight)

    async def start(self, page: ChangePage, work: Coroutine[Any, Any, Recorded]) -> None:
        """Start applying ``page`` once fewer than ``depth`` pages are in flight.

        Raises:
            Exception: Whatever an earlier page's work raised (reported before this one starts).
        """
        try:
            while len(self._in_flight) >= self._depth:
                await self._finish_oldest()
        except BaseException:
            work.close()  # never started: nothing of this page was written
            raise
        held = frozenset(record.id.lower() for record in page.records)
        self._in_flight.append((page, held, asyncio.ensure_future(work)))

    async def drain(self) -> None:
        """Wait for every page in flight and report each, in order.

        Raises:
            Exception: The first failure of a page (call ``close`` afterwards for the rest).
        """
        while self._in_flight:
            await self._finish_oldest()

    async def _finish_oldest(self) -> None:
        page, _, task = self._in_flight[0]
        try:
            recorded = await task
        finally:
            self._in_flight.popleft()
        self._on_done(page, recorded)

    async def close(self) -> None:
        """Wait for the pages still in flight without raising; report those that succeeded.

        After a failure the remaining pages' writes are already on their way and save their own
        couplings, so they are awaited, never abandoned, and their counters are kept.
        """
        while self._in_flight:
            page, _, task = self._in_flight.popleft()
            outcome = await _quietly(task)
            if isinstance(outcome, Recorded):
                self._on_done(page, outcome)


async def _quietly(task: Awaitable[Recorded]) -> Recorded | BaseException:
    try:
        return await task
    except Exception as exc:  # noqa: BLE001 - the first failure is the one raised
        log.warning("page failed after an earlier page's failure error=%s", exc)
        return exc


_END: Any = object()


async def read_ahead(pages: AsyncIterator[ChangePage]) -> AsyncGenerator[ChangePage, None]:
    """Yield ``pages``, reading the next one while the caller plans and applies this one.

    A side with nothing to write (the second side of a full sync, where almost every row is
    this run's own echo) is paced by read + plan per page; reading one page ahead hides the
    read. Only one read is ever pending, so at most one extra page is held. Use it with
    ``contextlib.aclosing`` so a caller that stops early also stops the pending read.
    """
    pending: asyncio.Future[ChangePage] = asyncio.ensure_future(anext(pages, _END))
    try:
        while (page := await pending) is not _END:
            pending = asyncio.ensure_future(anext(pages, _END))
            yield page
    finally:
        if not pending.done():
            pending.cancel()
        await asyncio.gather(pending, return_exceptions=True)
        close = getattr(pages, "aclose", None)
        if close is not None:
            await close()
