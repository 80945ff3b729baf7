from __future__ import annotations

import httpx
import pytest
from starlette.responses import JSONResponse

from sandbox.counters import RequestCounter, endpoint_kind
from sandbox.faults import FaultInjection

BC = "/v2.0/tenant/production/api/v2.0"
DV = "/api/data/v9.2"


async def status_from_path(scope, receive, send) -> None:
    status = 429 if scope["path"].endswith("throttled") else 200
    await JSONResponse({}, status_code=status)(scope, receive, send)


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (f"{BC}/companies(9f1c)/customers", "customers"),
        (f"{BC}/companies(9f1c)/customers(5d11)", "customers"),
        (f"{BC}/$batch", "$batch"),
        (f"{BC}/companies", "companies"),
        (BC, "$root"),
        (f"{DV}/accounts(5d115c9c-44e3-ea11-bb43-000d3a2feca1)", "accounts"),
        (f"{DV}/accounts(accountnumber='A/1')", "accounts"),
        (f"{DV}/accounts/Microsoft.Dynamics.CRM.UpsertMultiple", "accounts/UpsertMultiple"),
        (f"{DV}/accounts/$count", "accounts/$count"),
        (f"{DV}/WhoAmI", "WhoAmI"),
        (f"{DV}/$metadata", "$metadata"),
        ("/tenant/oauth2/v2.0/token", "token"),
        ("/", "/"),
    ],
    ids=[
        "collection",
        "single record",
        "bc batch",
        "companies",
        "service root",
        "dataverse row",
        "alternate key with slash",
        "bound action",
        "count",
        "unbound function",
        "metadata",
        "token endpoint",
        "root",
    ],
)
def test_endpoint_kind_names_the_endpoint_when_path_has_keys_and_actions(path, kind):
    assert endpoint_kind(path) == kind


async def test_counters_count_per_method_kind_and_status_when_requests_pass():
    counter = RequestCounter(status_from_path)
    async with client_for(counter) as client:
        await client.get(f"{BC}/companies(1)/customers")
        await client.get(f"{BC}/companies(1)/customers(2)")
        await client.post(f"{BC}/$batch")
        await client.get(f"{BC}/companies(1)/throttled")
        await client.get("/_sandbox/anything")

    snapshot = counter.snapshot()
    assert snapshot.total == 4
    assert snapshot.count(method="GET", kind="customers") == 2
    assert snapshot.count(kind="$batch") == 1
    assert snapshot.count(status=429) == 1
    assert snapshot.count(method="DELETE") == 0


async def test_counters_served_as_json_and_reset_when_control_endpoints_called():
    counter = RequestCounter(status_from_path)
    async with client_for(counter) as client:
        await client.get(f"{DV}/accounts")
        await client.get(f"{DV}/accounts")
        await client.get(f"{DV}/throttled")
        served = (await client.get("/_sandbox/counters")).json()
        reset = await client.post("/_sandbox/counters/reset")
        after_reset = (await client.get("/_sandbox/counters")).json()

    assert served["total"] == 3
    assert served["by_endpoint"] == {"GET accounts": 2, "GET throttled": 1}
    assert served["by_status"] == {"200": 2, "429": 1}
    assert {"method": "GET", "kind": "accounts", "status": "200", "count": 2} in served["entries"]
    assert reset.status_code == 204
    assert after_reset["total"] == 0


async def test_counters_record_no_response_when_connection_dropped():
    counter = RequestCounter(FaultInjection(status_from_path, drop_rate=1, seed=1))
    async with client_for(counter) as client:
        with pytest.raises(httpx.TransportError):
            await client.get(f"{DV}/accounts")

    assert counter.snapshot().count(kind="accounts", status="no_response") == 1
