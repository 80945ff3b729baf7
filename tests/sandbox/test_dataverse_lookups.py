"""Lookups of the Dataverse emulator: `@odata.bind`, `_x_value`, annotations (A2, A5)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from sandbox.dataverse import create_app

API = "/api/data/v9.2"
ALL_ANNOTATIONS = {"Prefer": 'odata.include-annotations="*"'}


@pytest.fixture
async def client():
    app = create_app(seed=5, records=8)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dataverse.test"
    ) as http:
        http.app = app
        yield http


async def create(client, entity_set: str, body: dict) -> str:
    response = await client.post(f"{API}/{entity_set}", json=body)
    assert response.status_code == 204, response.text
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


async def read(client, entity_set: str, row_id: str, select: str) -> dict:
    response = await client.get(
        f"{API}/{entity_set}({row_id})?$select={select}", headers=ALL_ANNOTATIONS
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_bind_sets_lookup_read_as_value_with_annotations_when_binding_a_contact(client):
    contact_id = await create(client, "contacts", {"firstname": "Ada", "lastname": "Byron"})
    account_id = await create(
        client,
        "accounts",
        {"name": "Acme", "primarycontactid@odata.bind": f"/contacts({contact_id})"},
    )

    row = await read(client, "accounts", account_id, "_primarycontactid_value")

    assert row["_primarycontactid_value"] == contact_id
    prefix = "_primarycontactid_value@"
    assert row[prefix + "Microsoft.Dynamics.CRM.lookuplogicalname"] == "contact"
    assert row[prefix + "Microsoft.Dynamics.CRM.associatednavigationproperty"] == "primarycontactid"
    assert row[prefix + "OData.Community.Display.V1.FormattedValue"] == "Ada Byron"


@pytest.mark.parametrize(
    ("navigation", "entity_set", "logical_name"),
    [
        ("parentcustomerid_account", "accounts", "account"),
        ("parentcustomerid_contact", "contacts", "contact"),
    ],
    ids=["parent-account", "parent-contact"],
)
async def test_polymorphic_bind_records_target_table_when_binding_parent_customer(
    client, navigation, entity_set, logical_name
):
    parent_id = await create(
        client, entity_set, {"name": "P"} if entity_set == "accounts" else {"lastname": "P"}
    )
    contact_id = await create(
        client,
        "contacts",
        {"lastname": "Child", f"{navigation}@odata.bind": f"/{entity_set}({parent_id})"},
    )

    row = await read(client, "contacts", contact_id, "_parentcustomerid_value")

    assert row["_parentcustomerid_value"] == parent_id
    assert row["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == logical_name
    assert (
        row["_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"]
        == navigation
    )


@pytest.mark.parametrize("owner_set", ["systemusers", "teams"], ids=["user-owner", "team-owner"])
async def test_owner_bind_accepts_users_and_teams_when_assigning_ownerid(client, owner_set):
    owner_id = client.app.state.dataverse.all(owner_set)[0][owner_set[:-1] + "id"]
    account_id = await create(
        client, "accounts", {"name": "Owned", "ownerid@odata.bind": f"/{owner_set}({owner_id})"}
    )

    row = await read(client, "accounts", account_id, "_ownerid_value")

    assert row["_ownerid_value"] == owner_id
    assert row["_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == owner_set[:-1]


async def test_bind_answers_404_does_not_exist_when_the_target_row_is_missing(client):
    missing = str(uuid.uuid4())

    response = await client.post(
        f"{API}/accounts",
        json={"name": "x", "primarycontactid@odata.bind": f"/contacts({missing})"},
    )

    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "0x80040217",
        "message": f"contact With Id = {missing} Does Not Exist",
    }


async def test_bind_answers_400_when_the_target_table_does_not_match_the_lookup(client):
    account_id = await create(client, "accounts", {"name": "a"})

    response = await client.post(
        f"{API}/accounts",
        json={"name": "x", "primarycontactid@odata.bind": f"/accounts({account_id})"},
    )

    assert response.status_code == 400


async def test_bind_answers_400_when_the_navigation_property_is_undeclared(client):
    parent = "/accounts(00000000-0000-0000-0000-000000000001)"
    response = await client.post(
        f"{API}/contacts", json={"lastname": "x", "parentcustomerid@odata.bind": parent}
    )

    assert response.status_code == 400
    assert "undeclared property 'parentcustomerid'" in response.json()["error"]["message"]


async def test_writing_value_property_directly_is_refused_when_binding_is_required(client):
    response = await client.post(f"{API}/accounts", json={"_ownerid_value": str(uuid.uuid4())})

    assert response.status_code == 400


async def test_bind_accepts_absolute_urls_and_null_clears_the_lookup(client):
    contact_id = await create(client, "contacts", {"lastname": "L"})
    absolute = f"http://dataverse.test/api/data/v9.2/contacts({contact_id})"
    account_id = await create(client, "accounts", {"primarycontactid@odata.bind": absolute})

    await client.patch(
        f"{API}/accounts({account_id})",
        json={"primarycontactid@odata.bind": None},
        headers={"If-Match": "*"},
    )

    assert client.app.state.dataverse.get("accounts", account_id)["_primarycontactid_value"] is None


async def test_ref_delete_disassociates_when_removing_a_parent_customer(client):
    parent = await create(client, "accounts", {"name": "p"})
    child = await create(
        client,
        "contacts",
        {"lastname": "c", "parentcustomerid_account@odata.bind": f"/accounts({parent})"},
    )

    response = await client.delete(f"{API}/contacts({child})/parentcustomerid_account/$ref")

    assert response.status_code == 204
    assert client.app.state.dataverse.get("contacts", child)["_parentcustomerid_value"] is None


async def test_deleting_a_target_clears_lookups_that_point_to_it(client):
    contact_id = await create(client, "contacts", {"lastname": "gone"})
    account_id = await create(
        client, "accounts", {"primarycontactid@odata.bind": f"/contacts({contact_id})"}
    )
    before = client.app.state.dataverse.get("accounts", account_id)["versionnumber"]

    await client.delete(f"{API}/contacts({contact_id})")

    after = client.app.state.dataverse.get("accounts", account_id)
    assert after["_primarycontactid_value"] is None
    assert after["versionnumber"] > before


async def test_formatted_values_label_choices_money_and_dates_when_annotations_are_asked(client):
    account_id = await create(
        client,
        "accounts",
        {"name": "F", "customertypecode": 11, "creditlimit": 20000, "paymenttermscode": 1},
    )

    row = await read(
        client,
        "accounts",
        account_id,
        "customertypecode,creditlimit,paymenttermscode,modifiedon,statecode",
    )

    formatted = "@OData.Community.Display.V1.FormattedValue"
    assert row["customertypecode" + formatted] == "Vendor"
    assert row["paymenttermscode" + formatted] == "Net 30"
    assert row["statecode" + formatted] == "Active"
    assert row["creditlimit" + formatted].endswith("20,000.00")
    assert row["_transactioncurrencyid_value"]  # money columns bring their currency
    assert row["modifiedon" + formatted].count("/") == 2


async def test_annotations_are_absent_when_not_requested(client):
    account_id = await create(client, "accounts", {"name": "plain", "customertypecode": 3})

    row = (await client.get(f"{API}/accounts({account_id})?$select=customertypecode")).json()

    assert not any("@OData" in key or "@Microsoft" in key for key in row)


async def test_expand_returns_the_related_row_when_expanding_a_lookup(client):
    contact_id = await create(client, "contacts", {"firstname": "E", "lastname": "X"})
    account_id = await create(
        client, "accounts", {"primarycontactid@odata.bind": f"/contacts({contact_id})"}
    )

    response = await client.get(
        f"{API}/accounts({account_id})?$select=name&$expand=primarycontactid($select=fullname)"
    )

    assert response.json()["primarycontactid"]["fullname"] == "E X"
