from __future__ import annotations

import asyncio

import pytest

from sync.connectors.limiter import CONCURRENCY_CEILING, AdaptiveLimiter


def test_limit_starts_at_initial_when_created():
    assert AdaptiveLimiter(initial=8, maximum=52).limit == 8


def test_initial_clamped_to_maximum_when_above_it():
    assert AdaptiveLimiter(initial=10, maximum=5).limit == 5


@pytest.mark.parametrize(
    "bounds",
    [
        {"initial": 0, "maximum": 5},
        {"initial": 1, "maximum": 0},
        {"initial": 1, "maximum": 5, "raise_after": 0},
    ],
    ids=["no initial", "no maximum", "no raise step"],
)
def test_limiter_refused_when_a_bound_is_below_one(bounds):
    with pytest.raises(ValueError, match="at least 1"):
        AdaptiveLimiter(**bounds)


def test_limit_halves_down_to_one_when_throttled_repeatedly():
    limiter = AdaptiveLimiter(initial=8, maximum=8)
    seen = []
    for _ in range(5):
        limiter.on_throttled()
        seen.append(limiter.limit)

    assert seen == [4, 2, 1, 1, 1]


def test_limit_rises_by_one_when_successes_reach_raise_after():
    limiter = AdaptiveLimiter(initial=2, maximum=4, raise_after=3)
    seen = []
    for _ in range(9):
        limiter.on_success()
        seen.append(limiter.limit)

    assert seen == [2, 2, 3, 3, 3, 4, 4, 4, 4]


def test_success_streak_restarts_when_throttled_in_between():
    limiter = AdaptiveLimiter(initial=4, maximum=8, raise_after=3)
    limiter.on_success()
    limiter.on_success()
    limiter.on_throttled()
    limiter.on_success()
    limiter.on_success()

    assert limiter.limit == 2


@pytest.mark.parametrize(
    ("hint", "maximum", "limit"),
    [(4, 4, 4), (16, 16, 8), (500, CONCURRENCY_CEILING, 8), (0, 1, 1)],
    ids=["lower hint", "higher hint", "above the ceiling", "zero"],
)
def test_maximum_follows_hint_within_ceiling_when_set(hint, maximum, limit):
    limiter = AdaptiveLimiter(initial=8, maximum=8)
    limiter.set_maximum(hint)

    assert (limiter.maximum, limiter.limit) == (maximum, limit)


async def test_in_flight_never_exceeds_limit_when_many_tasks_compete():
    limiter = AdaptiveLimiter(initial=3, maximum=3)
    peak = 0

    async def work() -> None:
        nonlocal peak
        async with limiter.slot():
            peak = max(peak, limiter.in_flight)
            await asyncio.sleep(0)

    await asyncio.gather(*(work() for _ in range(20)))

    assert peak == 3
    assert limiter.in_flight == 0


async def test_burst_halves_limit_once_when_requests_in_flight_together_are_throttled():
    limiter = AdaptiveLimiter(initial=8, maximum=8)
    gate = asyncio.Event()

    async def throttled_request() -> None:
        async with limiter.slot():
            await gate.wait()
            limiter.on_throttled()

    tasks = [asyncio.create_task(throttled_request()) for _ in range(8)]
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(*tasks)

    assert limiter.limit == 4


async def test_later_request_halves_again_when_throttled_after_decrease():
    limiter = AdaptiveLimiter(initial=8, maximum=8)
    async with limiter.slot():
        limiter.on_throttled()
    async with limiter.slot():
        limiter.on_throttled()

    assert limiter.limit == 2


async def test_waiting_task_proceeds_when_limit_rises():
    limiter = AdaptiveLimiter(initial=1, maximum=2, raise_after=1)
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with limiter.slot():
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await holding.wait()
    waiter = asyncio.create_task(limiter.slot().__aenter__())
    await asyncio.sleep(0)
    assert not waiter.done()

    limiter.on_success()
    await asyncio.wait_for(waiter, timeout=1)

    assert limiter.in_flight == 2
    release.set()
    await holder


async def test_wake_up_passed_on_when_woken_waiter_is_cancelled():
    limiter = AdaptiveLimiter(initial=1, maximum=1)
    order: list[str] = []

    async def take(name: str) -> None:
        async with limiter.slot():
            order.append(name)

    async with limiter.slot():
        first = asyncio.create_task(take("first"))
        second = asyncio.create_task(take("second"))
        await asyncio.sleep(0)
    first.cancel()  # woken by the release above, cancelled before it could run
    await asyncio.gather(first, second, return_exceptions=True)

    assert order == ["second"]
    assert limiter.in_flight == 0
