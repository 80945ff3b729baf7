"""The served sandbox's control planes: reset, seed, edit as a user, and request counters.

None of these requests count towards the service-protection limits or the request counters.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx

from bench.served import SandboxUrls

SEED_CHUNK: Final = 5000
"""Records per seed call: bounds the size of one answer, which lists what was created."""
_EDITORS: Final = 8
_TIMEOUT_SECONDS: Final = 300.0

CounterKey = tuple[str, str, str]
"""(method, endpoint kind, status), as the sandbox's `/_sandbox/counters` lists them."""


@dataclass(frozen=True, slots=True)
class CounterCounts:
    """The requests one emulator counted, by method, endpoint kind and status."""

    counts: Mapping[CounterKey, int]

    def total(self, *, method: str | None = None, status: str | None = None) -> int:
        """Requests matching `method` and `status` (None matches all)."""
        return sum(
            count
            for (key_method, _kind, key_status), count in self.counts.items()
            if method in (None, key_method) and status in (None, key_status)
        )

    def reads(self) -> int:
        """GET requests, whatever their answer."""
        return self.total(method="GET")

    def writes(self) -> int:
        """Requests that are not GETs ($batch and bulk messages count once each)."""
        return self.total() - self.reads()

    def throttled(self) -> int:
        """Requests answered 429."""
        return self.total(status="429")


class SandboxControl:
    """Drives both emulators of one served sandbox as a tester would.

    Args:
        urls: where the sandbox answers.
    """

    def __init__(self, urls: SandboxUrls) -> None:
        self._urls = urls
        self._http = httpx.AsyncClient(timeout=_TIMEOUT_SECONDS)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def reset(self, *, bc_records: int = 0, seed: int = 42) -> str:
        """Re-seed both emulators; return BC's first company.

        Dataverse gets no generated accounts; every BC company gets `bc_records` customers (and
        as many vendors and contacts), last modified at random moments of the past year, as a
        live company's are. Reference tables (currencies, payment terms, ...) are always there.
        """
        bc = await self._post(f"{self._bc}/reset", {"seed": seed, "records": bc_records})
        await self._post(f"{self._dataverse}/reset", {"seed": seed, "records": 0})
        return str(bc["value"][0]["id"])

    async def seed_accounts(self, count: int) -> None:
        """Add `count` generated accounts to Dataverse, in chunks."""
        for start in range(0, count, SEED_CHUNK):
            chunk = min(SEED_CHUNK, count - start)
            await self._post(f"{self._dataverse}/tables/accounts/seed", {"count": chunk})

    async def edit_customers(
        self, company_id: str, edits: Iterable[tuple[str, dict[str, Any]]]
    ) -> None:
        """Change BC customers as a user would: (id, changed fields) each."""
        base = f"{self._bc}/companies({company_id})/customers"
        await self._patch_all((f"{base}({record_id})", values) for record_id, values in edits)

    async def edit_accounts(self, edits: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Change Dataverse accounts as a user would: (id, changed columns) each."""
        base = f"{self._dataverse}/tables/accounts/rows"
        await self._patch_all((f"{base}/{record_id}", values) for record_id, values in edits)

    async def count_customers(self, company_id: str) -> int:
        """How many customers a BC company holds."""
        companies = await self._get(f"{self._bc}/companies")
        for company in companies["value"]:
            if company["id"] == company_id:
                return int(company["counts"]["customers"])
        raise KeyError(company_id)

    async def count_accounts(self) -> int:
        """How many accounts Dataverse holds."""
        rows = await self._get(f"{self._dataverse}/tables/accounts/rows")
        return len(rows["value"])

    async def reset_counters(self) -> None:
        """Set both emulators' request counters to zero."""
        for host in (self._urls.business_central_host, self._urls.dataverse_host):
            response = await self._http.post(f"{host}/_sandbox/counters/reset")
            response.raise_for_status()

    async def counters(self) -> tuple[CounterCounts, CounterCounts]:
        """The request counters of (BC, Dataverse) since their last reset."""
        bc = await self._counts(self._urls.business_central_host)
        dataverse = await self._counts(self._urls.dataverse_host)
        return bc, dataverse

    @property
    def _bc(self) -> str:
        return f"{self._urls.business_central_host}/_sandbox/bc"

    @property
    def _dataverse(self) -> str:
        return f"{self._urls.dataverse_host}/_sandbox/dataverse"

    async def _counts(self, host: str) -> CounterCounts:
        body = await self._get(f"{host}/_sandbox/counters")
        counts: Counter[CounterKey] = Counter()
        for entry in body["entries"]:
            counts[(entry["method"], entry["kind"], entry["status"])] += int(entry["count"])
        return CounterCounts(dict(counts))

    async def _patch_all(self, edits: Iterable[tuple[str, dict[str, Any]]]) -> None:
        pending = list(edits)
        # A few editors at once: a thousand sequential round trips would dominate the setup.
        gate = asyncio.Semaphore(_EDITORS)

        async def patch(url: str, values: dict[str, Any]) -> None:
            async with gate:
                response = await self._http.patch(url, json=values)
                response.raise_for_status()

        await asyncio.gather(*(patch(url, values) for url, values in pending))

    async def _post(self, url: str, body: object) -> Any:  # noqa: ANN401 - JSON
        response = await self._http.post(url, json=body)
        response.raise_for_status()
        return response.json()

    async def _get(self, url: str) -> Any:  # noqa: ANN401 - JSON
        response = await self._http.get(url)
        response.raise_for_status()
        return response.json()
