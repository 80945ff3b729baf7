"""BusinessCentralConnector reads against the in-process BC emulator, with auth switched on.

The helpers here (``open_sandbox``, ``Sandbox``) are shared with the write tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from sandbox.business_central import BusinessCentralService, EmulatorConfig, create_app
from sandbox.server import (
    BUSINESS_CENTRAL_SCOPE,
    DEFAULT_CLIENT_ID,
    BusinessCentralLimits,
    SandboxApps,
    SandboxSettings,
    build_apps,
)
from sync.connectors import (
    AdaptiveLimiter,
    BearerTokenAuth,
    RetryPolicy,
    ServiceClient,
    StaticTokenProvider,
    quote_literal,
)
from sync.connectors.business_central import (
    BusinessCentralConnector,
    business_central_api_root,
)
from sync.errors import ConfigError, PermanentConnectorError
from sync.models import Record, Scope, WriteKind, WriteRequest

HOST = "http://bc.test"
FIELDS = ("number", "displayName")
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests on to the emulator and keeps them, so tests can read the URLs sent."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


class ManualClock:
    """The emulator's clock for ``lastModifiedDateTime``; moves only when told."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current


@dataclass
class Sandbox:
    apps: SandboxApps
    service: BusinessCentralService
    clients: list[ServiceClient] = field(default_factory=list)

    @property
    def companies(self) -> list[str]:
        return self.service.company_ids()

    def connector(
        self,
        company_id: str,
        *,
        transport: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        batch_size: int = 100,
        client: ServiceClient | None = None,
    ) -> BusinessCentralConnector:
        settings = self.apps.settings
        if client is None:
            inner: httpx.AsyncBaseTransport = httpx.ASGITransport(app=self.apps.business_central)
            provider = StaticTokenProvider(partial(self.apps.token_issuer.issue, DEFAULT_CLIENT_ID))
            client = ServiceClient(
                service="bc",
                base_url=business_central_api_root(
                    HOST, tenant=settings.tenant_id, environment=settings.environment
                ),
                auth=BearerTokenAuth(provider, BUSINESS_CENTRAL_SCOPE),
                limiter=AdaptiveLimiter(initial=5, maximum=5),
                retry=RetryPolicy(jitter=0),
                transport=transport(inner) if transport else inner,
                sleep=sleep,
            )
            self.clients.append(client)
        scope = Scope(
            tenant=settings.tenant_id, environment=settings.environment, company_id=company_id
        )
        return BusinessCentralConnector(client, scope, batch_size=batch_size)

    def customers(self, company_id: str) -> list[dict[str, Any]]:
        return self.service.all(company_id, "customers")


@contextlib.asynccontextmanager
async def open_sandbox(
    *,
    records: int = 20,
    limits: BusinessCentralLimits | None = None,
    record_clock: Callable[[], datetime] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    config: EmulatorConfig | None = None,
) -> AsyncIterator[Sandbox]:
    """A BC emulator behind the sandbox's auth and throttling layers, and its service."""
    raw = create_app(seed=3, records=records, clock=record_clock, config=config)
    settings = SandboxSettings(records=0, business_central_limits=limits or BusinessCentralLimits())
    apps = build_apps(
        settings, clock=monotonic, business_central_app=raw, dataverse_app=Starlette()
    )
    sandbox = Sandbox(apps, raw.state.bc)
    try:
        yield sandbox
    finally:
        for client in sandbox.clients:
            await client.aclose()


async def read_all(pages: AsyncIterator[list[Record]]) -> list[Record]:
    return [record async for page in pages for record in page]


def read_everything(connector: BusinessCentralConnector) -> AsyncIterator[list[Record]]:
    return connector.read_changes(
        "customers", fields=FIELDS, since=None, overlap=timedelta(0), odata_filter=None,
        page_size=100,
    )  # fmt: skip


def query_of(request: httpx.Request) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(str(request.url)).query).items()}


async def test_pages_stream_before_table_is_read_when_reading_20000_customers():
    async with open_sandbox(records=0) as sandbox:
        company = sandbox.companies[0]
        sandbox.service.seed(company, "customers", 20_000)
        connector = sandbox.connector(company)
        pages = connector.read_changes(
            "customers", fields=FIELDS, since=None, overlap=timedelta(0),
            odata_filter=None, page_size=1_000,
        )  # fmt: skip
        reads_at_first_page, sizes, seen = None, [], set[str]()
        tracemalloc.start()
        started = time.perf_counter()
        try:
            async for page in pages:
                if reads_at_first_page is None:
                    reads_at_first_page = sandbox.apps.business_central.snapshot().count(
                        method="GET", kind="customers"
                    )
                sizes.append(len(page))
                seen.update(record.id for record in page)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        elapsed = time.perf_counter() - started

    assert reads_at_first_page == 1
    assert len(seen) == 20_000
    assert max(sizes) == 1_000
    assert len(sizes) == 20
    # Holding all 20,000 records peaks above 20 MB; a page of 1,000 at a time near 5 MB.
    assert peak < 8_000_000, f"peak {peak / 1e6:.1f} MB over {elapsed:.1f} s"


async def test_only_changes_since_watermark_minus_overlap_when_reading_with_mapping_filter():
    clock = ManualClock(T0)
    async with open_sandbox(records=30, record_clock=clock) as sandbox:
        company = sandbox.companies[0]
        rows = sandbox.customers(company)
        edits = [
            (timedelta(minutes=2), rows[0], "Company"),  # before watermark minus overlap
            (timedelta(minutes=7), rows[1], "Company"),  # inside the overlap
            (timedelta(minutes=12), rows[2], "Company"),  # after the watermark
            (timedelta(minutes=13), rows[3], "Person"),  # changed, but the filter leaves it out
        ]
        for offset, row, kind in edits:
            clock.current = T0 + offset
            sandbox.service.edit(company, "customers", str(row["id"]), {"type": kind})
        connector = sandbox.connector(company)

        found = await read_all(
            connector.read_changes(
                "customers", fields=("type",), since=T0 + timedelta(minutes=10),
                overlap=timedelta(minutes=5), odata_filter="type eq 'Company'", page_size=100,
            )
        )  # fmt: skip

        current = {row["id"]: row for row in sandbox.customers(company)}
    assert {record.id for record in found} == {rows[1]["id"], rows[2]["id"]}
    assert len(found) == 2
    for record in found:
        assert record.version == current[record.id]["@odata.etag"]
        assert record.modified_at is not None
        assert record.modified_at >= T0 + timedelta(minutes=5)
        assert record.values == {"type": "Company"}


async def test_query_limited_to_mapped_fields_when_reading_changes():
    async with open_sandbox() as sandbox:
        recorder: list[RecordingTransport] = []

        def record(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
            recorder.append(RecordingTransport(inner))
            return recorder[0]

        connector = sandbox.connector(sandbox.companies[0], transport=record)
        found = await read_all(
            connector.read_changes(
                "customers", fields=FIELDS, since=T0, overlap=timedelta(minutes=5),
                odata_filter="blocked eq ' '", page_size=7,
            )
        )  # fmt: skip

    sent = recorder[0].requests
    first = query_of(sent[0])
    assert found
    assert all(set(record.values) == set(FIELDS) for record in found)
    assert first["$select"] == "id,lastModifiedDateTime,number,displayName"
    assert (
        first["$filter"] == "lastModifiedDateTime ge 2024-05-01T07:55:00.000Z and (blocked eq ' ')"
    )
    assert "$orderby" not in first
    assert all(request.headers["Prefer"] == "odata.maxpagesize=7" for request in sent)
    assert all(
        f"companies({sandbox.companies[0]})/customers" in request.url.path for request in sent
    )


async def test_record_found_when_key_value_holds_a_quote():
    async with open_sandbox() as sandbox:
        company = sandbox.companies[0]
        target = sandbox.customers(company)[4]
        name = "O'Brien & Sons #1"
        sandbox.service.edit(company, "customers", str(target["id"]), {"displayName": name})
        connector = sandbox.connector(company)

        found = await connector.find_by_key("customers", "displayName", name, fields=FIELDS)
        injected = await connector.find_by_key(
            "customers", "displayName", "x' or displayName ne 'x", fields=FIELDS
        )

    assert [(record.id, record.values["displayName"]) for record in found] == [(target["id"], name)]
    assert injected == []


async def test_mapping_filter_with_quoted_literal_matches_when_name_holds_a_quote():
    async with open_sandbox() as sandbox:
        company = sandbox.companies[0]
        target = sandbox.customers(company)[2]
        sandbox.service.edit(company, "customers", str(target["id"]), {"city": "King's Lynn"})
        connector = sandbox.connector(company)
        literal = quote_literal("King's Lynn")

        found = await read_all(
            connector.read_changes(
                "customers", fields=("city",), since=None, overlap=timedelta(0),
                odata_filter=f"city eq {literal}", page_size=50,
            )
        )  # fmt: skip

    assert [record.id for record in found] == [target["id"]]


async def test_ids_fetched_50_per_request_when_reading_by_ids():
    async with open_sandbox(records=120) as sandbox:
        company = sandbox.companies[0]
        wanted = [str(row["id"]) for row in sandbox.customers(company)]
        missing = ["6f1f3f0e-0000-4000-8000-00000000000" + str(n) for n in range(3)]
        connector = sandbox.connector(company)

        found = await read_all(
            connector.read_by_ids("customers", [*wanted, *missing, "not-a-guid"], fields=FIELDS)
        )

        reads = sandbox.apps.business_central.snapshot().count(method="GET", kind="customers")
    assert sorted(record.id for record in found) == sorted(wanted)
    assert reads == 3  # 123 GUIDs in chunks of 50


async def test_each_connector_sees_only_its_company_when_two_companies_share_a_client():
    async with open_sandbox(records=15) as sandbox:
        first_company, second_company = sandbox.companies
        first = sandbox.connector(first_company)
        second = sandbox.connector(second_company, client=sandbox.clients[0])

        [created] = await first.write(
            "customers", [WriteRequest(kind=WriteKind.CREATE, values={"displayName": "Only A"})]
        )
        first_ids = {record.id for record in await read_all(read_everything(first))}
        second_ids = {record.id for record in await read_all(read_everything(second))}
        expected_first = {row["id"] for row in sandbox.customers(first_company)}
        expected_second = {row["id"] for row in sandbox.customers(second_company)}

    assert created.ok
    assert created.record_id in first_ids
    assert first_ids == expected_first
    assert second_ids == expected_second
    assert not first_ids & second_ids


async def test_bc_refusal_raised_as_permanent_error_when_filter_names_unknown_field():
    async with open_sandbox() as sandbox:
        connector = sandbox.connector(sandbox.companies[0])
        pages = connector.read_changes(
            "customers", fields=FIELDS, since=None, overlap=timedelta(0),
            odata_filter="noSuchField eq 1", page_size=10,
        )  # fmt: skip

        with pytest.raises(PermanentConnectorError) as caught:
            await read_all(pages)

    assert caught.value.status == 400
    assert caught.value.code.startswith("BadRequest")


@pytest.mark.parametrize(
    ("page_size", "fields", "entity"),
    [
        pytest.param(20_001, FIELDS, "customers", id="page-above-20000"),
        pytest.param(0, FIELDS, "customers", id="page-zero"),
        pytest.param(10, ("displayName,number",), "customers", id="field-with-comma"),
        pytest.param(10, FIELDS, "customers?$top=1", id="entity-with-query"),
    ],
)
async def test_config_error_before_any_request_when_read_arguments_are_invalid(
    page_size, fields, entity
):
    async with open_sandbox() as sandbox:
        connector = sandbox.connector(sandbox.companies[0])
        pages = connector.read_changes(
            entity, fields=fields, since=None, overlap=timedelta(0),
            odata_filter=None, page_size=page_size,
        )  # fmt: skip

        with pytest.raises(ConfigError):
            await read_all(pages)

        assert sandbox.apps.business_central.snapshot().total == 0


async def test_custom_api_records_read_when_api_names_publisher_group_version():
    async with open_sandbox() as sandbox:
        company = sandbox.companies[0]
        connector = sandbox.connector(company)

        found = await read_all(
            connector.read_changes(
                "shippingAgents", fields=("code", "name"), since=None, overlap=timedelta(0),
                odata_filter=None, page_size=100, api="bcsync/integration/v1.0",
            )
        )  # fmt: skip

        expected = {row["id"] for row in sandbox.service.all(company, "shippingAgents")}
    assert expected
    assert {record.id for record in found} == expected
    assert all(set(record.values) == {"code", "name"} for record in found)
