"""Adaptive concurrency: as many requests in flight as the service accepts, and no more.

Additive increase, multiplicative decrease (as TCP does): the limit starts at ``initial``, each
429 halves it, and each ``raise_after`` consecutive successes add one, never above ``maximum``.
So a client ramps up until the service pushes back, then settles just under what it tolerates.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from typing import Final

CONCURRENCY_CEILING: Final = 52
"""Dataverse's default per-user limit of concurrent requests (contract A8); BC's is 5 (B7)."""


class AdaptiveLimiter:
    """Bounds the requests in flight to a limit that adapts to throttling.

    Usage::

        limiter = AdaptiveLimiter(initial=5, maximum=5)  # Business Central
        async with limiter.slot():
            response = await send()
            limiter.on_success()  # or limiter.on_throttled() on a 429

    A burst of 429s answered to requests that were all in flight under one limit halves the
    limit once, not once per 429: a request only lowers the limit if it was sent after the last
    decrease (or outside any slot).

    Args:
        initial: The starting limit (clamped to ``maximum``).
        maximum: The highest limit, at most ``CONCURRENCY_CEILING``.
        raise_after: Consecutive successes that raise the limit by one.

    Raises:
        ValueError: A bound below 1.
    """

    def __init__(self, *, initial: int, maximum: int, raise_after: int = 20) -> None:
        if min(initial, maximum, raise_after) < 1:
            raise ValueError("initial, maximum and raise_after must be at least 1")
        self._maximum = min(maximum, CONCURRENCY_CEILING)
        self._limit = min(initial, self._maximum)
        self._raise_after = raise_after
        self._in_flight = 0
        self._successes = 0
        self._decreases = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        # Which decrease was the latest when the current task took its slot.
        self._slot_generation: ContextVar[int | None] = ContextVar(
            f"limiter_{id(self)}_generation", default=None
        )

    @property
    def limit(self) -> int:
        """How many requests may be in flight now."""
        return self._limit

    @property
    def maximum(self) -> int:
        """The highest the limit may rise to."""
        return self._maximum

    @property
    def in_flight(self) -> int:
        """How many slots are taken now."""
        return self._in_flight

    def slot(self) -> AbstractAsyncContextManager[None]:
        """Wait for a free slot and hold it for the ``async with`` block."""
        return self._hold_slot()

    def on_throttled(self) -> None:
        """Halve the limit (at least 1) after the service said "too many requests"."""
        self._successes = 0
        sent_under = self._slot_generation.get()
        if sent_under is not None and sent_under < self._decreases:
            return  # sent under a limit already lowered for this burst
        self._limit = max(1, self._limit // 2)
        self._decreases += 1

    def on_success(self) -> None:
        """Count a success; every ``raise_after`` in a row raise the limit by one."""
        self._successes += 1
        if self._successes < self._raise_after:
            return
        self._successes = 0
        if self._limit < self._maximum:
            self._limit += 1
            self._wake_waiters()

    def set_maximum(self, maximum: int) -> None:
        """Change the highest limit, e.g. to Dataverse's ``x-ms-dop-hint``.

        The value is clamped to ``1..CONCURRENCY_CEILING``; a lower maximum lowers the limit at
        once, a higher one lets it grow step by step.
        """
        self._maximum = max(1, min(maximum, CONCURRENCY_CEILING))
        self._limit = min(self._limit, self._maximum)

    @contextlib.asynccontextmanager
    async def _hold_slot(self) -> AsyncIterator[None]:
        await self._acquire()
        generation = self._slot_generation.set(self._decreases)
        try:
            yield
        finally:
            self._slot_generation.reset(generation)
            self._in_flight -= 1
            self._wake_waiters()

    async def _acquire(self) -> None:
        while self._in_flight >= self._limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake_waiters()  # pass on the wake-up this task cannot use
                raise
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
        self._in_flight += 1

    def _wake_waiters(self) -> None:
        free = self._limit - self._in_flight
        for waiter in self._waiters:
            if free <= 0:
                return
            if not waiter.done():
                waiter.set_result(None)
                free -= 1
