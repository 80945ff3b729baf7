"""Control plane and seed data of the Dataverse emulator."""

from __future__ import annotations

import httpx
import pytest

from sandbox.dataverse import create_app

API = "/api/data/v9.2"
CONTROL = "/_sandbox/dataverse"


@pytest.fixture
async def client():
    app = create_app(seed=21, records=60)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dataverse.test"
    ) as http:
        http.app = app
        yield http


def test_seed_data_is_identical_when_the_seed_is_the_same():
    first = create_app(seed=5, records=20).state.dataverse
    second = create_app(seed=5, records=20).state.dataverse
    other = create_app(seed=6, records=20).state.dataverse

    def strip(rows):
        return [
            {k: v for k, v in row.items() if k not in ("createdon", "modifiedon")} for row in rows
        ]

    assert strip(first.all("accounts")) == strip(second.all("accounts"))
    assert strip(first.all("contacts")) == strip(second.all("contacts"))
    assert strip(first.all("accounts")) != strip(other.all("accounts"))


def test_seed_data_covers_the_cases_a_sync_must_handle(client):
    sandbox = client.app.state.dataverse
    accounts = sandbox.all("accounts")
    users = sandbox.all("systemusers")
    currencies = sandbox.all("transactioncurrencies")

    assert {3, 11} <= {row["customertypecode"] for row in accounts}
    assert len({row["customertypecode"] for row in accounts}) > 2
    assert any(row["statecode"] == 1 for row in accounts)
    assert any("'" in row["name"] for row in accounts)
    assert any(not row["name"].isascii() for row in accounts)
    assert any(len(row["name"]) == 160 for row in accounts)
    assert any(row["accountnumber"] is None for row in accounts)
    assert any(row["_primarycontactid_value"] for row in accounts)
    contact_rows = sandbox.store.table_rows("contact").rows.values()
    parents = {row.lookup_targets.get("parentcustomerid") for row in contact_rows}
    assert parents == {"account", "contact", None}
    assert any(user["isdisabled"] for user in users)
    assert any(not user["islicensed"] for user in users)
    assert any(user["isintegrationuser"] for user in users)
    assert sum(1 for user in users if user["applicationid"]) >= 2
    base = sandbox.organization.base_currency_id
    assert {row["isocurrencycode"] for row in currencies} >= {"USD", "EUR", "GBP"}
    assert next(r for r in currencies if r["transactioncurrencyid"] == base)["exchangerate"] == 1.0
    assert sandbox.count("teams") >= 1
    assert sandbox.count("cdm_companies") == 1


async def test_edit_as_a_user_bumps_version_and_shows_in_the_delta(client):
    initial = await client.get(
        f"{API}/accounts?$select=name", headers={"Prefer": "odata.track-changes"}
    )
    row = client.app.state.dataverse.all("accounts")[3]

    edited = await client.patch(
        f"{CONTROL}/tables/accounts/rows/{row['accountid']}", json={"name": "Edited in the UI"}
    )
    delta = await client.get(initial.json()["@odata.deltaLink"])

    assert edited.status_code == 200
    assert edited.json()["versionnumber"] > row["versionnumber"]
    assert [item["name"] for item in delta.json()["value"]] == ["Edited in the UI"]


async def test_control_plane_seeds_lists_gets_and_deletes_rows(client):
    seeded = await client.post(f"{CONTROL}/tables/contacts/seed", json={"count": 3})
    ids = seeded.json()["ids"]
    listed = await client.get(f"{CONTROL}/tables/contact/rows")
    one = await client.get(f"{CONTROL}/tables/contacts/rows/{ids[0]}")
    deleted = await client.delete(f"{CONTROL}/tables/contacts/rows/{ids[0]}")
    gone = await client.get(f"{CONTROL}/tables/contacts/rows/{ids[0]}")

    assert len(ids) == 3
    assert len(listed.json()["value"]) == 63
    assert one.json()["contactid"] == ids[0]
    assert (deleted.status_code, gone.status_code) == (204, 404)


async def test_control_plane_reset_reseeds_and_clock_moves_time(client):
    reset = await client.post(f"{CONTROL}/reset", json={"seed": 2, "records": 4})
    moved = await client.post(f"{CONTROL}/clock", json={"advance_seconds": 86400})

    assert reset.json() == {"seed": 2, "records": 4}
    assert client.app.state.dataverse.count("accounts") == 4
    assert moved.json()["now"].endswith("Z")


async def test_control_plane_refuses_invalid_edits_with_dataverse_errors(client):
    row = client.app.state.dataverse.all("accounts")[0]

    response = await client.patch(
        f"{CONTROL}/tables/accounts/rows/{row['accountid']}", json={"name": "n" * 200}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80044331"
