from __future__ import annotations

import asyncio
import socket

import httpx
import pydantic
import pytest
from starlette.responses import JSONResponse

from sandbox.faults import FaultInjection
from sandbox.server import (
    BUSINESS_CENTRAL_SCOPE,
    DEFAULT_CLIENT_ID,
    AuthSettings,
    DataverseLimits,
    FaultSettings,
    LoopbackServers,
    SandboxSettings,
    ServedApp,
    _bind_all,
    build_apps,
)

DV_BASE = "http://dataverse.sandbox"
BC_PATH = "/v2.0/tenant/production/api/v2.0/companies"
DV_PATH = "/api/data/v9.2/accounts"


async def raw_app(scope, receive, send) -> None:
    await JSONResponse({"value": []})(scope, receive, send)


class FakeClock:
    now = 50.0

    def __call__(self) -> float:
        return self.now


def client_for(app, base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


def build(settings: SandboxSettings, **overrides):
    async def no_sleep(_seconds: float) -> None:
        return None

    return build_apps(
        settings,
        clock=FakeClock(),
        sleep=no_sleep,
        business_central_app=raw_app,
        dataverse_app=raw_app,
        **overrides,
    )


async def test_dataverse_is_counted_throttled_and_authenticated_when_all_layers_enabled():
    apps = build(SandboxSettings(dataverse_limits=DataverseLimits(max_requests=2, dop_hint=9)))
    token = apps.token_issuer.issue(DEFAULT_CLIENT_ID, f"{DV_BASE}/.default")
    headers = {"Authorization": f"Bearer {token}"}
    async with client_for(apps.dataverse, DV_BASE) as client:
        unauthenticated = await client.get(DV_PATH)
        answered = [await client.get(DV_PATH, headers=headers) for _ in range(2)]
        throttled = await client.get(DV_PATH, headers=headers)

    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["x-ms-dop-hint"] == "9"  # protection wraps auth
    assert [response.status_code for response in answered] == [200, 200]
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "0x80072322"
    snapshot = apps.dataverse.snapshot()
    assert (snapshot.count(status=401), snapshot.count(status=200), snapshot.count(status=429)) == (
        1,
        2,
        1,
    )


async def test_business_central_accepts_token_from_token_endpoint_when_scope_is_bc():
    apps = build(SandboxSettings())
    async with client_for(apps.token, "https://login.sandbox") as client:
        issued = await client.post(
            f"/{apps.settings.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": "sandbox-secret",
                "scope": BUSINESS_CENTRAL_SCOPE,
            },
        )
    headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    async with client_for(apps.business_central, "http://bc.sandbox") as client:
        response = await client.get(BC_PATH, headers=headers)
        refused = await client.get(BC_PATH, headers={"Authorization": "Bearer nope"})

    assert response.status_code == 200
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "Authentication_InvalidCredentials"
    assert apps.token.snapshot().count(kind="token", status=200) == 1


async def test_faults_and_latency_apply_to_api_but_not_control_plane_when_enabled():
    waited: list[float] = []

    async def recording_sleep(seconds: float) -> None:
        waited.append(seconds)

    settings = SandboxSettings(
        latency_ms=20, auth=AuthSettings(enabled=False), faults=FaultSettings(error_rate=1)
    )
    apps = build_apps(
        settings, sleep=recording_sleep, business_central_app=raw_app, dataverse_app=raw_app
    )
    async with client_for(apps.business_central, "http://bc.sandbox") as client:
        failed = await client.get(BC_PATH)
        counters = await client.get("/_sandbox/counters")

    assert failed.status_code in (502, 503)
    assert counters.status_code == 200
    assert waited == []  # the fault answered before the latency layer was reached


async def test_layers_are_left_out_when_disabled():
    settings = SandboxSettings(protection=False, auth=AuthSettings(enabled=False))
    apps = build(settings)
    async with client_for(apps.dataverse, DV_BASE) as client:
        response = await client.get(DV_PATH)

    assert response.status_code == 200
    assert "x-ms-dop-hint" not in response.headers


@pytest.mark.parametrize(
    "settings",
    [
        {"faults": {"error_rate": 0.7, "drop_rate": 0.7}},
        {"bc_stale_etag_status": 400},
        {"records": -1},
        {"unknown": 1},
    ],
    ids=["fault rates over one", "unsupported etag status", "negative records", "unknown key"],
)
def test_settings_refused_when_values_are_invalid(settings):
    with pytest.raises(pydantic.ValidationError):
        SandboxSettings.model_validate(settings)


async def test_loopback_servers_answer_on_free_ports_then_stop_when_port_zero():
    servers = LoopbackServers({"one": ServedApp(raw_app), "two": ServedApp(raw_app)})
    async with servers, httpx.AsyncClient() as client:
        ports = servers.ports
        responses = [
            await client.get(f"http://127.0.0.1:{port}{DV_PATH}") for port in ports.values()
        ]

    assert len(set(ports.values())) == 2
    assert all(port > 0 for port in ports.values())
    assert [response.status_code for response in responses] == [200, 200]
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{ports['one']}{DV_PATH}")


async def test_dropped_connection_closes_socket_without_response_when_served_by_uvicorn():
    dropping = FaultInjection(raw_app, drop_rate=1, seed=1)
    async with (
        LoopbackServers({"api": ServedApp(dropping)}) as servers,
        httpx.AsyncClient() as client,
    ):
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await client.get(f"http://127.0.0.1:{servers.ports['api']}{DV_PATH}")
        control = await client.get(f"http://127.0.0.1:{servers.ports['api']}/_sandbox/x")

    assert control.status_code == 200


async def test_loopback_servers_start_nothing_when_a_port_is_taken():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        servers = LoopbackServers({"free": ServedApp(raw_app), "taken": ServedApp(raw_app, port)})

        with pytest.raises(OSError, match="in use"):
            await servers.start()

    assert servers.ports == {}


def test_bound_sockets_say_tcp_so_accepted_connections_get_nodelay():
    # asyncio switches Nagle off (TCP_NODELAY) only on sockets created with IPPROTO_TCP; with
    # proto 0 every small response over loopback waits for a delayed ACK (~40 ms).
    sockets = _bind_all("127.0.0.1", {"one": 0})
    try:
        assert sockets["one"].proto == socket.IPPROTO_TCP
    finally:
        sockets["one"].close()


async def client_port_app(scope, receive, send):
    # Answers the client's port: the same port twice means the same connection was reused.
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(scope["client"][1]).encode()})


async def test_idle_connection_is_kept_longer_than_a_client_keeps_it_when_served():
    # httpx drops an idle connection after 5 s; a server dropping it at the same moment makes
    # the client's next request on it fail, which no Azure front end (minutes of idle) does.
    async with (
        LoopbackServers({"api": ServedApp(client_port_app)}) as servers,
        httpx.AsyncClient(limits=httpx.Limits(keepalive_expiry=30)) as client,
    ):
        url = f"http://127.0.0.1:{servers.ports['api']}/"
        first = await client.get(url)
        await asyncio.sleep(5.5)
        again = await client.get(url)

    assert first.text == again.text
