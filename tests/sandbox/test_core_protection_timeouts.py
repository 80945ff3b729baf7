"""BC limits that need time or many open requests (contract B7): 503, 408 and 100 connections."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from sandbox.protection import BusinessCentralProtection
from sandbox.server import AuthSettings, BusinessCentralLimits, SandboxSettings, build_apps

PATH = "/v2.0/t/production/api/v2.0/customers"


class ManualSleep:
    """A `sleep` whose waits end only when the test advances its time."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    async def __call__(self, seconds: float) -> None:
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, wake))
        await wake

    @property
    def waiting(self) -> int:
        return sum(not wake.done() for _deadline, wake in self._sleepers)

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        for deadline, wake in self._sleepers:
            if deadline <= self.now and not wake.done():
                wake.set_result(None)
        for _ in range(20):  # let the woken requests answer
            await asyncio.sleep(0)


class HeldApp:
    """Answers 200, but only once released; `streaming=True` starts the response first."""

    def __init__(self, *, streaming: bool = False) -> None:
        self.running = 0
        self.cancelled = 0
        self.streaming = streaming
        self._gate = asyncio.Event()

    def release(self) -> None:
        self._gate.set()

    async def __call__(self, _scope, _receive, send) -> None:
        self.running += 1
        try:
            if self.streaming:
                await send({"type": "http.response.start", "status": 200, "headers": []})
            await self._gate.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.running -= 1
        if not self.streaming:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bc.test")


async def until(condition, timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0)


async def test_bc_answers_503_when_request_waits_in_queue_past_queue_timeout():
    inner, sleep = HeldApp(), ManualSleep()
    app = BusinessCentralProtection(
        inner, max_concurrent=1, operation_timeout_seconds=10_000, sleep=sleep
    )
    async with client_for(app) as client:
        held = asyncio.create_task(client.get(PATH))
        await until(lambda: inner.running == 1)
        queued = asyncio.create_task(client.get(PATH))
        await until(lambda: sleep.waiting == 2)  # the held request's timer and the queue's
        await sleep.advance(479)
        still_waiting = not queued.done()
        await sleep.advance(1)
        timed_out = await asyncio.wait_for(queued, 2)
        inner.release()
        answered = await held

    assert still_waiting
    assert timed_out.status_code == 503
    assert timed_out.json()["error"]["code"] == "Internal_ServiceUnavailable"
    assert answered.status_code == 200


async def test_bc_answers_408_and_cancels_request_when_it_runs_past_8_minutes():
    inner, sleep = HeldApp(), ManualSleep()
    app = BusinessCentralProtection(inner, max_concurrent=1, sleep=sleep)
    async with client_for(app) as client:
        running = asyncio.create_task(client.get(PATH))
        await until(lambda: inner.running == 1 and sleep.waiting == 1)
        await sleep.advance(479)
        still_running = not running.done()
        await sleep.advance(1)
        timed_out = await asyncio.wait_for(running, 2)
        inner.release()
        next_one = await client.get(PATH)  # the slot was given back

    assert still_running
    assert timed_out.status_code == 408
    error = timed_out.json()["error"]
    assert error["code"] == "Internal_RequestTimeout"
    assert error["message"].startswith("The operation did not complete within 480 seconds")
    assert inner.cancelled == 1
    assert next_one.status_code == 200


async def test_bc_lets_response_finish_when_timeout_passes_after_it_started():
    inner, sleep = HeldApp(streaming=True), ManualSleep()
    app = BusinessCentralProtection(inner, operation_timeout_seconds=1, sleep=sleep)
    async with client_for(app) as client:
        running = asyncio.create_task(client.get(PATH))
        await until(lambda: inner.running == 1 and sleep.waiting == 1)
        await sleep.advance(5)
        inner.release()
        finished = await asyncio.wait_for(running, 2)

    assert finished.status_code == 200
    assert inner.cancelled == 0


@pytest.mark.parametrize(
    ("limits", "expected_maximum"),
    [({}, 100), ({"max_connections": 7}, 7)],
    ids=["default 100", "configured 7"],
)
async def test_bc_refuses_with_429_when_connections_limit_is_open(limits, expected_maximum):
    inner, sleep = HeldApp(), ManualSleep()
    # A queue longer than the connection limit, so that only the connection rule can refuse.
    app = BusinessCentralProtection(inner, max_queue=500, sleep=sleep, **limits)
    async with client_for(app) as client:
        open_requests = [asyncio.create_task(client.get(PATH)) for _ in range(expected_maximum)]
        # Every open request holds a timer: an operation timer or a queue timer.
        await until(lambda: sleep.waiting == expected_maximum)
        refused = await asyncio.wait_for(client.get(PATH), 2)
        inner.release()
        answered = await asyncio.gather(*open_requests)

    assert refused.status_code == 429
    assert refused.json()["error"]["message"].startswith(
        f"Too many requests reached. Actual ({expected_maximum + 1}). Maximum ({expected_maximum})."
    )
    assert {response.status_code for response in answered} == {200}


@pytest.mark.parametrize(
    ("limits", "expected_status"),
    [({"max_connections": 1}, 429), ({"operation_timeout_seconds": 0.05}, 408)],
    ids=["connections", "operation timeout"],
)
async def test_sandbox_applies_bc_limit_when_set_in_settings(limits, expected_status):
    inner = HeldApp()
    settings = SandboxSettings(
        auth=AuthSettings(enabled=False),
        business_central_limits=BusinessCentralLimits(**limits),
    )
    apps = build_apps(settings, business_central_app=inner, dataverse_app=inner)
    async with client_for(apps.business_central) as client:
        held = asyncio.create_task(client.get(PATH))
        await until(lambda: inner.running == 1)
        second = await asyncio.wait_for(client.get(PATH), 2)
        inner.release()
        first = await asyncio.wait_for(held, 2)

    assert second.status_code == expected_status
    assert first.status_code in (200, expected_status)
