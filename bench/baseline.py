"""The per-record baseline: one request per record, one at a time, as BC's built-in sync writes.

Implemented here only, to compare against: it reads changes page by page like the engine, but
then sends every write alone and waits for it before the next (a create is one POST; an update
reads the coupled record first and then PATCHes it). A pair changed on both sides in the same
field is a conflict, which, as in BC, is read and then skipped. Throttled requests wait for
`Retry-After` and are sent again.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import httpx

from bench.served import SandboxUrls
from bench.workload import FIELD_PAIRS, ChangeSet, Pair

_PAGE_SIZE: Final = 5000
_TIMEOUT_SECONDS: Final = 120.0
_THROTTLED: Final = 429
_ACCOUNT_DEFAULTS: Final = {"customertypecode": 3}


class BaselineError(RuntimeError):
    """A service refused one of the baseline's requests."""


@dataclass(frozen=True, slots=True)
class BaselineRun:
    """What one baseline scenario did.

    Attributes:
        records: records synced.
        seconds: wall time.
        bc_retries: BC requests sent again after a 429.
        dataverse_retries: Dataverse requests sent again after a 429.
        failed: records the service refused.
    """

    records: int
    seconds: float
    bc_retries: int = 0
    dataverse_retries: int = 0
    failed: int = 0


class PerRecordBaseline:
    """Syncs records one request at a time over two plain HTTP clients.

    Args:
        urls: the served sandbox.
        company_id: the BC company.
        bc_token: a bearer token for BC.
        dataverse_token: a bearer token for Dataverse.
    """

    def __init__(
        self, urls: SandboxUrls, *, company_id: str, bc_token: str, dataverse_token: str
    ) -> None:
        self._customers = f"{urls.business_central}/companies({company_id})/customers"
        self._accounts = f"{urls.dataverse}/accounts"
        self._bc = _client(bc_token)
        self._dataverse = _client(dataverse_token)
        self._retries = {id(self._bc): 0, id(self._dataverse): 0}
        self._failed = 0

    async def aclose(self) -> None:
        """Close both clients."""
        await self._bc.aclose()
        await self._dataverse.aclose()

    async def full_to_dataverse(self, sample: int) -> BaselineRun:
        """Create up to `sample` BC customers as accounts, one POST each."""
        select = ",".join(("id", *(bc for bc, _ in FIELD_PAIRS)))
        pages = self._pages(self._bc, f"{self._customers}?$select={select}")
        return await self._timed(self._create_accounts(pages, sample))

    async def full_to_bc(self, sample: int) -> BaselineRun:
        """Create up to `sample` Dataverse accounts as customers, one POST each."""
        select = ",".join(("accountid", *(dataverse for _, dataverse in FIELD_PAIRS)))
        pages = self._pages(self._dataverse, f"{self._accounts}?$select={select}")
        return await self._timed(self._create_customers(pages, sample))

    async def no_change(self) -> BaselineRun:
        """Ask each side for its changes since a moment ago: one read each, nothing to write."""
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        bc = f"{self._customers}?$filter=lastModifiedDateTime gt {since}"
        dataverse = f"{self._accounts}?$filter=modifiedon gt {since}&$select=accountid"

        async def read_both() -> int:
            await self._send(self._bc, "GET", bc)
            await self._send(self._dataverse, "GET", dataverse)
            return 0

        return await self._timed(read_both())

    async def modified(self, changes: ChangeSet, pairs: Sequence[Pair], sample: int) -> BaselineRun:
        """Sync up to `sample` changed pairs: read the counterpart, then PATCH it (or skip)."""
        return await self._timed(self._apply_changes(changes, pairs, sample))

    async def _create_accounts(
        self, pages: AsyncIterator[list[dict[str, Any]]], sample: int
    ) -> int:
        done = 0
        async for page in pages:
            for customer in page[: sample - done]:
                body = _ACCOUNT_DEFAULTS | {dv: customer.get(bc) for bc, dv in FIELD_PAIRS}
                body["accountid"] = str(uuid.uuid4())
                await self._send(self._dataverse, "POST", self._accounts, body)
                done += 1
            if done >= sample:
                break
        return done

    async def _create_customers(
        self, pages: AsyncIterator[list[dict[str, Any]]], sample: int
    ) -> int:
        done = 0
        async for page in pages:
            for account in page[: sample - done]:
                body = {bc: account.get(dv) or "" for bc, dv in FIELD_PAIRS}
                await self._send(self._bc, "POST", self._customers, body)
                done += 1
            if done >= sample:
                break
        return done

    async def _apply_changes(self, changes: ChangeSet, pairs: Sequence[Pair], sample: int) -> int:
        # One read of changes per side, as the sync starts.
        await self._send(self._bc, "GET", f"{self._customers}?$top=1")
        await self._send(self._dataverse, "GET", f"{self._accounts}?$top=1&$select=accountid")
        bc_edits, dataverse_edits = dict(changes.bc), dict(changes.dataverse)
        for bc_id, dataverse_id in _spread(pairs, sample):
            bc_values, dataverse_values = bc_edits.get(bc_id), dataverse_edits.get(dataverse_id)
            # A field changed on both sides is a conflict: read, then leave both as they are.
            conflict = bool(
                bc_values and dataverse_values and _same_field(bc_values, dataverse_values)
            )
            if bc_values is not None:
                account = f"{self._accounts}({dataverse_id})"
                await self._send(self._dataverse, "GET", account)
                if not conflict:
                    await self._send(self._dataverse, "PATCH", account, _to_dataverse(bc_values))
            if dataverse_values is not None:
                customer = f"{self._customers}({bc_id})"
                await self._send(self._bc, "GET", customer)
                if not conflict:
                    patch = _to_bc(dataverse_values)
                    await self._send(self._bc, "PATCH", customer, patch, {"If-Match": "*"})
        return min(sample, len(pairs))

    async def _pages(
        self, client: httpx.AsyncClient, url: str
    ) -> AsyncIterator[list[dict[str, Any]]]:
        next_url: str | None = url
        while next_url is not None:
            page = (await self._send(client, "GET", next_url)).json()
            yield page["value"]
            next_url = page.get("@odata.nextLink")

    async def _send(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        while True:
            response = await client.request(method, url, json=body, headers=headers)
            if response.status_code != _THROTTLED:
                if response.is_server_error or (method == "GET" and response.is_error):
                    raise BaselineError(f"{method} {url}: {response.status_code} {response.text}")
                if response.is_error:
                    # A refused record fails alone, as in BC's own sync: log it and go on.
                    self._failed += 1
                return response
            self._retries[id(client)] += 1
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))

    async def _timed(self, work: Awaitable[int]) -> BaselineRun:
        retries_before, failed_before = dict(self._retries), self._failed
        started = time.perf_counter()
        records = await work
        seconds = time.perf_counter() - started
        bc, dataverse = (
            self._retries[id(client)] - retries_before[id(client)]
            for client in (self._bc, self._dataverse)
        )
        return BaselineRun(
            records=records,
            seconds=seconds,
            bc_retries=bc,
            dataverse_retries=dataverse,
            failed=self._failed - failed_before,
        )


def _client(token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Prefer": f"odata.maxpagesize={_PAGE_SIZE}",
        },
        timeout=_TIMEOUT_SECONDS,
    )


def _spread(pairs: Sequence[Pair], sample: int) -> list[Pair]:
    # Every k-th pair, so that a sample holds conflicting and plain changes in their shares.
    step = max(1, len(pairs) // max(1, sample))
    return list(pairs[::step])[:sample]


def _same_field(bc_values: Mapping[str, Any], dataverse_values: Mapping[str, Any]) -> bool:
    return bool(set(_to_dataverse(bc_values)) & set(dataverse_values))


def _to_dataverse(values: Mapping[str, Any]) -> dict[str, Any]:
    columns = dict(FIELD_PAIRS)
    return {columns[name]: value for name, value in values.items()}


def _to_bc(values: Mapping[str, Any]) -> dict[str, Any]:
    fields = {dataverse: bc for bc, dataverse in FIELD_PAIRS}
    return {fields[name]: value for name, value in values.items()}
