from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.responses import JSONResponse

from sandbox.protection import BusinessCentralProtection, DataverseProtection, Latency


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class TinyApp:
    """Answers 200 to any request.

    `?cost=<seconds>` moves the clock as if the request ran that long; `?wait=1` holds the
    request until `release()`.
    """

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock
        self.running = 0
        self.entered: list[str] = []
        self._gate = asyncio.Event()

    def release(self) -> None:
        self._gate.set()

    async def __call__(self, scope, receive, send) -> None:
        query = scope["query_string"].decode()
        self.entered.append(scope["path"])
        self.running += 1
        if "wait=1" in query:
            await self._gate.wait()
        if query.startswith("cost=") and self.clock is not None:
            self.clock.advance(float(query.removeprefix("cost=")))
        self.running -= 1
        await JSONResponse({"ok": True})(scope, receive, send)


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")


async def until(condition, timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_dataverse_refuses_with_0x80072322_and_retry_after_when_request_limit_exceeded():
    clock = FakeClock()
    app = DataverseProtection(TinyApp(), max_requests=3, window_seconds=10, clock=clock)
    async with client_for(app) as client:
        statuses = []
        for _ in range(3):
            statuses.append((await client.get("/api/data/v9.2/accounts")).status_code)
            clock.advance(1)
        refused = await client.get("/api/data/v9.2/accounts")

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "7"  # the first request leaves the window at +10 s
    assert refused.json()["error"] == {
        "code": "0x80072322",
        "message": "Number of requests exceeded the limit of 3 over time window of 10 seconds.",
    }


async def test_dataverse_admits_requests_again_when_window_has_slid():
    clock = FakeClock()
    app = DataverseProtection(TinyApp(), max_requests=2, window_seconds=10, clock=clock)
    async with client_for(app) as client:
        for _ in range(3):
            await client.get("/api/data/v9.2/accounts")
        clock.advance(10)
        again = await client.get("/api/data/v9.2/accounts")

    assert again.status_code == 200
    assert again.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] == "1"


async def test_dataverse_refuses_with_0x80072321_only_after_execution_time_exceeded():
    clock = FakeClock()
    app = DataverseProtection(
        TinyApp(clock), max_execution_ms=1000, window_seconds=300, clock=clock
    )
    async with client_for(app) as client:
        first = await client.get("/api/data/v9.2/accounts?cost=0.6")
        overshooting = await client.get("/api/data/v9.2/accounts?cost=0.6")
        refused = await client.get("/api/data/v9.2/accounts")
        clock.advance(300)
        after_window = await client.get("/api/data/v9.2/accounts")

    assert (first.status_code, overshooting.status_code) == (200, 200)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "0x80072321"
    assert refused.json()["error"]["message"].startswith(
        "Combined execution time of incoming requests exceeded limit of 1,000 milliseconds "
        "over time window of 300 seconds."
    )
    assert int(refused.headers["Retry-After"]) >= 299
    assert after_window.status_code == 200


async def test_dataverse_refuses_with_0x80072326_at_once_when_concurrency_limit_reached():
    inner = TinyApp()
    app = DataverseProtection(inner, max_concurrent=2, clock=FakeClock())
    async with client_for(app) as client:
        held = [asyncio.create_task(client.get("/api/data/v9.2/accounts?wait=1")) for _ in range(2)]
        await until(lambda: inner.running == 2)
        refused = await client.get("/api/data/v9.2/accounts")
        inner.release()
        answered = await asyncio.gather(*held)
        after = await client.get("/api/data/v9.2/accounts")

    assert refused.status_code == 429
    assert refused.json()["error"] == {
        "code": "0x80072326",
        "message": "Number of concurrent requests exceeded the limit of 2.",
    }
    assert refused.headers["Retry-After"] == "1"
    assert [response.status_code for response in answered] == [200, 200]
    assert after.status_code == 200


async def test_dataverse_sends_dop_hint_when_answering_or_refusing():
    app = DataverseProtection(TinyApp(), max_requests=1, dop_hint=7, clock=FakeClock())
    async with client_for(app) as client:
        answered = await client.get("/api/data/v9.2/accounts")
        refused = await client.get("/api/data/v9.2/accounts")

    assert answered.headers["x-ms-dop-hint"] == "7"
    assert refused.status_code == 429
    assert refused.headers["x-ms-dop-hint"] == "7"
    assert answered.headers["x-ms-ratelimit-time-remaining-xrm-requests"] == "1,200.00"


async def test_dataverse_counts_each_user_apart_when_tokens_belong_to_different_clients():
    owners = {"token-a": "client-a", "token-b": "client-b", "token-a2": "client-a"}
    app = DataverseProtection(
        TinyApp(), max_requests=1, clock=FakeClock(), user_of_token=owners.get
    )
    async with client_for(app) as client:
        first_a = await client.get("/api/data/v9.2/accounts", headers=bearer("token-a"))
        first_b = await client.get("/api/data/v9.2/accounts", headers=bearer("token-b"))
        second_a = await client.get("/api/data/v9.2/accounts", headers=bearer("token-a2"))

    assert (first_a.status_code, first_b.status_code, second_a.status_code) == (200, 200, 429)


async def test_protection_lets_control_plane_through_when_limit_reached():
    app = DataverseProtection(TinyApp(), max_requests=1, clock=FakeClock())
    async with client_for(app) as client:
        await client.get("/api/data/v9.2/accounts")
        control = await client.get("/_sandbox/state")

    assert control.status_code == 200
    assert "x-ms-dop-hint" not in control.headers


async def test_bc_refuses_with_429_and_retry_after_when_rate_window_is_full():
    clock = FakeClock()
    app = BusinessCentralProtection(TinyApp(), max_requests=2, window_seconds=60, clock=clock)
    async with client_for(app) as client:
        for _ in range(2):
            await client.get("/v2.0/t/production/api/v2.0/companies")
        clock.advance(15)
        refused = await client.get("/v2.0/t/production/api/v2.0/companies")

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "45"
    error = refused.json()["error"]
    assert error["code"] == "Application_TooManyRequests"
    assert error["message"].startswith(
        "Too many requests reached. Actual (3). Maximum (2).  CorrelationId:  "
    )


async def test_bc_omits_retry_after_on_429_when_configured_off():
    app = BusinessCentralProtection(
        TinyApp(), max_requests=1, retry_after_on_429=False, clock=FakeClock()
    )
    async with client_for(app) as client:
        await client.get("/v2.0/t/production/api/v2.0/companies")
        refused = await client.get("/v2.0/t/production/api/v2.0/companies")

    assert refused.status_code == 429
    assert "Retry-After" not in refused.headers


async def test_bc_queues_requests_in_arrival_order_when_concurrency_limit_reached():
    inner = TinyApp()
    app = BusinessCentralProtection(inner, max_concurrent=2, max_queue=2, clock=FakeClock())
    async with client_for(app) as client:
        paths = [f"/v2.0/t/e/api/v2.0/customers{n}?wait=1" for n in range(4)]
        tasks = []
        for path in paths:
            tasks.append(asyncio.create_task(client.get(path)))
            await asyncio.sleep(0.01)  # arrival order
        await until(lambda: inner.running == 2)
        queue_full = await client.get("/v2.0/t/e/api/v2.0/customers")
        inner.release()
        answered = await asyncio.gather(*tasks)

    assert queue_full.status_code == 429
    assert queue_full.json()["error"]["message"].startswith(
        "Too many requests reached. Actual (5). Maximum (4)."
    )
    assert [response.status_code for response in answered] == [200, 200, 200, 200]
    assert inner.entered == [path.split("?")[0] for path in paths]


async def test_bc_answers_503_when_request_waits_longer_than_queue_timeout():
    inner = TinyApp()
    app = BusinessCentralProtection(
        inner, max_concurrent=1, queue_timeout_seconds=0.05, clock=FakeClock()
    )
    async with client_for(app) as client:
        held = asyncio.create_task(client.get("/v2.0/t/e/api/v2.0/customers?wait=1"))
        await until(lambda: inner.running == 1)
        timed_out = await client.get("/v2.0/t/e/api/v2.0/customers")
        inner.release()
        await held
        after = await client.get("/v2.0/t/e/api/v2.0/customers")

    assert timed_out.status_code == 503
    assert timed_out.headers["Retry-After"] == "1"
    assert timed_out.json()["error"]["code"] == "Internal_ServiceUnavailable"
    assert after.status_code == 200


@pytest.mark.parametrize(
    ("path", "sleeps"),
    [("/api/data/v9.2/accounts", [0.25]), ("/_sandbox/counters", [])],
    ids=["api request", "control plane"],
)
async def test_latency_waits_per_request_when_configured(path, sleeps):
    waited: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waited.append(seconds)

    app = Latency(TinyApp(), per_request_seconds=0.25, sleep=fake_sleep)
    async with client_for(app) as client:
        response = await client.get(path)

    assert response.status_code == 200
    assert waited == sleeps
