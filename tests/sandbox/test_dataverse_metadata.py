"""Metadata and identity of the Dataverse emulator: EntityDefinitions, attributes, WhoAmI."""

from __future__ import annotations

import httpx
import pytest

from sandbox.dataverse import SandboxOptions, create_app

API = "/api/data/v9.2"


@pytest.fixture
async def client():
    app = create_app(
        seed=1, records=3, options=SandboxOptions(alternate_keys={"account": (("accountnumber",),)})
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dataverse.test"
    ) as http:
        http.app = app
        yield http


async def test_entity_definitions_resolve_entity_set_when_filtered_by_logical_name(client):
    response = await client.get(
        f"{API}/EntityDefinitions",
        params={
            "$select": "LogicalName,EntitySetName,PrimaryIdAttribute",
            "$filter": "LogicalName eq 'transactioncurrency'",
        },
    )

    body = response.json()
    assert body["@odata.context"].endswith(
        "$metadata#EntityDefinitions(LogicalName,EntitySetName,PrimaryIdAttribute)"
    )
    (item,) = body["value"]
    assert item["EntitySetName"] == "transactioncurrencies"
    assert item["PrimaryIdAttribute"] == "transactioncurrencyid"
    assert set(item) == {"LogicalName", "EntitySetName", "PrimaryIdAttribute", "MetadataId"}


async def test_entity_definitions_list_tracked_tables_when_filtered_on_change_tracking(client):
    response = await client.get(
        f"{API}/EntityDefinitions",
        params={"$select": "LogicalName", "$filter": "ChangeTrackingEnabled eq true"},
    )

    names = {item["LogicalName"] for item in response.json()["value"]}
    assert {"account", "contact", "transactioncurrency"} <= names
    assert "systemuser" not in names


async def test_entity_definition_by_key_and_unknown_property_answer_like_dataverse(client):
    single = await client.get(
        f"{API}/EntityDefinitions(LogicalName='contact')?$select=EntitySetName,PrimaryNameAttribute"
    )
    unknown = await client.get(f"{API}/EntityDefinitions?$select=Nonsense")
    missing = await client.get(f"{API}/EntityDefinitions(LogicalName='widget')")

    assert single.json()["PrimaryNameAttribute"] == "fullname"
    assert unknown.status_code == 400
    assert missing.status_code == 404


async def test_picklist_attributes_list_their_options_when_the_option_set_is_expanded(client):
    response = await client.get(
        f"{API}/EntityDefinitions(LogicalName='account')/Attributes"
        "/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        params={"$select": "LogicalName", "$expand": "OptionSet($select=Options)"},
    )

    attributes = {item["LogicalName"]: item for item in response.json()["value"]}
    expected = {"customertypecode", "paymenttermscode", "address1_shippingmethodcode"}
    assert expected <= set(attributes)
    options = attributes["customertypecode"]["OptionSet"]["Options"]
    labels = {option["Value"]: option["Label"]["UserLocalizedLabel"]["Label"] for option in options}
    assert (labels[3], labels[11]) == ("Customer", "Vendor")


async def test_attribute_definition_reports_max_length_and_lookup_targets(client):
    name = await client.get(
        f"{API}/EntityDefinitions(LogicalName='account')/Attributes(LogicalName='name')"
    )
    parent = await client.get(
        f"{API}/EntityDefinitions(LogicalName='contact')/Attributes",
        params={"$filter": "LogicalName eq 'parentcustomerid'"},
    )

    assert name.json()["MaxLength"] == 160
    (customer,) = parent.json()["value"]
    assert customer["AttributeType"] == "Customer"
    assert customer["Targets"] == ["account", "contact"]


async def test_keys_list_the_configured_alternate_keys(client):
    response = await client.get(f"{API}/EntityDefinitions(LogicalName='account')/Keys")

    assert [key["KeyAttributes"] for key in response.json()["value"]] == [["accountnumber"]]


async def test_alternate_key_addresses_a_row_when_configured(client):
    created = await client.patch(f"{API}/accounts(accountnumber='ALT-1')", json={"name": "Alt"})
    read = await client.get(f"{API}/accounts(accountnumber='ALT-1')?$select=name,accountnumber")
    undefined = await client.get(f"{API}/accounts(name='Alt')")

    assert created.status_code == 204
    assert read.json()["accountnumber"] == "ALT-1"
    assert undefined.status_code == 400


async def test_who_am_i_names_the_application_user_when_called(client):
    body = (await client.get(f"{API}/WhoAmI")).json()

    organization = client.app.state.dataverse.organization
    assert body["UserId"] == organization.caller_id
    assert body["@odata.context"].endswith("$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse")
    caller = client.app.state.dataverse.get("systemusers", body["UserId"])
    assert caller["applicationid"] is not None
    assert caller["accessmode"] == 4


async def test_metadata_document_marks_tracked_sets_when_annotations_are_asked(client):
    plain = await client.get(f"{API}/$metadata")
    annotated = await client.get(f"{API}/$metadata?annotations=true")

    marker = "Org.OData.Capabilities.V1.ChangeTracking"
    assert plain.headers["content-type"].startswith("application/xml")
    assert '<EntitySet Name="accounts"' in plain.text
    assert marker not in plain.text
    assert annotated.text.count(marker) == 4  # accounts, contacts, currencies, companies


async def test_wrong_method_answers_405(client):
    response = await client.delete(f"{API}/accounts")

    assert response.status_code == 405


async def test_organization_names_base_currency_when_read():
    app = create_app(seed=3, records=2)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dataverse.test") as client:
        response = await client.get("/api/data/v9.2/organizations?$select=_basecurrencyid_value")
    assert response.status_code == 200
    [organization] = response.json()["value"]
    base = organization["_basecurrencyid_value"]
    assert base == app.state.dataverse.organization.base_currency_id
    assert app.state.dataverse.get("transactioncurrencies", base) is not None
