"""Single-row writes and reads of the Dataverse emulator: A4 status codes, ETags, validation."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sandbox.dataverse import SandboxOptions, create_app

API = "/api/data/v9.2"


class StepClock:
    """Moves one second per reading, so every write gets a later `modifiedon`."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
async def client():
    app = create_app(seed=3, records=10, clock=StepClock())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dataverse.test"
    ) as http:
        http.app = app
        yield http


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    return error["message"]


async def create_account(client, **values) -> str:
    response = await client.post(f"{API}/accounts", json={"name": "Contoso", **values})
    assert response.status_code == 204, response.text
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


async def test_create_answers_204_with_entity_id_when_no_representation_is_asked(client):
    response = await client.post(f"{API}/accounts", json={"name": "Contoso"})

    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["OData-EntityId"].startswith(
        "http://dataverse.test/api/data/v9.2/accounts("
    )


async def test_create_keeps_the_client_id_when_the_body_has_the_primary_key(client):
    chosen = str(uuid.uuid4())

    response = await client.post(f"{API}/accounts", json={"accountid": chosen, "name": "A"})

    assert response.headers["OData-EntityId"].endswith(f"accounts({chosen})")
    assert client.app.state.dataverse.get("accounts", chosen)["name"] == "A"


async def test_create_answers_412_duplicate_when_the_client_id_exists(client):
    existing = await create_account(client)

    response = await client.post(f"{API}/accounts", json={"accountid": existing, "name": "B"})

    assert_error(response, 412, "0x80040237")


async def test_create_returns_201_and_the_selected_row_when_representation_is_preferred(client):
    response = await client.post(
        f"{API}/accounts?$select=name",
        json={"name": "Fabrikam"},
        headers={"Prefer": "return=representation"},
    )

    assert response.status_code == 201
    assert response.headers["Preference-Applied"] == "return=representation"
    assert "OData-EntityId" not in response.headers
    body = response.json()
    assert set(body) == {"@odata.context", "@odata.etag", "name", "accountid"}
    assert body["@odata.context"].endswith("$metadata#accounts(name)/$entity")


async def test_get_by_id_returns_the_row_with_system_columns_when_no_select(client):
    row_id = await create_account(client, accountnumber="C1")

    body = (await client.get(f"{API}/accounts({row_id})")).json()

    assert body["accountid"] == row_id
    assert body["accountnumber"] == "C1"
    assert body["@odata.etag"] == f'W/"{body["versionnumber"]}"'
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["modifiedon"])
    assert body["_ownerid_value"] == client.app.state.dataverse.organization.caller_id


async def test_get_by_id_answers_404_with_dataverse_message_when_the_row_is_missing(client):
    missing = str(uuid.uuid4())

    message = assert_error(await client.get(f"{API}/accounts({missing})"), 404, "0x80040217")

    assert message == f"account With Id = {missing} Does Not Exist"


async def test_get_by_id_answers_304_when_if_none_match_holds_the_current_etag(client):
    row_id = await create_account(client)
    etag = (await client.get(f"{API}/accounts({row_id})")).json()["@odata.etag"]

    response = await client.get(f"{API}/accounts({row_id})", headers={"If-None-Match": etag})

    assert response.status_code == 304


async def test_etag_changes_on_every_write_when_a_row_is_updated_twice(client):
    row_id = await create_account(client)
    seen = []
    for phone in ("1", "2"):
        await client.patch(
            f"{API}/accounts({row_id})", json={"telephone1": phone}, headers={"If-Match": "*"}
        )
        seen.append((await client.get(f"{API}/accounts({row_id})")).json())

    assert seen[0]["@odata.etag"] != seen[1]["@odata.etag"]
    assert seen[0]["modifiedon"] < seen[1]["modifiedon"]


@pytest.mark.parametrize(
    ("headers", "exists", "status"),
    [
        ({}, False, 204),
        ({}, True, 204),
        ({"If-Match": "*"}, True, 204),
        ({"If-Match": "*"}, False, 404),
        ({"If-None-Match": "*"}, False, 204),
        ({"If-None-Match": "*"}, True, 412),
        ({"If-None-Match": "null"}, False, 204),
    ],
    ids=[
        "upsert-creates",
        "upsert-updates",
        "update-only-updates",
        "update-only-missing-404",
        "create-only-creates",
        "create-only-existing-412",
        "if-none-match-null-is-ignored",
    ],
)
async def test_patch_follows_upsert_rules_when_conditions_vary(client, headers, exists, status):
    row_id = await create_account(client) if exists else str(uuid.uuid4())

    response = await client.patch(f"{API}/accounts({row_id})", json={"fax": "12"}, headers=headers)

    assert response.status_code == status, response.text
    stored = client.app.state.dataverse.get("accounts", row_id)
    assert (stored is not None and stored["fax"] == "12") is (status == 204)


async def test_patch_returns_201_or_200_with_representation_when_creating_or_updating(client):
    row_id = str(uuid.uuid4())
    prefer = {"Prefer": "return=representation"}

    created = await client.patch(
        f"{API}/accounts({row_id})?$select=name", json={"name": "N"}, headers=prefer
    )
    updated = await client.patch(
        f"{API}/accounts({row_id})?$select=name", json={"name": "M"}, headers=prefer
    )

    assert (created.status_code, updated.status_code) == (201, 200)
    assert updated.json()["name"] == "M"


async def test_patch_answers_412_when_if_match_holds_a_stale_etag(client):
    row_id = await create_account(client)
    stale = (await client.get(f"{API}/accounts({row_id})")).json()["@odata.etag"]
    await client.patch(f"{API}/accounts({row_id})", json={"fax": "1"}, headers={"If-Match": "*"})

    response = await client.patch(
        f"{API}/accounts({row_id})", json={"fax": "2"}, headers={"If-Match": stale}
    )

    assert_error(response, 412, "0x80060882")
    assert client.app.state.dataverse.get("accounts", row_id)["fax"] == "1"


async def test_delete_answers_204_then_404_when_the_row_is_deleted_twice(client):
    row_id = await create_account(client)

    first = await client.delete(f"{API}/accounts({row_id})")
    second = await client.delete(f"{API}/accounts({row_id})")

    assert first.status_code == 204
    assert_error(second, 404, "0x80040217")


async def test_delete_answers_412_when_if_match_is_stale(client):
    row_id = await create_account(client)

    response = await client.delete(f"{API}/accounts({row_id})", headers={"If-Match": 'W/"1"'})

    assert_error(response, 412, "0x80060882")


async def test_write_answers_400_with_dataverse_message_when_a_column_is_unknown(client):
    response = await client.post(f"{API}/accounts", json={"nam": "x"})

    message = assert_error(response, 400, "")
    assert message == (
        "The property 'nam' does not exist on type 'Microsoft.Dynamics.CRM.account'."
        " Make sure to only use property names that are defined by the type."
    )


async def test_write_answers_400_when_the_body_sets_a_read_only_column(client):
    response = await client.post(f"{API}/accounts", json={"name": "x", "versionnumber": 5})

    assert_error(response, 400, "0x80040203")


async def test_write_ignores_read_only_columns_when_configured_to():
    app = create_app(records=0, options=SandboxOptions(read_only_columns="ignore"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dataverse.test"
    ) as other:
        response = await other.post(
            f"{API}/accounts",
            json={"name": "x", "address1_composite": "z"},
            headers={"Prefer": "return=representation"},
        )

    assert response.status_code == 201
    assert response.json()["address1_composite"] is None


@pytest.mark.parametrize(
    ("column", "limit"),
    [("name", 160), ("accountnumber", 20), ("address1_city", 80), ("emailaddress1", 100)],
    ids=["name-160", "accountnumber-20", "city-80", "email-100"],
)
async def test_write_answers_length_error_when_a_string_exceeds_its_max_length(
    client, column, limit
):
    accepted = await client.post(f"{API}/accounts", json={column: "x" * limit})
    refused = await client.post(f"{API}/accounts", json={column: "x" * (limit + 1)})

    assert accepted.status_code == 204
    message = assert_error(refused, 400, "0x80044331")
    assert message == (
        f"A validation error occurred.  The length of the '{column}' attribute of"
        f" the 'account' entity exceeded the maximum allowed length of '{limit}'."
    )


async def test_write_counts_an_emoji_as_two_characters_when_checking_lengths(client):
    response = await client.post(f"{API}/accounts", json={"accountnumber": "a" * 19 + "😀"})

    assert_error(response, 400, "0x80044331")


async def test_write_answers_400_when_a_choice_value_is_outside_the_valid_range(client):
    response = await client.post(f"{API}/accounts", json={"customertypecode": 99})

    assert "outside the valid range" in assert_error(response, 400, "0x8004431a")


async def test_write_answers_400_when_a_value_has_the_wrong_type(client):
    response = await client.post(f"{API}/accounts", json={"creditlimit": "lots"})

    assert response.status_code == 400


async def test_write_stores_null_when_a_string_column_is_sent_empty(client):
    row_id = await create_account(client, telephone1="")

    assert client.app.state.dataverse.get("accounts", row_id)["telephone1"] is None


async def test_statecode_on_create_is_refused_and_patching_it_sets_the_status(client):
    refused = await client.post(f"{API}/accounts", json={"name": "x", "statecode": 1})
    row_id = await create_account(client)
    await client.patch(
        f"{API}/accounts({row_id})", json={"statecode": 1}, headers={"If-Match": "*"}
    )

    assert refused.status_code == 400
    row = client.app.state.dataverse.get("accounts", row_id)
    assert (row["statecode"], row["statuscode"]) == (1, 2)


async def test_server_composes_fullname_and_address_when_parts_are_written(client):
    contact = await client.post(
        f"{API}/contacts",
        json={"firstname": "Ada", "lastname": "Byron"},
        headers={"Prefer": "return=representation"},
    )
    account_id = await create_account(
        client, address1_line1="1 Main St", address1_city="Oslo", address1_country="Norway"
    )

    assert contact.json()["fullname"] == "Ada Byron"
    composite = client.app.state.dataverse.get("accounts", account_id)["address1_composite"]
    assert composite == "1 Main St\r\nOslo\r\nNorway"


async def test_single_property_put_and_delete_change_one_column(client):
    row_id = await create_account(client, telephone1="1")

    put = await client.put(f"{API}/accounts({row_id})/telephone1", json={"value": "2"})
    read = await client.get(f"{API}/accounts({row_id})/telephone1")
    cleared = await client.delete(f"{API}/accounts({row_id})/telephone1")

    assert (put.status_code, cleared.status_code) == (204, 204)
    assert read.json()["value"] == "2"
    assert client.app.state.dataverse.get("accounts", row_id)["telephone1"] is None


async def test_unknown_entity_set_answers_404(client):
    response = await client.get(f"{API}/widgets")

    assert response.status_code == 404
    assert "error" in response.json()
