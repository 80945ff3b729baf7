from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.responses import JSONResponse

from sandbox.faults import ConnectionDropped, FaultInjection


async def ok_app(scope, receive, send) -> None:
    await JSONResponse({"ok": True})(scope, receive, send)


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")


async def outcomes(app, requests: int = 60, path: str = "/api/data/v9.2/accounts") -> list[str]:
    seen = []
    async with client_for(app) as client:
        for _ in range(requests):
            try:
                seen.append(str((await client.get(path)).status_code))
            except httpx.TransportError:
                seen.append("dropped")
    return seen


async def no_sleep(_seconds: float) -> None:
    return None


def faulty(seed: int, **overrides) -> FaultInjection:
    rates = {"error_rate": 0.2, "timeout_rate": 0.2, "drop_rate": 0.2} | overrides
    return FaultInjection(ok_app, seed=seed, sleep=no_sleep, **rates)


async def test_faults_repeat_exactly_when_seed_is_the_same():
    first, second = await outcomes(faulty(7)), await outcomes(faulty(7))

    assert first == second
    assert {"200", "502", "503", "504", "dropped"} <= set(first)


async def test_faults_differ_when_seed_differs():
    assert await outcomes(faulty(7)) != await outcomes(faulty(8))


async def test_dropped_connection_reaches_client_as_transport_error_when_in_process():
    async with client_for(faulty(1, error_rate=0, timeout_rate=0, drop_rate=1)) as client:
        with pytest.raises(httpx.RemoteProtocolError) as raised:
            await client.get("/api/data/v9.2/accounts")

    assert isinstance(raised.value, ConnectionDropped)
    assert isinstance(raised.value, httpx.TransportError)


@pytest.mark.parametrize(
    ("service", "codes"),
    [
        ("business_central", {"Internal_ServiceUnavailable", "Internal_BadGateway"}),
        ("dataverse", {""}),
    ],
    ids=["business central", "dataverse"],
)
async def test_error_fault_answers_503_or_502_in_service_shape_when_drawn(service, codes):
    app = FaultInjection(ok_app, error_rate=1, seed=3, service=service)
    async with client_for(app) as client:
        responses = [await client.get("/any/path") for _ in range(20)]

    assert {response.status_code for response in responses} == {502, 503}
    assert {response.json()["error"]["code"] for response in responses} <= codes
    assert all(response.headers["Retry-After"] == "1" for response in responses)


async def test_timeout_fault_answers_504_after_waiting_when_mode_is_gateway_timeout():
    waited: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waited.append(seconds)

    app = FaultInjection(
        ok_app,
        timeout_rate=1,
        seed=1,
        timeout_seconds=12.5,
        sleep=fake_sleep,
        service="business_central",
    )
    async with client_for(app) as client:
        response = await client.get("/v2.0/t/e/api/v2.0/companies")

    assert response.status_code == 504
    assert response.json()["error"]["code"] == "Internal_GatewayTimeout"
    assert waited == [12.5]


async def test_timeout_fault_never_answers_when_mode_is_hang():
    app = FaultInjection(ok_app, timeout_rate=1, seed=1, timeout_mode="hang")
    async with client_for(app) as client:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.get("/api/data/v9.2/accounts"), timeout=0.05)


async def test_faults_spare_control_plane_when_rate_is_one():
    app = faulty(1, error_rate=1, timeout_rate=0, drop_rate=0)

    assert await outcomes(app, requests=5, path="/_sandbox/counters") == ["200"] * 5


async def test_faults_only_hit_matching_paths_when_patterns_given():
    app = FaultInjection(ok_app, error_rate=1, seed=1, paths=["*/$batch"])

    assert await outcomes(app, requests=3, path="/api/data/v9.2/accounts") == ["200"] * 3
    assert set(await outcomes(app, requests=3, path="/api/data/v9.2/$batch")) <= {"502", "503"}


@pytest.mark.parametrize(
    "rates",
    [{"error_rate": 0.6, "drop_rate": 0.6}, {"timeout_rate": -0.1}, {"error_rate": 1.5}],
    ids=["sum over one", "negative", "over one"],
)
def test_fault_rates_rejected_when_outside_zero_to_one(rates):
    with pytest.raises(ValueError, match="fault rates"):
        FaultInjection(ok_app, seed=1, **rates)
