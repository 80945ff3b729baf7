"""Reads of the BC emulator: routing, companies, query options, paging (api-contracts B1-B3, B7)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sandbox.business_central import create_app

API = "/v2.0/tenant-1/production/api/v2.0"
CUSTOM_API = "/v2.0/tenant-1/production/api/bcsync/integration/v1.0"
CORRELATION = re.compile(r"  CorrelationId:  [0-9a-f-]{36}\.$")


class StepClock:
    """A clock that moves one second per reading, so every write gets a later timestamp."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def client_for(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bc.test")


@pytest.fixture
async def client():
    app = create_app(seed=3, records=30, clock=StepClock())
    async with client_for(app) as http:
        http.app = app
        yield http


@pytest.fixture
async def company_id(client) -> str:
    return client.app.state.bc.company_ids()[0]


def assert_bc_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert CORRELATION.search(error["message"])
    return error["message"]


async def walk(client, url: str, page_size: int) -> tuple[list[dict], int]:
    rows: list[dict] = []
    pages = 0
    next_url: str | None = url
    while next_url is not None:
        response = await client.get(next_url, headers={"Prefer": f"odata.maxpagesize={page_size}"})
        assert response.status_code == 200, response.text
        body = response.json()
        rows.extend(body["value"])
        pages += 1
        next_url = body.get("@odata.nextLink")
    return rows, pages


async def test_companies_listed_with_v2_fields_when_two_companies_seeded(client):
    response = await client.get(f"{API}/companies")

    assert response.status_code == 200
    companies = response.json()["value"]
    assert len(companies) == 2
    assert set(companies[0]) >= {"@odata.etag", "id", "name", "displayName", "systemVersion"}
    assert response.json()["@odata.context"].endswith("/api/v2.0/$metadata#companies")


async def test_same_rows_served_when_tenant_segment_omitted(client, company_id):
    with_tenant = await client.get(f"{API}/companies({company_id})/currencies")
    without_tenant = await client.get(
        f"/v2.0/production/api/v2.0/companies({company_id})/currencies"
    )

    assert without_tenant.status_code == 200
    assert without_tenant.json()["value"] == with_tenant.json()["value"]


async def test_company_query_option_scopes_like_path_when_company_given_as_parameter(
    client, company_id
):
    by_path = await client.get(f"{API}/companies({company_id})/customers")
    by_option = await client.get(f"{API}/customers", params={"company": company_id})

    assert by_option.json()["value"] == by_path.json()["value"]


async def test_company_not_found_when_entity_set_has_no_company(client):
    response = await client.get(f"{API}/customers")

    assert_bc_error(response, 404, "Internal_CompanyNotFound")


async def test_companies_hold_separate_rows_when_read_per_company(client):
    first, second = client.app.state.bc.company_ids()

    rows_first = (await client.get(f"{API}/companies({first})/customers")).json()["value"]
    rows_second = (await client.get(f"{API}/companies({second})/customers")).json()["value"]

    assert {r["id"] for r in rows_first}.isdisjoint({r["id"] for r in rows_second})
    missing = await client.get(f"{API}/companies({second})/customers({rows_first[0]['id']})")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("entity_set", "fields"),
    [
        pytest.param("customers", {"number", "displayName", "currencyCode", "currencyId",
                                   "salespersonCode", "blocked", "balanceDue", "paymentTermsId"},
                     id="customers"),
        pytest.param("vendors", {"number", "displayName", "blocked", "balance", "irs1099Code"},
                     id="vendors"),
        pytest.param("contacts", {"number", "type", "companyNumber", "companyName",
                                  "contactBusinessRelation", "lastInteractionDate"}, id="contacts"),
        pytest.param("currencies", {"code", "displayName", "symbol", "amountDecimalPlaces",
                                    "amountRoundingPrecision"}, id="currencies"),
        pytest.param("salespeoplePurchasers", {"code", "displayName", "email", "email2",
                                               "phoneNo", "commisionPercent", "blocked"},
                     id="salespeople"),
        pytest.param("paymentTerms", {"code", "displayName", "dueDateCalculation",
                                      "discountDateCalculation", "discountPercent",
                                      "calculateDiscountOnCreditMemos"}, id="payment-terms"),
        pytest.param("shipmentMethods", {"code", "displayName"}, id="shipment-methods"),
    ],
)  # fmt: skip
async def test_rows_carry_v2_field_names_when_entity_set_listed(
    client, company_id, entity_set, fields
):
    response = await client.get(f"{API}/companies({company_id})/{entity_set}")

    assert response.status_code == 200
    row = response.json()["value"][0]
    assert set(row) >= fields | {"@odata.etag", "id", "lastModifiedDateTime"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row["lastModifiedDateTime"])
    assert re.fullmatch(r'W/"[A-Za-z0-9+/=]+"', row["@odata.etag"])


async def test_shipping_agents_served_when_custom_api_route_used(client, company_id):
    response = await client.get(f"{CUSTOM_API}/companies({company_id})/shippingAgents")

    assert response.status_code == 200
    codes = {row["code"] for row in response.json()["value"]}
    assert {"DHL", "FEDEX", "UPS"} <= codes
    assert set(response.json()["value"][0]) == {
        "@odata.etag", "id", "code", "name", "lastModifiedDateTime"
    }  # fmt: skip


async def test_resource_not_found_when_shipping_agents_asked_on_standard_api(client, company_id):
    response = await client.get(f"{API}/companies({company_id})/shippingAgents")

    assert_bc_error(response, 404, "BadRequest_ResourceNotFound")


async def test_record_returned_with_etag_header_when_read_by_id(client, company_id):
    listed = (await client.get(f"{API}/companies({company_id})/vendors")).json()["value"][0]

    response = await client.get(f"{API}/companies({company_id})/vendors({listed['id']})")

    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith("/vendors/$entity")
    assert {k: v for k, v in body.items() if k != "@odata.context"} == listed
    assert response.headers["ETag"] == listed["@odata.etag"]


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [
        pytest.param("6f1f3f0e-0000-4000-8000-000000000001", 404, "Internal_RecordNotFound",
                     id="unknown-guid"),
        pytest.param("not-a-guid", 400, "BadRequest_NotFound", id="malformed-key"),
    ],
)  # fmt: skip
async def test_error_shape_when_record_id_does_not_resolve(client, company_id, key, status, code):
    response = await client.get(f"{API}/companies({company_id})/customers({key})")

    assert_bc_error(response, status, code)


async def test_only_selected_fields_returned_when_select_given(client, company_id):
    response = await client.get(
        f"{API}/companies({company_id})/customers", params={"$select": "number,displayName"}
    )

    assert response.status_code == 200
    assert response.json()["@odata.context"].endswith("/customers(number,displayName)")
    assert set(response.json()["value"][0]) == {"@odata.etag", "number", "displayName"}


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"$select": "number,nickname"}, id="select"),
        pytest.param({"$orderby": "nickname desc"}, id="orderby"),
        pytest.param({"$filter": "nickname eq 'x'"}, id="filter"),
    ],
)
async def test_bad_request_when_query_names_unknown_property(client, company_id, params):
    response = await client.get(f"{API}/companies({company_id})/customers", params=params)

    message = assert_bc_error(response, 400, "BadRequest")
    assert "nickname" in message


async def test_rows_sorted_by_each_term_when_orderby_has_two_fields(client, company_id):
    response = await client.get(
        f"{API}/companies({company_id})/customers",
        params={"$orderby": "type desc,displayName asc"},
    )

    rows = response.json()["value"]
    keys = [(r["type"], r["displayName"].casefold()) for r in rows]
    persons = [k for k in keys if k[0] == "Person"]
    companies = [k for k in keys if k[0] == "Company"]
    assert keys == persons + companies
    assert persons == sorted(persons)
    assert companies == sorted(companies)


async def test_rows_in_number_order_when_no_orderby_given(client, company_id):
    rows = (await client.get(f"{API}/companies({company_id})/customers")).json()["value"]

    numbers = [r["number"] for r in rows]
    assert numbers == sorted(numbers)
    assert numbers[:3] == ["C00010", "C00020", "C00030"]


async def test_window_of_rows_returned_when_top_and_skip_given(client, company_id):
    url = f"{API}/companies({company_id})/customers"
    everything = (await client.get(url)).json()["value"]

    response = await client.get(url, params={"$skip": "5", "$top": "4"})

    assert [r["id"] for r in response.json()["value"]] == [r["id"] for r in everything[5:9]]
    assert "@odata.nextLink" not in response.json()


@pytest.mark.parametrize("option", ["$top", "$skip"])
async def test_bad_request_when_count_option_negative(client, company_id, option):
    response = await client.get(f"{API}/companies({company_id})/customers", params={option: "-1"})

    assert_bc_error(response, 400, "BadRequest")


@pytest.mark.parametrize(
    ("operator", "includes_boundary"),
    [pytest.param("ge", True, id="ge-includes-boundary"),
     pytest.param("gt", False, id="gt-excludes-boundary")],
)  # fmt: skip
async def test_rows_modified_since_returned_when_filtering_on_last_modified(
    client, company_id, operator, includes_boundary
):
    url = f"{API}/companies({company_id})/customers"
    rows = sorted((await client.get(url)).json()["value"], key=lambda r: r["lastModifiedDateTime"])
    boundary = rows[10]["lastModifiedDateTime"]

    response = await client.get(
        url, params={"$filter": f"lastModifiedDateTime {operator} {boundary}"}
    )

    found = {r["id"] for r in response.json()["value"]}
    newer = {r["id"] for r in rows if r["lastModifiedDateTime"] > boundary}
    assert found == newer | ({rows[10]["id"]} if includes_boundary else set())


async def test_or_refused_when_it_spans_distinct_fields(client, company_id):
    response = await client.get(
        f"{API}/companies({company_id})/customers",
        params={"$filter": "number eq 'C00010' or displayName eq 'x'"},
    )

    message = assert_bc_error(response, 400, "BadRequest")
    assert "The 'OR' operator is not supported on distinct fields" in message


async def test_or_accepted_when_it_stays_on_one_field(client, company_id):
    response = await client.get(
        f"{API}/companies({company_id})/customers",
        params={"$filter": "number eq 'C00010' or number eq 'C00030'"},
    )

    assert response.status_code == 200
    assert sorted(r["number"] for r in response.json()["value"]) == ["C00010", "C00030"]


async def test_bad_request_when_filter_has_syntax_error(client, company_id):
    response = await client.get(
        f"{API}/companies({company_id})/customers", params={"$filter": "number eq"}
    )

    assert_bc_error(response, 400, "BadRequest")


async def test_rows_matched_when_filtering_on_guid_field(client, company_id):
    url = f"{API}/companies({company_id})/customers"
    rows = (await client.get(url)).json()["value"]
    target = next(r["paymentTermsId"] for r in rows if r["paymentTermsId"][0] != "0")

    response = await client.get(url, params={"$filter": f"paymentTermsId eq {target}"})

    found = response.json()["value"]
    assert found
    assert {r["id"] for r in found} == {r["id"] for r in rows if r["paymentTermsId"] == target}


ABSENT_ID = "00000000-0000-4000-8000-0000000000ff"


@pytest.mark.parametrize(
    ("options", "page_size", "expected_count"),
    [
        pytest.param({}, 2, 5, id="primary key order in pages of two"),
        pytest.param({"$orderby": "displayName desc"}, 2, 5, id="ordered by name in pages of two"),
        pytest.param({"$top": "3"}, 2, 3, id="top spread over pages"),
        pytest.param({"$skip": "1", "$select": "id,number"}, 50, 4, id="skip and select"),
    ],
)
async def test_by_id_filter_returns_the_rows_of_a_scan_when_it_names_only_ids(
    client, company_id, options, page_size, expected_count
):
    url = f"{API}/companies({company_id})/customers"
    everyone = (await client.get(url)).json()["value"]
    wanted = [everyone[index]["id"] for index in (7, 2, 19, 11, 4)]
    named = [wanted[0].upper(), *wanted[1:], ABSENT_ID]
    by_ids = " or ".join(f"id eq {record_id}" for record_id in named)
    # The extra condition changes nothing but keeps the filter from naming only ids.
    scanned = f"({by_ids}) and number ne 'zzz'"

    found, found_pages = await walk(client, _with(url, options, by_ids), page_size)
    expected, expected_pages = await walk(client, _with(url, options, scanned), page_size)

    assert found == expected
    assert found_pages == expected_pages
    assert len(found) == expected_count
    assert {row["id"] for row in found} <= set(wanted)


def _with(url: str, options: dict[str, str], filter_text: str) -> str:
    return str(httpx.URL(url, params={**options, "$filter": filter_text}))


async def test_shipping_agent_created_when_posted_to_custom_api(client, company_id):
    url = f"{CUSTOM_API}/companies({company_id})/shippingAgents"

    response = await client.post(url, json={"code": "gls", "name": "GLS Denmark"})

    assert response.status_code == 201
    assert response.json()["code"] == "GLS"
    assert response.json()["@odata.context"].endswith(
        f"/api/bcsync/integration/v1.0/$metadata#companies({company_id})/shippingAgents/$entity"
    )
