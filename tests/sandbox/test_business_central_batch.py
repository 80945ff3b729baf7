"""JSON `$batch` of the BC emulator: limits, independent vs `Isolation: snapshot` (B5)."""

from __future__ import annotations

import httpx
import pytest

from sandbox.business_central import create_app

API = "/v2.0/tenant-1/production/api/v2.0"
BATCH = f"{API}/$batch"
MISSING_ID = "6f1f3f0e-0000-4000-8000-000000000001"


@pytest.fixture
async def client():
    app = create_app(seed=2, records=5)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bc.test") as http:
        http.app = app
        yield http


@pytest.fixture
def company_id(client) -> str:
    return client.app.state.bc.company_ids()[0]


def create_item(item_id: str, company_id: str, name: str) -> dict:
    return {
        "id": item_id,
        "method": "POST",
        "url": f"companies({company_id})/customers",
        "headers": {"Content-Type": "application/json"},
        "body": {"displayName": name},
    }


def customer_names(client, company_id: str) -> set[str]:
    return {row["displayName"] for row in client.app.state.bc.all(company_id, "customers")}


async def test_each_item_answered_in_order_when_batch_mixes_methods(client, company_id):
    row = client.app.state.bc.all(company_id, "customers")[0]
    requests = [
        create_item("1", company_id, "Batch Created"),
        {"id": "2", "method": "PATCH", "url": f"companies({company_id})/customers({row['id']})",
         "headers": {"If-Match": row["@odata.etag"]}, "body": {"city": "Aarhus"}},
        {"id": "3", "method": "GET", "url": f"companies({company_id})/customers?$top=2"},
        {"id": "4", "method": "DELETE", "url": f"companies({company_id})/vendors({MISSING_ID})",
         "headers": {"If-Match": "*"}},
    ]  # fmt: skip

    response = await client.post(BATCH, json={"requests": requests})

    assert response.status_code == 200
    answers = response.json()["responses"]
    assert [(a["id"], a["status"]) for a in answers] == [
        ("1", 201), ("2", 200), ("3", 200), ("4", 404)
    ]  # fmt: skip
    assert answers[0]["body"]["displayName"] == "Batch Created"
    assert answers[0]["headers"]["etag"] == answers[0]["body"]["@odata.etag"]
    assert answers[1]["body"]["city"] == "Aarhus"
    assert len(answers[2]["body"]["value"]) == 2
    assert answers[3]["body"]["error"]["code"] == "Internal_RecordNotFound"


@pytest.mark.parametrize(
    ("count", "status"),
    [pytest.param(100, 200, id="at-limit-100"), pytest.param(101, 400, id="over-limit-101")],
)
async def test_batch_size_limited_to_100_when_posted(client, company_id, count, status):
    requests = [create_item(str(n), company_id, f"Bulk {n}") for n in range(count)]

    response = await client.post(BATCH, json={"requests": requests})

    assert response.status_code == status
    if status == 400:
        assert response.json()["error"]["code"] == "BadRequest"
        assert "Bulk 0" not in customer_names(client, company_id)
    else:
        assert all(item["status"] == 201 for item in response.json()["responses"])


async def test_successful_items_kept_when_independent_batch_has_a_failure(client, company_id):
    requests = [
        create_item("ok", company_id, "Kept"),
        {"id": "bad", "method": "POST", "url": f"companies({company_id})/customers",
         "body": {"displayName": "x" * 101}},
    ]  # fmt: skip

    response = await client.post(BATCH, json={"requests": requests})

    statuses = [item["status"] for item in response.json()["responses"]]
    assert statuses == [201, 400]
    assert "Kept" in customer_names(client, company_id)


async def test_nothing_applied_when_snapshot_batch_has_a_failure(client, company_id):
    service = client.app.state.bc
    before = service.all(company_id, "customers")
    row = before[0]
    requests = [
        create_item("1", company_id, "Rolled Back"),
        {"id": "2", "method": "PATCH", "url": f"companies({company_id})/customers({row['id']})",
         "headers": {"If-Match": "*"}, "body": {"city": "Never"}},
        {"id": "3", "method": "DELETE",
         "url": f"companies({company_id})/customers({before[1]['id']})",
         "headers": {"If-Match": "*"}},
        {"id": "4", "method": "POST", "url": f"companies({company_id})/customers",
         "body": {"displayName": "Bad", "blocked": "Sometimes"}},
    ]  # fmt: skip

    response = await client.post(
        BATCH, json={"requests": requests}, headers={"Isolation": "snapshot"}
    )

    assert response.status_code == 200
    assert [item["status"] for item in response.json()["responses"]] == [201, 200, 204, 400]
    assert service.all(company_id, "customers") == before
    created = await client.post(
        f"{API}/companies({company_id})/customers", json={"displayName": "After rollback"}
    )
    assert created.json()["number"] == "C00060"  # the number series was rolled back too


async def test_all_applied_when_snapshot_batch_succeeds(client, company_id):
    requests = [create_item(str(n), company_id, f"Snapshot {n}") for n in range(3)]

    response = await client.post(
        BATCH, json={"requests": requests}, headers={"Isolation": "snapshot"}
    )

    assert [item["status"] for item in response.json()["responses"]] == [201, 201, 201]
    assert {"Snapshot 0", "Snapshot 1", "Snapshot 2"} <= customer_names(client, company_id)


async def test_failed_dependency_when_depended_on_item_failed(client, company_id):
    requests = [
        {"id": "1", "method": "POST", "url": f"companies({company_id})/currencies",
         "body": {"displayName": "no code"}},
        {**create_item("2", company_id, "Depends"), "dependsOn": ["1"]},
    ]  # fmt: skip

    response = await client.post(BATCH, json={"requests": requests})

    assert [item["status"] for item in response.json()["responses"]] == [400, 424]
    assert "Depends" not in customer_names(client, company_id)


async def test_bad_request_when_depends_on_names_no_earlier_item(client, company_id):
    requests = [{**create_item("1", company_id, "X"), "dependsOn": ["9"]}]

    response = await client.post(BATCH, json={"requests": requests})

    assert response.status_code == 400


async def test_company_header_scopes_item_when_url_has_no_company(client, company_id):
    name = client.app.state.bc.companies()[0]["name"]
    requests = [
        {"id": "1", "method": "POST", "url": "customers",
         "headers": {"Company": name}, "body": {"displayName": "Via header"}},
    ]  # fmt: skip

    response = await client.post(BATCH, json={"requests": requests})

    answer = response.json()["responses"][0]
    assert answer["status"] == 201, answer
    owner = next(c["id"] for c in client.app.state.bc.companies() if c["name"] == name)
    assert "Via header" in customer_names(client, owner)


async def test_absolute_item_url_accepted_when_it_points_into_the_api(client, company_id):
    url = f"http://bc.test{API}/companies({company_id})/currencies?$select=code"

    response = await client.post(
        BATCH, json={"requests": [{"id": "1", "method": "GET", "url": url}]}
    )

    answer = response.json()["responses"][0]
    assert answer["status"] == 200
    assert set(answer["body"]["value"][0]) == {"@odata.etag", "code"}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"requests": "nope"}, id="requests-not-a-list"),
        pytest.param({"requests": [{"id": "1"}]}, id="item-without-method"),
        pytest.param([], id="body-not-an-object"),
    ],
)
async def test_bad_request_when_batch_body_malformed(client, body):
    response = await client.post(BATCH, json=body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"
