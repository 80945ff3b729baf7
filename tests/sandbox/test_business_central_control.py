"""Control plane and Python API of the BC emulator: reset, seed, user edits, determinism."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sandbox.business_central import create_app

CONTROL = "/_sandbox/bc"
FIXED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class StepClock:
    """A clock that moves one second per reading."""

    def __init__(self) -> None:
        self.now = FIXED

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
async def client():
    app = create_app(seed=4, records=6, clock=StepClock())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bc.test") as http:
        http.app = app
        yield http


@pytest.fixture
def company_id(client) -> str:
    return client.app.state.bc.company_ids()[0]


async def test_counts_listed_when_companies_requested(client):
    response = await client.get(f"{CONTROL}/companies")

    companies = response.json()["value"]
    assert len(companies) == 2
    assert companies[0]["counts"]["customers"] == 6
    assert companies[0]["counts"]["shippingAgents"] >= 3


async def test_data_reseeded_when_reset_posted(client, company_id):
    client.app.state.bc.seed(company_id, "customers", 3)

    response = await client.post(f"{CONTROL}/reset", json={"seed": 9, "records": 2})

    assert response.status_code == 200
    assert [c["counts"]["customers"] for c in response.json()["value"]] == [2, 2]


async def test_records_added_now_when_seed_posted(client, company_id):
    response = await client.post(f"{CONTROL}/companies({company_id})/vendors/seed?count=4")

    assert response.status_code == 201
    created = response.json()["value"]
    assert [v["number"] for v in created] == ["V00070", "V00080", "V00090", "V00100"]
    assert all(v["lastModifiedDateTime"] > "2025-03-01T12:00" for v in created)


async def test_etag_and_timestamp_bumped_when_user_edits_record(client, company_id):
    before = client.app.state.bc.all(company_id, "customers")[0]

    response = await client.patch(
        f"{CONTROL}/companies({company_id})/customers({before['id']})",
        json={"displayName": "Edited by a user"},
    )

    assert response.status_code == 200
    after = client.app.state.bc.get(company_id, "customers", before["id"])
    assert after["displayName"] == "Edited by a user"
    assert after["@odata.etag"] != before["@odata.etag"]
    assert after["lastModifiedDateTime"] > before["lastModifiedDateTime"]


async def test_record_gone_when_user_deletes_it(client, company_id):
    row = client.app.state.bc.all(company_id, "contacts")[-1]

    response = await client.delete(f"{CONTROL}/companies({company_id})/contacts({row['id']})")

    assert response.status_code == 204
    assert client.app.state.bc.get(company_id, "contacts", row["id"]) is None


async def test_bc_error_when_control_edit_breaks_a_rule(client, company_id):
    row = client.app.state.bc.all(company_id, "customers")[0]

    response = await client.patch(
        f"{CONTROL}/companies({company_id})/customers({row['id']})", json={"balanceDue": 5}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest_InvalidOperation"


async def test_every_row_returned_unpaged_when_table_listed(client, company_id):
    response = await client.get(f"{CONTROL}/companies({company_id})/paymentTerms")

    codes = {row["code"] for row in response.json()["value"]}
    assert {"1M(8D)", "14 DAYS", "CM", "COD"} <= codes


def test_same_data_produced_when_seed_and_clock_repeat():
    first = create_app(seed=21, records=8, clock=StepClock()).state.bc
    second = create_app(seed=21, records=8, clock=StepClock()).state.bc
    other = create_app(seed=22, records=8, clock=StepClock()).state.bc

    company = first.company_ids()[0]
    assert second.company_ids()[0] == company
    for entity_set in ("customers", "vendors", "contacts", "currencies"):
        assert first.all(company, entity_set) == second.all(company, entity_set)
    assert first.all(company, "customers") != other.all(other.company_ids()[0], "customers")


def test_awkward_values_present_when_seeded():
    service = create_app(seed=0, records=40).state.bc
    company = service.company_ids()[0]
    customers = service.all(company, "customers")
    names = {row["displayName"] for row in customers}

    assert {"Müller & Söhne GmbH", "株式会社サクラ商事", "O'Brien's Pub Supplies"} <= names
    assert any(name.startswith("Ørsted") for name in names)
    assert max(len(name) for name in names) == 100
    assert any(row["blocked"] != " " for row in customers)
    assert any(row["email"] == "" for row in customers)
    contacts = service.all(company, "contacts")
    companies = {c["number"]: c["displayName"] for c in contacts if c["type"] == "Company"}
    persons = [c for c in contacts if c["type"] == "Person" and c["companyNumber"]]
    assert persons
    assert all(companies[p["companyNumber"]] == p["companyName"] for p in persons)
    salespeople = service.all(company, "salespeoplePurchasers")
    assert any("@" in person["email"] for person in salespeople)


def test_local_currency_left_out_when_company_seeded():
    service = create_app(records=0).state.bc
    usa, germany = (
        next(c["id"] for c in service.companies() if c["name"].startswith(prefix))
        for prefix in ("CRONUS USA", "CRONUS Deutschland")
    )

    usa_codes = {c["code"] for c in service.all(usa, "currencies")}
    german_codes = {c["code"] for c in service.all(germany, "currencies")}
    assert "USD" not in usa_codes
    assert "EUR" in usa_codes
    assert "EUR" not in german_codes
