"""DataverseConnector under Dataverse's service-protection limits (429 + Retry-After)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sandbox.server import DataverseLimits, SandboxSettings
from sync.connectors import AdaptiveLimiter
from sync.models.record import WriteKind, WriteRequest
from tests.adapters.dataverse_environment import open_environment

NAMESPACE = uuid.UUID("0d9b8a7c-6e5f-4a3b-9c1d-2e3f4a5b6c7d")
TIGHT = SandboxSettings(
    records=0,
    dataverse_limits=DataverseLimits(
        max_requests=6, window_seconds=10, max_concurrent=3, dop_hint=8
    ),
)


def creates(count: int) -> list[WriteRequest]:
    return [
        WriteRequest(
            kind=WriteKind.CREATE,
            record_id=str(uuid.uuid5(NAMESPACE, str(number))),
            values={"name": f"Throttled {number}"},
        )
        for number in range(count)
    ]


async def test_nothing_lost_or_duplicated_and_limiter_backs_off_when_service_throttles():
    limiter = AdaptiveLimiter(initial=8, maximum=8, raise_after=10_000)
    async with open_environment(
        records=3, settings=TIGHT, limiter=limiter, bulk_size=50, record_cost_seconds=0.0001
    ) as env:
        before = env.sandbox.count("accounts")
        requests = creates(1000)

        outcomes = await env.connector.write("accounts", "account", "accountid", requests)
        again = await env.connector.write("accounts", "account", "accountid", requests)

        assert all(outcome.ok for outcome in [*outcomes, *again])
        assert env.sandbox.count("accounts") == before + 1000
        names = {row["name"] for row in env.sandbox.all("accounts")}
        assert {f"Throttled {number}" for number in range(1000)} <= names
        accounting = env.client.accounting
        assert accounting.throttled > 0
        assert accounting.writes == 40  # 20 chunks, twice; every 429 was a retry, not a loss
        assert accounting.retries == accounting.throttled
        assert limiter.limit < 8
        # Every wait was the service's Retry-After, in whole seconds.
        assert env.time.waits
        assert all(wait >= 1 and wait == int(wait) for wait in env.time.waits)


async def test_reads_complete_when_pages_are_throttled():
    async with open_environment(records=40, settings=TIGHT) as env:
        pages = [
            page
            async for page in env.connector.read_changes(
                "accounts",
                id_field="accountid",
                fields=["name"],
                since=None,
                delta_link=None,
                overlap=timedelta(0),
                odata_filter=None,
                page_size=4,
                track_changes=True,
            )
        ]

        assert sum(len(page.records) for page in pages) == 40
        assert pages[-1].delta_link is not None
        assert env.client.accounting.throttled > 0
