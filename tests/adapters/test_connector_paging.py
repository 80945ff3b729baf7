"""NextLinkPaginator against the BC emulator (20,000 rows) and against scripted nextLinks."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from sync.connectors.limiter import AdaptiveLimiter
from sync.connectors.paging import NextLinkPaginator
from sync.connectors.service_client import ServiceClient
from sync.errors import PermanentConnectorError
from tests.adapters.connector_sandbox import RecordedSleep, RecordingTransport, build_sandbox

BASE = "https://org.crm.dynamics.com/api/data/v9.2"
PREFER = {"Prefer": "odata.maxpagesize=2"}


async def test_every_row_read_once_when_20000_rows_are_paged_from_sandbox():
    sandbox = build_sandbox(records=0)
    company = await sandbox.company_id()
    await sandbox.control(
        "POST", f"/_sandbox/bc/companies({company})/customers/seed", params={"count": "20000"}
    )
    transport = sandbox.transport("bc")
    prefer = {"Prefer": "odata.maxpagesize=1000"}
    ids: set[str] = set()
    pages = 0
    async with sandbox.client("bc", transport=transport) as client:
        paginator = NextLinkPaginator(client, headers=prefer)
        async for page in paginator.pages(
            f"companies({company})/customers", params={"$select": "id,number"}
        ):
            pages += 1
            ids.update(row["id"] for row in page["value"])
            assert set(page["value"][0]) <= {"@odata.etag", "id", "number"}

    assert (pages, len(ids)) == (20, 20_000)
    assert client.accounting.reads == 20
    assert all(e.request_headers["Prefer"] == prefer["Prefer"] for e in transport.exchanges)


def scripted(pages: dict[str, dict[str, object]]) -> tuple[Callable, list[str]]:
    """A handler serving fixed pages by path and query, and the URLs it was asked for."""
    asked: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        key = request.url.raw_path.decode()
        asked.append(key)
        if key not in pages:
            return httpx.Response(404, json={"error": {"code": "", "message": f"no {key}"}})
        return httpx.Response(200, json=pages[key])

    return handle, asked


def client_for(handle: Callable, transport_wrapper=None) -> ServiceClient:
    transport: httpx.AsyncBaseTransport = httpx.MockTransport(handle)
    if transport_wrapper is not None:
        transport = transport_wrapper(transport)
    return ServiceClient(
        service="dataverse",
        base_url=BASE,
        auth=None,
        limiter=AdaptiveLimiter(initial=2, maximum=2),
        transport=transport,
        sleep=RecordedSleep(),
    )


def link(query: str) -> str:
    return f"{BASE}/accounts?{query}"


async def read_into(read: list[dict], pages: AsyncIterator[dict]) -> None:
    async for page in pages:
        read.append(page)


async def collect(paginator: NextLinkPaginator, url: str, params=None) -> list[dict]:
    return [page async for page in paginator.pages(url, params)]


async def test_next_page_requested_only_when_consumer_asks_for_it():
    handle, asked = scripted(
        {
            "/api/data/v9.2/accounts": {"value": [1, 2], "@odata.nextLink": link("$skiptoken=2")},
            "/api/data/v9.2/accounts?$skiptoken=2": {"value": [3]},
        }
    )
    async with client_for(handle) as client:
        pages = NextLinkPaginator(client).pages("accounts")
        async with contextlib.aclosing(pages):
            first = await anext(pages)

    assert first["value"] == [1, 2]
    assert asked == ["/api/data/v9.2/accounts"]


async def test_nextlink_followed_verbatim_without_first_params_when_walking():
    handle, asked = scripted(
        {
            "/api/data/v9.2/accounts?%24select=name": {
                "value": [1],
                "@odata.nextLink": link("$select=name&$skiptoken=%3Ccookie%20page%3D%222%22%3E"),
            },
            "/api/data/v9.2/accounts?$select=name&$skiptoken=%3Ccookie%20page%3D%222%22%3E": {
                "value": [2],
                "@odata.deltaLink": link("$deltatoken=9"),
            },
        }
    )
    async with client_for(handle) as client:
        pages = await collect(NextLinkPaginator(client), "accounts", {"$select": "name"})

    assert [page["value"] for page in pages] == [[1], [2]]
    assert pages[-1]["@odata.deltaLink"] == link("$deltatoken=9")
    assert (
        asked[1] == "/api/data/v9.2/accounts?$select=name&$skiptoken=%3Ccookie%20page%3D%222%22%3E"
    )


@pytest.mark.parametrize(
    "links",
    [["$skiptoken=1", "$skiptoken=1"], ["$skiptoken=1", "$skiptoken=2", "$skiptoken=1"]],
    ids=["same link again", "cycle of two"],
)
async def test_paging_loop_detected_when_nextlink_repeats(links):
    pages: dict[str, dict[str, object]] = {
        "/api/data/v9.2/accounts": {"value": [0], "@odata.nextLink": link(links[0])}
    }
    for current, following in itertools.pairwise(links):
        pages[f"/api/data/v9.2/accounts?{current}"] = {
            "value": [current],
            "@odata.nextLink": link(following),
        }
    handle, asked = scripted(pages)
    read: list[dict] = []
    async with client_for(handle) as client:
        with pytest.raises(PermanentConnectorError, match="paging loop") as raised:
            await read_into(read, NextLinkPaginator(client).pages("accounts"))

    assert len(read) == len(links) - 1
    assert len(asked) == len(links)
    assert raised.value.code == "PagingError"


async def test_paging_refused_when_nextlink_points_at_another_host():
    handle, asked = scripted(
        {
            "/api/data/v9.2/accounts": {
                "value": [],
                "@odata.nextLink": "https://attacker.example/api/data/v9.2/accounts?$skiptoken=1",
            }
        }
    )
    async with client_for(handle) as client:
        with pytest.raises(PermanentConnectorError, match="another host"):
            await collect(NextLinkPaginator(client), "accounts")

    assert asked == ["/api/data/v9.2/accounts"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [(b"[1, 2]", "not a JSON object"), (b"<html/>", "not JSON")],
    ids=["json list", "html"],
)
async def test_paging_refused_when_page_is_not_json_object(body, problem):
    async with client_for(lambda _request: httpx.Response(200, content=body)) as client:
        with pytest.raises(PermanentConnectorError, match=problem):
            await collect(NextLinkPaginator(client), "accounts")


async def test_same_headers_sent_on_every_page_when_a_page_is_throttled():
    throttled_once = False

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal throttled_once
        if request.url.params.get("$skiptoken") == "1" and not throttled_once:
            throttled_once = True
            return httpx.Response(429, headers={"Retry-After": "2"})
        if "$skiptoken" in request.url.params:
            return httpx.Response(200, json={"value": [2]})
        return httpx.Response(200, json={"value": [1], "@odata.nextLink": link("$skiptoken=1")})

    recorder: list[RecordingTransport] = []

    def record(inner: httpx.AsyncBaseTransport) -> RecordingTransport:
        recorder.append(RecordingTransport(inner))
        return recorder[0]

    async with client_for(handle, record) as client:
        pages = await collect(NextLinkPaginator(client, headers=PREFER), "accounts")

    assert [page["value"] for page in pages] == [[1], [2]]
    exchanges = recorder[0].exchanges
    assert [e.status for e in exchanges] == [200, 429, 200]
    assert all(e.request_headers["Prefer"] == PREFER["Prefer"] for e in exchanges)
    assert client.accounting.snapshot()["retries"] == 1
