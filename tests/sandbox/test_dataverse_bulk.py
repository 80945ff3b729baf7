"""Bulk messages of the Dataverse emulator: CreateMultiple, UpdateMultiple, UpsertMultiple (A7)."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from sandbox.dataverse import SandboxOptions, create_app

API = "/api/data/v9.2"
ACCOUNT = "Microsoft.Dynamics.CRM.account"


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dataverse.test"
    )


@pytest.fixture
async def client():
    app = create_app(seed=8, records=5)
    async with client_for(app) as http:
        http.app = app
        yield http


async def bulk(client, message: str, targets: list[dict]) -> httpx.Response:
    return await client.post(
        f"{API}/accounts/Microsoft.Dynamics.CRM.{message}", json={"Targets": targets}
    )


async def test_create_multiple_returns_the_ids_in_order_when_all_targets_are_valid(client):
    chosen = str(uuid.uuid4())

    response = await bulk(
        client,
        "CreateMultiple",
        [
            {"@odata.type": ACCOUNT, "name": "One"},
            {"@odata.type": ACCOUNT, "name": "Two", "accountid": chosen},
        ],
    )

    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith(
        "$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse"
    )
    assert len(body["Ids"]) == 2
    assert body["Ids"][1] == chosen
    assert client.app.state.dataverse.get("accounts", body["Ids"][0])["name"] == "One"


async def test_create_multiple_is_refused_when_a_target_lacks_odata_type(client):
    before = client.app.state.dataverse.count("accounts")

    response = await bulk(
        client, "CreateMultiple", [{"@odata.type": ACCOUNT, "name": "Typed"}, {"name": "Untyped"}]
    )

    assert response.status_code == 400
    assert "@odata.type" in response.json()["error"]["message"]
    assert "Targets[1]" in response.json()["error"]["message"]
    assert client.app.state.dataverse.count("accounts") == before


@pytest.mark.parametrize(
    ("message", "updates_existing"),
    [("CreateMultiple", False), ("UpsertMultiple", True)],
    ids=["create-multiple", "upsert-multiple"],
)
async def test_bulk_writes_nothing_and_names_the_target_when_one_target_is_invalid(
    client, message, updates_existing
):
    before = client.app.state.dataverse.all("accounts")
    second = {"@odata.type": ACCOUNT, "name": "Fine 2"}
    if updates_existing:
        second["accountid"] = before[0]["accountid"]

    response = await bulk(
        client,
        message,
        [
            {"@odata.type": ACCOUNT, "name": "Fine 1"},
            second,
            {"@odata.type": ACCOUNT, "name": "z" * 161},
        ],
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "0x80044331"
    assert "(Targets[2])" in error["message"]
    assert client.app.state.dataverse.all("accounts") == before


async def test_update_multiple_updates_rows_by_primary_key(client):
    rows = client.app.state.dataverse.all("accounts")[:2]

    response = await bulk(
        client,
        "UpdateMultiple",
        [
            {"@odata.type": ACCOUNT, "accountid": row["accountid"], "fax": f"f{n}"}
            for n, row in enumerate(rows)
        ],
    )

    assert response.status_code == 204
    assert [
        client.app.state.dataverse.get("accounts", row["accountid"])["fax"] for row in rows
    ] == ["f0", "f1"]


async def test_update_multiple_fails_whole_request_when_a_row_is_missing(client):
    row = client.app.state.dataverse.all("accounts")[0]

    response = await bulk(
        client,
        "UpdateMultiple",
        [
            {"@odata.type": ACCOUNT, "accountid": row["accountid"], "fax": "changed"},
            {"@odata.type": ACCOUNT, "accountid": str(uuid.uuid4()), "fax": "x"},
        ],
    )

    assert response.status_code == 404
    assert client.app.state.dataverse.get("accounts", row["accountid"])["fax"] == row["fax"]


async def test_upsert_multiple_creates_and_updates_by_primary_id_in_the_target(client):
    existing = client.app.state.dataverse.all("accounts")[0]["accountid"]
    new_id, referenced_id = str(uuid.uuid4()), str(uuid.uuid4())

    response = await bulk(
        client,
        "UpsertMultiple",
        [
            {"@odata.type": ACCOUNT, "accountid": existing, "name": "Updated"},
            {"@odata.type": ACCOUNT, "accountid": new_id, "name": "Created"},
            {"@odata.type": ACCOUNT, "@odata.id": f"accounts({referenced_id})", "name": "ById"},
        ],
    )

    assert response.status_code == 204
    sandbox = client.app.state.dataverse
    assert [sandbox.get("accounts", i)["name"] for i in (existing, new_id, referenced_id)] == [
        "Updated",
        "Created",
        "ById",
    ]


async def test_upsert_multiple_uses_alternate_keys_when_configured():
    app = create_app(
        records=0, options=SandboxOptions(alternate_keys={"account": (("accountnumber",),)})
    )
    async with client_for(app) as client:
        first = await bulk(
            client,
            "UpsertMultiple",
            [{"@odata.type": ACCOUNT, "@odata.id": "accounts(accountnumber='K-1')", "name": "A"}],
        )
        second = await bulk(
            client,
            "UpsertMultiple",
            [{"@odata.type": ACCOUNT, "@odata.id": "accounts(accountnumber='K-1')", "name": "B"}],
        )

    rows = [row for row in app.state.dataverse.all("accounts") if row["accountnumber"] == "K-1"]
    assert (first.status_code, second.status_code) == (204, 204)
    assert [row["name"] for row in rows] == ["B"]


async def test_bulk_waits_per_record_written_when_a_record_cost_is_set():
    app = create_app(records=0, record_cost_seconds=0.02)
    async with client_for(app) as client:
        started = time.perf_counter()
        await bulk(
            client, "CreateMultiple", [{"@odata.type": ACCOUNT, "name": str(n)} for n in range(10)]
        )
        elapsed = time.perf_counter() - started

    assert elapsed >= 0.2
