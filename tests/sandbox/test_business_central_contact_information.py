"""BC emulator business relations: seeded, made with customers, read as contactsInformation."""

from __future__ import annotations

import httpx
import pytest

from sandbox.business_central import create_app
from tests.sandbox.test_business_central_writes import API, StepClock, assert_bc_error

COMPANY_ONLY = "contactsInformation($filter=contactType eq 'Company')"


@pytest.fixture
async def client():
    app = create_app(seed=3, records=12, clock=StepClock())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bc.test") as http:
        http.app = app
        yield http


@pytest.fixture
def service(client):
    return client.app.state.bc


@pytest.fixture
def company_id(service) -> str:
    return service.company_ids()[0]


@pytest.fixture
def base(company_id) -> str:
    return f"{API}/companies({company_id})"


def working_customer(service, company_id) -> dict:
    """A company customer whose company contact has people."""
    contacts = service.all(company_id, "contacts")
    for customer in service.all(company_id, "customers"):
        company = service.related_contact(company_id, customer["id"])
        if company["type"] == "Company" and any(
            c["companyNumber"] == company["number"] and c["type"] == "Person" for c in contacts
        ):
            return customer
    raise AssertionError("the seed gave no customer's company any people")


async def test_company_contact_and_its_people_listed_when_customer_navigated(
    client, service, company_id, base
):
    customer = working_customer(service, company_id)
    company = service.related_contact(company_id, customer["id"])

    response = await client.get(f"{base}/customers({customer['id']})/contactsInformation")

    assert response.status_code == 200, response.text
    rows = response.json()["value"]
    assert rows[0] == {
        "contactId": company["id"],
        "contactNumber": company["number"],
        "contactName": company["displayName"],
        "contactType": "Company",
        "relatedId": customer["id"],
        "relatedType": "Customer",
    }
    people = [row for row in rows[1:] if row["contactType"] == "Person"]
    assert people
    assert len(people) == len(rows) - 1
    for row in people:
        person = service.get(company_id, "contacts", row["contactId"])
        assert person["companyNumber"] == company["number"]


async def test_every_customer_and_vendor_has_a_related_contact_when_seeded(service, company_id):
    for entity_set, relation in (("customers", "Customer"), ("vendors", "Vendor")):
        for record in service.all(company_id, entity_set):
            contact = service.related_contact(company_id, record["id"])
            assert contact["displayName"] == record["displayName"]
            assert contact["contactBusinessRelation"] == relation
            assert contact["type"] == record.get("type", "Company")


async def test_company_contacts_of_a_page_expanded_in_one_read_when_asked(
    client, service, company_id, base
):
    response = await client.get(
        f"{base}/vendors",
        params={"$select": "id,number", "$expand": COMPANY_ONLY},
        headers={"Prefer": "odata.maxpagesize=5"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert "@odata.nextLink" in body
    for row in body["value"]:
        assert set(row) == {"@odata.etag", "id", "number", "contactsInformation"}
        [company] = row["contactsInformation"]
        assert company["contactType"] == "Company"
        assert company["contactId"] == service.related_contact(company_id, row["id"])["id"]
    following = await client.get(body["@odata.nextLink"])
    assert following.json()["value"][0]["contactsInformation"]


async def test_nested_select_applied_when_expanded_on_one_customer(
    client, service, company_id, base
):
    customer = working_customer(service, company_id)

    response = await client.get(
        f"{base}/customers({customer['id']})",
        params={
            "$expand": "contactsInformation($filter=contactType eq 'Company';$select=contactNumber)"
        },
    )

    assert response.status_code == 200, response.text
    number = service.related_contact(company_id, customer["id"])["number"]
    assert response.json()["contactsInformation"] == [{"contactNumber": number}]


async def test_nothing_listed_when_relation_dropped(client, service, company_id, base):
    customer = working_customer(service, company_id)
    service.unrelate(company_id, customer["id"])

    response = await client.get(f"{base}/customers({customer['id']})/contactsInformation")

    assert response.json()["value"] == []


async def test_relation_follows_when_contact_related_to_another_vendor(
    client, service, company_id, base
):
    vendor = service.all(company_id, "vendors")[0]
    prospect = service.seed(company_id, "contacts", 1)[0]
    prospect = service.edit(company_id, "contacts", prospect["id"], {"type": "Company"})

    service.relate(company_id, prospect["id"], "vendors", vendor["id"])
    response = await client.get(f"{base}/vendors({vendor['id']})/contactsInformation")

    assert response.json()["value"][0]["contactId"] == prospect["id"]
    assert response.json()["value"][0]["relatedType"] == "Vendor"


async def test_customer_gets_its_company_contact_when_created_through_the_api(
    client, service, company_id, base
):
    created = await client.post(
        f"{base}/customers", json={"displayName": "Fjord Fisk AS", "city": "Bergen"}
    )

    customer = created.json()
    rows = (await client.get(f"{base}/customers({customer['id']})/contactsInformation")).json()
    [company] = rows["value"]
    contact = service.get(company_id, "contacts", company["contactId"])
    assert (contact["type"], contact["displayName"], contact["city"]) == (
        "Company",
        "Fjord Fisk AS",
        "Bergen",
    )
    assert contact["companyNumber"] == contact["number"]


async def test_relation_gone_when_customer_deleted(client, service, company_id, base):
    customer = working_customer(service, company_id)

    await client.delete(f"{base}/customers({customer['id']})", headers={"If-Match": "*"})

    assert service.related_contact(company_id, customer["id"]) is None


async def test_company_level_read_answers_when_related_id_and_type_filtered(
    client, service, company_id, base
):
    vendor = service.all(company_id, "vendors")[1]
    wanted = f"relatedId eq {vendor['id']} and relatedType eq 'Vendor'"

    response = await client.get(f"{base}/contactsInformation", params={"$filter": wanted})

    assert response.status_code == 200, response.text
    assert {row["relatedId"] for row in response.json()["value"]} == {vendor["id"]}


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="no filter"),
        pytest.param({"$filter": "contactType eq 'Company'"}, id="no related id and type"),
    ],
)
async def test_company_level_read_refused_when_related_id_or_type_missing(client, base, params):
    response = await client.get(f"{base}/contactsInformation", params=params)

    message = assert_bc_error(response, 400, "Application_DialogException")
    assert "id type not specified." in message


@pytest.mark.parametrize(
    ("path", "params"),
    [
        pytest.param("currencies", {"$expand": "contactsInformation"}, id="not on currencies"),
        pytest.param("customers", {"$expand": "picture"}, id="unknown navigation"),
        pytest.param("customers", {"$expand": COMPANY_ONLY[:-1] + ";$top=1)"}, id="nested top"),
        pytest.param(
            "customers",
            {"$expand": "contactsInformation($filter=email eq 'x')"},
            id="unknown nested field",
        ),
    ],
)
async def test_expand_refused_when_not_served(client, base, path, params):
    response = await client.get(f"{base}/{path}", params=params)

    assert_bc_error(response, 400, "BadRequest")


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
async def test_writes_refused_when_sent_to_contact_information(client, service, base, method):
    customer = service.all(service.company_ids()[0], "customers")[0]

    response = await client.request(
        method,
        f"{base}/customers({customer['id']})/contactsInformation",
        json={"contactNumber": "X"},
        headers={"If-Match": "*"},
    )

    assert_bc_error(response, 405, "BadRequest_MethodNotAllowed")
