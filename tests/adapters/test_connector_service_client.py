"""ServiceClient against the in-process sandbox, and MockTransport where a fault must be exact."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import httpx
import pytest

from sandbox.server import BusinessCentralLimits, DataverseLimits, FaultSettings
from sync.connectors.accounting import RequestKind
from sync.connectors.limiter import AdaptiveLimiter
from sync.connectors.retry import RetryPolicy
from sync.connectors.service_client import Service, ServiceClient
from sync.errors import AuthError, PermanentConnectorError, TransientConnectorError
from tests.adapters.connector_sandbox import (
    DATAVERSE_API,
    RecordedSleep,
    Sandbox,
    build_sandbox,
)

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def sandbox() -> Sandbox:
    return build_sandbox()


def mock_client(
    handler: Handler, sleep: RecordedSleep, *, service: Service = "dataverse", **options
) -> ServiceClient:
    return ServiceClient(
        service=service,
        base_url="https://org.crm.dynamics.com/api/data/v9.2",
        auth=None,
        limiter=options.pop("limiter", AdaptiveLimiter(initial=4, maximum=8)),
        transport=httpx.MockTransport(handler),
        sleep=sleep,
        **options,
    )


def answers(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering in turn, and the requests it saw."""
    pending: Iterator[httpx.Response | Exception] = iter(responses)
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = next(pending)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handle, seen


def throttled(retry_after: str | None, status: int = 429) -> httpx.Response:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    body = {"error": {"code": "0x80072322", "message": "Number of requests exceeded the limit."}}
    return httpx.Response(status, headers=headers, json=body)


async def test_every_request_succeeds_once_when_burst_of_429s_is_absorbed():
    sandbox = build_sandbox(
        business_central_limits=BusinessCentralLimits(max_requests=6, window_seconds=10)
    )
    company = await sandbox.company_id()
    customers = (await sandbox.control("GET", f"/_sandbox/bc/companies({company})/customers"))[
        "value"
    ]
    limiter = AdaptiveLimiter(initial=5, maximum=5, raise_after=1)
    limits_while_waiting: list[int] = []
    sleep = RecordedSleep(
        sandbox.clock, on_sleep=lambda: limits_while_waiting.append(limiter.limit)
    )
    transport = sandbox.transport("bc")
    client = sandbox.client("bc", transport=transport, limiter=limiter, sleep=sleep)
    paths = [f"companies({company})/customers({row['id']})" for row in customers] * 4

    async with client:
        responses = await asyncio.gather(
            *(client.request("GET", path, kind=RequestKind.READ, idempotent=True) for path in paths)
        )
        sandbox.clock.now += 10  # a quiet window: the limit climbs back
        for path in paths[:6]:
            await client.request("GET", path, kind=RequestKind.READ, idempotent=True)

    served = sandbox.apps.business_central.snapshot()
    throttles = served.count(status=429)
    assert [response.status_code for response in responses] == [200] * len(paths)
    assert served.count(method="GET", kind="customers", status=200) == len(paths) + 6
    assert throttles > 0
    assert sorted(sleep.delays) == sorted(transport.retry_afters())
    assert min(limits_while_waiting) < 5
    assert limiter.limit == 5
    assert client.accounting.snapshot() == {
        "reads": len(paths) + 6,
        "writes": 0,
        "batches": 0,
        "retries": throttles,
        "throttled": throttles,
        "failures": 0,
    }


async def test_retry_after_honoured_exactly_when_service_throttles_then_accepts():
    handler, seen = answers(
        throttled("3"),
        throttled("7"),
        throttled("2", status=503),
        throttled(None),
        httpx.Response(200, json={"value": []}),
    )
    sleep = RecordedSleep()
    retry = RetryPolicy(base_delay=0.5, jitter=0.0)
    async with mock_client(handler, sleep, retry=retry) as client:
        response = await client.request("GET", "accounts", kind=RequestKind.READ, idempotent=True)

    assert response.status_code == 200
    assert sleep.delays == [3.0, 7.0, 2.0, 4.0]  # the 4th: backoff 0.5 * 2**3, no Retry-After
    assert len(seen) == 5
    assert client.accounting.throttled == 4


async def test_post_repeated_when_throttled_because_service_did_not_process_it():
    handler, seen = answers(throttled("1"), httpx.Response(204))
    sleep = RecordedSleep()
    async with mock_client(handler, sleep) as client:
        response = await client.request(
            "POST", "accounts", kind=RequestKind.WRITE, idempotent=False, json={"name": "A"}
        )

    assert response.status_code == 204
    assert [request.content for request in seen] == [b'{"name":"A"}'] * 2


async def test_post_not_repeated_when_it_times_out():
    handler, seen = answers(httpx.ReadTimeout("timed out"), httpx.Response(204))
    sleep = RecordedSleep()
    async with mock_client(handler, sleep) as client:
        with pytest.raises(TransientConnectorError) as raised:
            await client.request(
                "POST", "accounts", kind=RequestKind.WRITE, idempotent=False, json={"name": "A"}
            )

    assert len(seen) == 1
    assert sleep.delays == []
    assert raised.value.request == f"POST {DATAVERSE_API}/accounts"
    assert raised.value.code == "ReadTimeout"
    assert isinstance(raised.value.__cause__, httpx.ReadTimeout)
    assert client.accounting.failures == 1


async def test_get_repeated_when_it_times_out():
    handler, seen = answers(httpx.ReadTimeout("timed out"), httpx.Response(200, json={}))
    async with mock_client(handler, RecordedSleep()) as client:
        response = await client.request("GET", "accounts", kind=RequestKind.READ, idempotent=True)

    assert response.status_code == 200
    assert len(seen) == 2
    assert client.accounting.retries == 1


async def test_post_repeated_when_connection_never_opened():
    handler, seen = answers(httpx.ConnectError("refused"), httpx.Response(204))
    async with mock_client(handler, RecordedSleep()) as client:
        response = await client.request(
            "POST", "accounts", kind=RequestKind.WRITE, idempotent=False, json={}
        )

    assert response.status_code == 204
    assert len(seen) == 2


@pytest.mark.parametrize("status", [502, 503, 504], ids=["bad gateway", "unavailable", "timeout"])
async def test_post_not_repeated_when_gateway_fails_without_retry_after(status):
    handler, seen = answers(httpx.Response(status, text="<html>oops</html>"))
    async with mock_client(handler, RecordedSleep()) as client:
        with pytest.raises(TransientConnectorError) as raised:
            await client.request("POST", "accounts", kind=RequestKind.WRITE, idempotent=False)

    assert len(seen) == 1
    assert raised.value.status == status
    assert str(raised.value).startswith(str(status))


async def test_post_not_repeated_when_sandbox_drops_the_connection():
    sandbox = build_sandbox(faults=FaultSettings(drop_rate=1.0))
    company = await sandbox.company_id()
    async with sandbox.client("bc") as client:
        with pytest.raises(TransientConnectorError, match="lost the connection"):
            await client.request(
                "POST",
                f"companies({company})/customers",
                kind=RequestKind.WRITE,
                idempotent=False,
                json={"displayName": "Adatum"},
            )

    assert sandbox.apps.business_central.snapshot().count(method="POST") == 1


async def test_post_not_repeated_when_sandbox_gateway_times_out():
    sandbox = build_sandbox(faults=FaultSettings(timeout_rate=1.0))
    company = await sandbox.company_id()
    async with sandbox.client("bc") as client:
        with pytest.raises(TransientConnectorError) as raised:
            await client.request(
                "POST",
                f"companies({company})/customers",
                kind=RequestKind.WRITE,
                idempotent=False,
                json={"displayName": "Adatum"},
            )

    assert raised.value.status == 504
    assert sandbox.apps.business_central.snapshot().count(method="POST") == 1


async def test_transient_error_carries_retry_after_when_retries_are_spent():
    sandbox = build_sandbox(faults=FaultSettings(error_rate=1.0))
    company = await sandbox.company_id()
    sleep = RecordedSleep(sandbox.clock)
    retry = RetryPolicy(max_attempts=3)
    async with sandbox.client("bc", retry=retry, sleep=sleep) as client:
        with pytest.raises(TransientConnectorError) as raised:
            await client.request(
                "GET", f"companies({company})/customers", kind=RequestKind.READ, idempotent=True
            )

    assert raised.value.status in {502, 503}
    assert raised.value.retry_after == 1.0
    assert sleep.delays == [1.0, 1.0]
    assert sandbox.apps.business_central.snapshot().count(method="GET") == 3
    assert client.accounting.snapshot()["failures"] == 1


async def test_request_given_up_when_retry_after_exceeds_budget():
    handler, seen = answers(throttled("600"))
    sleep = RecordedSleep()
    async with mock_client(handler, sleep, retry=RetryPolicy(total_budget=300)) as client:
        with pytest.raises(TransientConnectorError) as raised:
            await client.request("GET", "accounts", kind=RequestKind.READ, idempotent=True)

    assert raised.value.retry_after == 600.0
    assert raised.value.code == "0x80072322"
    assert (len(seen), sleep.delays) == (1, [])


async def test_permanent_error_carries_bc_code_and_message_when_bc_answers_4xx(sandbox):
    company = await sandbox.company_id()
    async with sandbox.client("bc") as client:
        with pytest.raises(PermanentConnectorError) as raised:
            await client.request(
                "GET",
                f"companies({company})/nonexistents",
                kind=RequestKind.READ,
                idempotent=True,
                params={"$filter": "number eq 'secret-ish'"},
            )

    error = raised.value
    assert (error.service, error.status, error.code) == ("bc", 404, "BadRequest_ResourceNotFound")
    assert "CorrelationId" in str(error)
    assert error.request.startswith("GET /v2.0/")
    assert error.request.endswith("/nonexistents")
    assert client.accounting.failures == 1


async def test_permanent_error_carries_dataverse_code_and_message_when_dataverse_answers_4xx(
    sandbox,
):
    async with sandbox.client("dataverse") as client:
        with pytest.raises(PermanentConnectorError) as raised:
            await client.request(
                "POST",
                "accounts",
                kind=RequestKind.WRITE,
                idempotent=False,
                json={"name": "n" * 200},
            )

    error = raised.value
    assert (error.service, error.status, error.code) == ("dataverse", 400, "0x80044331")
    assert str(error).startswith("A validation error occurred.")
    assert error.request == f"POST {DATAVERSE_API}/accounts"


@pytest.mark.parametrize(
    ("response", "code", "message"),
    [
        (httpx.Response(400, text="<html>Bad</html>"), "", "400 Bad Request"),
        (httpx.Response(404, json={"error": {"code": "", "message": ""}}), "", "404 Not Found"),
        (httpx.Response(409, json=["not", "an", "error"]), "", "409 Conflict"),
        (httpx.Response(302, headers={"Location": "https://elsewhere"}), "", "302 Found"),
    ],
    ids=["html body", "empty error", "other json", "redirect"],
)
async def test_status_line_used_as_message_when_body_has_no_service_error(response, code, message):
    handler, _ = answers(response)
    async with mock_client(handler, RecordedSleep()) as client:
        with pytest.raises(PermanentConnectorError) as raised:
            await client.request("GET", "accounts", kind=RequestKind.READ, idempotent=True)

    assert (raised.value.code, str(raised.value)) == (code, message)


async def test_token_refreshed_once_and_request_repeated_when_bc_answers_401(sandbox):
    tokens = iter(["forged"])

    def stale_then_real(scope: str) -> str:
        return next(tokens, None) or sandbox.issue(scope)

    company = await sandbox.company_id()
    async with sandbox.client("bc", issue=stale_then_real) as client:
        response = await client.request(
            "POST",
            f"companies({company})/customers",
            kind=RequestKind.WRITE,
            idempotent=False,
            json={"displayName": "Adatum"},
        )

    served = sandbox.apps.business_central.snapshot()
    assert response.status_code == 201
    assert (served.count(status=401), served.count(status=201)) == (1, 1)
    assert len(sandbox.issued) == 1


async def test_auth_error_raised_when_token_is_refused_after_refresh(sandbox):
    company = await sandbox.company_id()
    async with sandbox.client("bc", issue=lambda _scope: "forged-token") as client:
        with pytest.raises(AuthError) as raised:
            await client.request(
                "GET", f"companies({company})/customers", kind=RequestKind.READ, idempotent=True
            )

    assert "forged-token" not in str(raised.value)
    assert "GET /v2.0/" in str(raised.value)
    assert sandbox.apps.business_central.snapshot().count(status=401) == 2
    assert client.accounting.failures == 1


async def test_auth_error_counted_as_failure_when_no_token_can_be_obtained(sandbox):
    def refuse(scope: str) -> str:
        raise AuthError(f"Entra refused a token for {scope}: invalid_client")

    async with sandbox.client("bc", issue=refuse) as client:
        with pytest.raises(AuthError, match="invalid_client"):
            await client.request("GET", "companies", kind=RequestKind.READ, idempotent=True)

    assert sandbox.apps.business_central.snapshot().total == 0
    assert client.accounting.failures == 1


async def test_no_token_in_error_when_request_fails(sandbox):
    company = await sandbox.company_id()
    async with sandbox.client("bc") as client:
        with pytest.raises(PermanentConnectorError) as raised:
            await client.request(
                "PATCH",
                f"companies({company})/customers(00000000-0000-0000-0000-000000000000)",
                kind=RequestKind.WRITE,
                idempotent=True,
                headers={"If-Match": "*"},
                json={"displayName": "x"},
            )

    details = " ".join([str(raised.value), raised.value.request, raised.value.code])
    assert sandbox.issued
    assert all(token not in details for token in sandbox.issued)
    assert "Bearer" not in details


async def test_limiter_maximum_follows_dop_hint_when_dataverse_answers():
    sandbox = build_sandbox(dataverse_limits=DataverseLimits(dop_hint=3))
    limiter = AdaptiveLimiter(initial=8, maximum=52)
    async with sandbox.client("dataverse", limiter=limiter) as client:
        await client.request("GET", "accounts", kind=RequestKind.READ, idempotent=True)

    assert (limiter.maximum, limiter.limit) == (3, 3)


async def test_dop_hint_ignored_when_service_is_bc():
    handler, _ = answers(httpx.Response(200, headers={"x-ms-dop-hint": "2"}, json={}))
    limiter = AdaptiveLimiter(initial=5, maximum=5)
    async with mock_client(handler, RecordedSleep(), service="bc", limiter=limiter) as client:
        await client.request("GET", "customers", kind=RequestKind.READ, idempotent=True)

    assert limiter.maximum == 5


async def test_not_modified_returned_when_service_answers_304():
    handler, _ = answers(httpx.Response(304))
    async with mock_client(handler, RecordedSleep()) as client:
        response = await client.request(
            "GET",
            "accounts(a1)",
            kind=RequestKind.READ,
            idempotent=True,
            headers={"If-None-Match": 'W/"1"'},
        )

    assert response.status_code == 304


async def test_accounting_counts_each_kind_when_requests_succeed():
    handler, _ = answers(
        httpx.Response(200, json={}),
        throttled("0"),
        httpx.Response(200, json={}),
        httpx.Response(204),
        httpx.Response(200, content=b"--batch--"),
    )
    async with mock_client(handler, RecordedSleep()) as client:
        await client.request("GET", "accounts", kind=RequestKind.READ, idempotent=True)
        await client.request("GET", "contacts", kind=RequestKind.READ, idempotent=True)
        await client.request(
            "PATCH", "accounts(a1)", kind=RequestKind.WRITE, idempotent=True, json={}
        )
        await client.request(
            "POST", "$batch", kind=RequestKind.BATCH, idempotent=False, content=b"--batch--"
        )

    assert client.accounting.snapshot() == {
        "reads": 2,
        "writes": 1,
        "batches": 1,
        "retries": 1,
        "throttled": 1,
        "failures": 0,
    }
