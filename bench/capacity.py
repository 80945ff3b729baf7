"""What the sandbox alone serves on this machine: no modelled cost, no limits, no engine.

Each probe sends the requests a full sync needs, as fast as the services' concurrency allows
(4 bulk messages or 5 `$batch`es in flight), straight over loopback HTTP with httpx, and counts
records per second. The modelled costs are chosen so that these rates stay several times above
the ceiling: then the limits, not this machine's CPU, decide the benchmark.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import httpx

from bench.control import SandboxControl
from bench.costs import FREE
from bench.harness import BC_SCOPE, token_fetcher
from bench.served import SandboxUrls, start_sandbox

PAGE_SIZE: Final = 5000
IDS_PROBED: Final = 2000
"""Records fetched by id per probe: the counterpart reads of a 1 % change of 200k records."""
BC_IDS_PER_READ: Final = 50
DATAVERSE_IDS_PER_READ: Final = 100
DATAVERSE_BULK: Final = 1000
BC_BATCH: Final = 100
DATAVERSE_IN_FLIGHT: Final = 4
BC_IN_FLIGHT: Final = 5


@dataclass(frozen=True, slots=True)
class Capacity:
    """Records per second the sandbox served for one kind of request."""

    probe: str
    records: int
    seconds: float

    @property
    def records_per_second(self) -> float:
        """Records served per second of wall time."""
        return self.records / self.seconds if self.seconds > 0 else 0.0


async def measure_capacity(records: int, *, secret: str) -> list[Capacity]:
    """Serve a cost-free sandbox and probe writes and paged reads on both services."""
    async with start_sandbox(FREE) as urls:
        control = SandboxControl(urls)
        try:
            company_id = await control.reset()
            tokens = token_fetcher(urls, secret)
            bc_token = await tokens.get_token(BC_SCOPE)
            dataverse_token = await tokens.get_token(f"{urls.dataverse_host}/.default")
            async with (
                _client(bc_token) as bc,
                _client(dataverse_token) as dataverse,
            ):
                probes = _Probes(urls, company_id, bc, dataverse)
                return [
                    await _timed("Dataverse UpsertMultiple", records, probes.upsert_accounts),
                    await _timed("BC $batch create", records, probes.create_customers),
                    await _timed("Dataverse paged read", records, probes.read_accounts),
                    await _timed("BC paged read", records, probes.read_customers),
                    await _timed("Dataverse read by ids", records, probes.accounts_by_id),
                    await _timed("BC read by ids", records, probes.customers_by_id),
                ]
        finally:
            await control.aclose()


def _client(token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=300.0,
        limits=httpx.Limits(max_connections=BC_IN_FLIGHT + DATAVERSE_IN_FLIGHT),
    )


async def _timed(probe: str, records: int, run: Callable[[int], Awaitable[int]]) -> Capacity:
    started = time.perf_counter()
    served = await run(records)
    return Capacity(probe=probe, records=served, seconds=time.perf_counter() - started)


@dataclass(frozen=True, slots=True)
class _Probes:
    urls: SandboxUrls
    company_id: str
    bc: httpx.AsyncClient
    dataverse: httpx.AsyncClient

    async def upsert_accounts(self, records: int) -> int:
        url = f"{self.urls.dataverse}/accounts/Microsoft.Dynamics.CRM.UpsertMultiple"

        async def send(start: int, count: int) -> None:
            targets = [_account(start + i) for i in range(count)]
            response = await self.dataverse.post(url, json={"Targets": targets})
            response.raise_for_status()

        await _in_waves(records, DATAVERSE_BULK, DATAVERSE_IN_FLIGHT, send)
        return records

    async def create_customers(self, records: int) -> int:
        url = f"{self.urls.business_central}/$batch"
        path = f"companies({self.company_id})/customers"

        async def send(start: int, count: int) -> None:
            requests = [
                {"id": str(i), "method": "POST", "url": path, "body": _customer(start + i)}
                for i in range(count)
            ]
            response = await self.bc.post(url, json={"requests": requests})
            response.raise_for_status()

        await _in_waves(records, BC_BATCH, BC_IN_FLIGHT, send)
        return records

    async def read_accounts(self, records: int) -> int:
        del records  # reads whatever the write probe left
        url = f"{self.urls.dataverse}/accounts?$select=name,address1_city,telephone1,modifiedon"
        return await _walk(self.dataverse, url)

    async def read_customers(self, records: int) -> int:
        del records
        path = f"companies({self.company_id})/customers"
        url = f"{self.urls.business_central}/{path}?$select=id,displayName,city,phoneNumber"
        return await _walk(self.bc, url)

    async def accounts_by_id(self, records: int) -> int:
        ids = [_account_id(number) for number in range(min(records, IDS_PROBED))]
        url = f"{self.urls.dataverse}/accounts"
        return await _read_by_ids(self.dataverse, url, "accountid", ids, DATAVERSE_IDS_PER_READ)

    async def customers_by_id(self, records: int) -> int:
        del records
        url = f"{self.urls.business_central}/companies({self.company_id})/customers"
        first = (await self.bc.get(url, params={"$select": "id", "$top": str(IDS_PROBED)})).json()
        ids = [row["id"] for row in first["value"]]
        return await _read_by_ids(self.bc, url, "id", ids, BC_IDS_PER_READ)


async def _read_by_ids(
    client: httpx.AsyncClient, url: str, key: str, ids: list[str], per_request: int
) -> int:
    # As the engine reads counterparts: `key eq a or key eq b ...`, one request at a time.
    found = 0
    for start in range(0, len(ids), per_request):
        chunk = ids[start : start + per_request]
        query = " or ".join(f"{key} eq {record_id}" for record_id in chunk)
        response = await client.get(url, params={"$filter": query, "$select": key})
        response.raise_for_status()
        found += len(response.json()["value"])
    return found


async def _in_waves(
    records: int, size: int, in_flight: int, send: Callable[[int, int], Awaitable[None]]
) -> None:
    gate = asyncio.Semaphore(in_flight)

    async def limited(start: int) -> None:
        async with gate:
            await send(start, min(size, records - start))

    await asyncio.gather(*(limited(start) for start in range(0, records, size)))


async def _walk(client: httpx.AsyncClient, url: str) -> int:
    headers = {"Prefer": f"odata.maxpagesize={PAGE_SIZE}"}
    total = 0
    next_url: str | None = url
    while next_url is not None:
        response = await client.get(next_url, headers=headers)
        response.raise_for_status()
        page = response.json()
        total += len(page["value"])
        next_url = page.get("@odata.nextLink")
    return total


def _account_id(number: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/account/{number}"))


def _account(number: int) -> dict[str, object]:
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.account",
        "accountid": _account_id(number),
        "name": f"Capacity probe {number}",
        "address1_city": "Seattle",
        "telephone1": "+1 425 555 0100",
        "customertypecode": 3,
    }


def _customer(number: int) -> dict[str, object]:
    return {
        "displayName": f"Capacity probe {number}",
        "city": "Seattle",
        "phoneNumber": "+1 425 555 0100",
    }
