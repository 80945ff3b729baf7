"""AdaptiveLimiter driven by the sandbox's Dataverse concurrency limit through ServiceClient."""

from __future__ import annotations

import asyncio

from sandbox.server import DataverseLimits
from sync.connectors.accounting import RequestKind
from sync.connectors.limiter import AdaptiveLimiter
from tests.adapters.connector_sandbox import RecordedSleep, build_sandbox


async def test_limit_settles_under_service_concurrency_when_dataverse_refuses_extra_requests():
    sandbox = build_sandbox(dataverse_limits=DataverseLimits(max_concurrent=2, dop_hint=16))
    limiter = AdaptiveLimiter(initial=8, maximum=52, raise_after=50)
    sleep = RecordedSleep(sandbox.clock)
    transport = sandbox.transport("dataverse")
    async with sandbox.client(
        "dataverse", transport=transport, limiter=limiter, sleep=sleep
    ) as client:
        responses = await asyncio.gather(
            *(
                client.request("GET", "slowaccounts", kind=RequestKind.READ, idempotent=True)
                for _ in range(40)
            )
        )

    refused = [e for e in transport.exchanges if e.status == 429]
    assert [response.status_code for response in responses] == [200] * 40
    assert sum(e.status == 200 for e in transport.exchanges) == 40
    assert refused
    assert sleep.delays == [1.0] * len(refused)  # the sandbox's Retry-After for concurrency
    assert limiter.maximum == 16
    assert limiter.limit <= 2


async def test_limit_kept_when_requests_fit_service_concurrency():
    sandbox = build_sandbox(dataverse_limits=DataverseLimits(max_concurrent=8, dop_hint=16))
    limiter = AdaptiveLimiter(initial=4, maximum=52, raise_after=10)
    async with sandbox.client("dataverse", limiter=limiter) as client:
        await asyncio.gather(
            *(
                client.request("GET", "slowaccounts", kind=RequestKind.READ, idempotent=True)
                for _ in range(40)
            )
        )

    assert client.accounting.throttled == 0
    assert limiter.limit == 8  # 4 + one step per 10 successes
