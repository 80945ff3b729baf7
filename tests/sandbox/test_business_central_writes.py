"""Writes of the BC emulator: POST/PATCH/DELETE, If-Match, validation, relations (B2, B4, B8)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sandbox.business_central import EmulatorConfig, create_app

API = "/v2.0/tenant-1/production/api/v2.0"
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
    app = create_app(seed=7, records=12, clock=StepClock())
    async with client_for(app) as http:
        http.app = app
        yield http


@pytest.fixture
def company_id(client) -> str:
    return client.app.state.bc.company_ids()[0]


@pytest.fixture
def base(company_id) -> str:
    return f"{API}/companies({company_id})"


def assert_bc_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert CORRELATION.search(error["message"])
    return error["message"]


async def first_row(client, url: str) -> dict:
    return (await client.get(url)).json()["value"][0]


async def test_created_with_full_body_and_next_number_when_customer_posted(client, base):
    response = await client.post(f"{base}/customers", json={"displayName": "Ørsted Nord"})

    assert response.status_code == 201
    body = response.json()
    assert body["number"] == "C00130"  # 12 seeded customers take C00010..C00120
    assert body["displayName"] == "Ørsted Nord"
    assert body["blocked"] == " "
    assert body["currencyId"] == "00000000-0000-0000-0000-000000000000"
    assert response.headers["ETag"] == body["@odata.etag"]
    assert response.headers["Location"].endswith(f"/customers({body['id']})")
    assert body["@odata.context"].endswith("/customers/$entity")


@pytest.mark.parametrize(
    ("entity_set", "expected_number"),
    [
        pytest.param("customers", "C00130", id="customers"),
        pytest.param("vendors", "V00130", id="vendors"),
        # 12 generated contacts after the 24 of the customers and vendors
        pytest.param("contacts", "CT000370", id="contacts"),
    ],
)
async def test_number_series_increments_by_ten_when_number_not_given(
    client, base, entity_set, expected_number
):
    first = await client.post(f"{base}/{entity_set}", json={"displayName": "One"})
    second = await client.post(f"{base}/{entity_set}", json={"displayName": "Two"})

    assert first.json()["number"] == expected_number
    prefix, digits = re.match(r"([A-Z]+)(\d+)", expected_number).groups()
    assert second.json()["number"] == f"{prefix}{int(digits) + 10:0{len(digits)}d}"


async def test_given_number_kept_when_customer_posted_with_number(client, base):
    response = await client.post(f"{base}/customers", json={"number": "k-1", "displayName": "K"})

    assert response.status_code == 201
    assert response.json()["number"] == "K-1"  # Code fields are upper-cased


@pytest.mark.parametrize(
    ("entity_set", "body", "caption"),
    [
        pytest.param("currencies", {"code": "EUR", "displayName": "Euro"}, "Code='EUR'",
                     id="currency-code"),
        pytest.param("customers", {"number": "C00010", "displayName": "Dup"}, "No.='C00010'",
                     id="customer-number"),
        pytest.param("paymentTerms", {"code": "cod"}, "Code='COD'", id="payment-terms-code"),
    ],
)  # fmt: skip
async def test_duplicate_key_refused_when_key_already_exists(
    client, base, entity_set, body, caption
):
    response = await client.post(f"{base}/{entity_set}", json=body)

    message = assert_bc_error(response, 400, "Internal_EntityWithSameKeyExists")
    assert caption in message


async def test_code_required_when_currency_posted_without_code(client, base):
    response = await client.post(f"{base}/currencies", json={"displayName": "No code"})

    assert_bc_error(response, 400, "Application_FieldValidationException")


@pytest.mark.parametrize(
    "field",
    ["id", "lastModifiedDateTime", "balanceDue", "taxAreaDisplayName"],
)
async def test_read_only_field_refused_when_posted(client, base, field):
    values = {"id": "1c1b7a3e-0000-4000-8000-000000000001",
              "lastModifiedDateTime": "2025-01-01T00:00:00Z", "balanceDue": 1,
              "taxAreaDisplayName": "x"}  # fmt: skip
    response = await client.post(
        f"{base}/customers", json={"displayName": "RO", field: values[field]}
    )

    message = assert_bc_error(response, 400, "BadRequest_InvalidOperation")
    assert field in message


async def test_client_id_kept_when_configured_to_accept_it():
    app = create_app(records=1, config=EmulatorConfig(accept_client_id=True))
    company_id = app.state.bc.company_ids()[0]
    wanted = "1c1b7a3e-0000-4000-8000-000000000001"
    async with client_for(app) as client:
        response = await client.post(
            f"{API}/companies({company_id})/customers", json={"id": wanted, "displayName": "X"}
        )

    assert response.status_code == 201
    assert response.json()["id"] == wanted


async def test_unknown_property_refused_when_posted(client, base):
    response = await client.post(f"{base}/customers", json={"displayName": "X", "nickname": "y"})

    message = assert_bc_error(response, 400, "BadRequest")
    assert "'nickname'" in message


@pytest.mark.parametrize(
    ("entity_set", "field", "limit"),
    [
        pytest.param("customers", "displayName", 100, id="customer-displayName-100"),
        pytest.param("customers", "number", 20, id="customer-number-20"),
        pytest.param("currencies", "code", 10, id="currency-code-10"),
        pytest.param("paymentTerms", "code", 10, id="payment-terms-code-10"),
    ],
)
async def test_string_over_max_length_refused_when_posted(client, base, entity_set, field, limit):
    at_limit = await client.post(f"{base}/{entity_set}", json={field: "A" * limit})
    over_limit = await client.post(f"{base}/{entity_set}", json={field: "B" * (limit + 1)})

    assert at_limit.status_code == 201
    message = assert_bc_error(over_limit, 400, "Application_StringExceededLength")
    assert f"less than or equal to {limit} characters" in message


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param({"blocked": "Ship"}, 201, id="valid-option"),
        pytest.param({"blocked": "Payment"}, 400, id="vendor-only-option"),
        pytest.param({"type": "Robot"}, 400, id="unknown-type"),
        pytest.param({"creditLimit": "lots"}, 400, id="text-for-decimal"),
        pytest.param({"taxLiable": "yes"}, 400, id="text-for-boolean"),
    ],
)
async def test_typed_values_checked_when_customer_posted(client, base, body, status):
    response = await client.post(f"{base}/customers", json={"displayName": "T", **body})

    assert response.status_code == status


async def test_currency_id_resolved_when_currency_code_posted(client, base):
    euro = next(
        c for c in (await client.get(f"{base}/currencies")).json()["value"] if c["code"] == "EUR"
    )

    by_code = await client.post(
        f"{base}/customers", json={"displayName": "A", "currencyCode": "eur"}
    )
    by_id = await client.post(
        f"{base}/customers", json={"displayName": "B", "currencyId": euro["id"]}
    )

    assert (by_code.json()["currencyCode"], by_code.json()["currencyId"]) == ("EUR", euro["id"])
    assert (by_id.json()["currencyCode"], by_id.json()["currencyId"]) == ("EUR", euro["id"])


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param({"currencyCode": "XXX"}, "Internal_InvalidTableRelation", id="unknown-code"),
        pytest.param({"salespersonCode": "NOBODY"}, "Internal_InvalidTableRelation",
                     id="unknown-salesperson"),
        pytest.param({"currencyId": "6f1f3f0e-0000-4000-8000-000000000001"},
                     "Application_DialogException", id="unknown-currency-id"),
    ],
)  # fmt: skip
async def test_relation_refused_when_target_missing(client, base, body, code):
    response = await client.post(f"{base}/customers", json={"displayName": "R", **body})

    assert_bc_error(response, 400, code)


async def test_company_name_filled_when_person_contact_linked_to_company(client, base):
    contacts = (await client.get(f"{base}/contacts")).json()["value"]
    company = next(c for c in contacts if c["type"] == "Company")

    response = await client.post(
        f"{base}/contacts",
        json={
            "type": "Person",
            "displayName": "Siobhán O'Brien",
            "companyNumber": company["number"],
        },
    )

    assert response.status_code == 201
    assert response.json()["companyName"] == company["displayName"]
    assert response.json()["searchName"] == "SIOBHÁN O'BRIEN"


async def test_full_body_with_new_etag_returned_when_patched(client, base):
    row = await first_row(client, f"{base}/customers")

    response = await client.patch(
        f"{base}/customers({row['id']})",
        json={"displayName": "Renamed"},
        headers={"If-Match": row["@odata.etag"]},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["displayName"] == "Renamed"
    assert body["number"] == row["number"]
    assert body["@odata.etag"] != row["@odata.etag"]
    assert body["lastModifiedDateTime"] > row["lastModifiedDateTime"]


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_invalid_token_when_if_match_missing(client, base, method):
    row = await first_row(client, f"{base}/customers")

    response = await client.request(method, f"{base}/customers({row['id']})", json={"city": "X"})

    assert_bc_error(response, 400, "BadRequest_InvalidToken")


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_write_accepted_when_if_match_is_star(client, base, method):
    row = await first_row(client, f"{base}/customers")

    response = await client.request(
        method, f"{base}/customers({row['id']})", json={"city": "X"}, headers={"If-Match": "*"}
    )

    assert response.status_code == (200 if method == "PATCH" else 204)


@pytest.mark.parametrize(
    ("configured", "expected"),
    [pytest.param(None, 409, id="default-409"), pytest.param(412, 412, id="configured-412")],
)
async def test_entity_changed_status_follows_config_when_etag_stale(configured, expected):
    app = create_app(records=2, stale_etag_status=configured)
    company_id = app.state.bc.company_ids()[0]
    url = f"{API}/companies({company_id})/customers"
    async with client_for(app) as client:
        row = await first_row(client, url)
        app.state.bc.edit(company_id, "customers", row["id"], {"city": "Elsewhere"})

        patch = await client.patch(
            f"{url}({row['id']})", json={"city": "Mine"}, headers={"If-Match": row["@odata.etag"]}
        )
        delete = await client.delete(
            f"{url}({row['id']})", headers={"If-Match": row["@odata.etag"]}
        )

    for response in (patch, delete):
        message = assert_bc_error(response, expected, "Request_EntityChanged")
        assert message.startswith("Another user has already changed the record.")


async def test_row_gone_when_deleted(client, base):
    row = await first_row(client, f"{base}/vendors")

    response = await client.delete(
        f"{base}/vendors({row['id']})", headers={"If-Match": row["@odata.etag"]}
    )

    assert response.status_code == 204
    assert response.content == b""
    again = await client.get(f"{base}/vendors({row['id']})")
    assert_bc_error(again, 404, "Internal_RecordNotFound")


async def test_not_found_when_patching_missing_record(client, base):
    response = await client.patch(
        f"{base}/customers(6f1f3f0e-0000-4000-8000-000000000001)",
        json={"city": "X"},
        headers={"If-Match": "*"},
    )

    assert_bc_error(response, 404, "Internal_RecordNotFound")


async def test_method_not_allowed_when_posting_companies(client):
    response = await client.post(f"{API}/companies", json={"name": "New"})

    assert_bc_error(response, 405, "BadRequest_MethodNotAllowed")


async def test_bad_request_when_body_is_not_json(client, base):
    response = await client.post(
        f"{base}/customers", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert_bc_error(response, 400, "BadRequest")


async def test_blank_enum_serialised_as_escaped_name_when_configured():
    app = create_app(records=1, config=EmulatorConfig(blank_enum_literal="_x0020_"))
    company_id = app.state.bc.company_ids()[0]
    async with client_for(app) as client:
        response = await client.post(
            f"{API}/companies({company_id})/vendors", json={"displayName": "V", "blocked": " "}
        )

    assert response.json()["blocked"] == "_x0020_"


async def test_response_delayed_per_record_when_record_cost_configured():
    app = create_app(records=1, record_cost_seconds=0.05)
    company_id = app.state.bc.company_ids()[0]
    async with client_for(app) as client:
        started = time.perf_counter()
        await client.post(f"{API}/companies({company_id})/customers", json={"displayName": "Slow"})
        elapsed = time.perf_counter() - started
        started = time.perf_counter()
        await client.get(f"{API}/companies({company_id})/customers")
        read_elapsed = time.perf_counter() - started

    assert elapsed >= 0.05
    assert read_elapsed < 0.05
