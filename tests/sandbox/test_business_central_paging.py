"""Server-driven paging of the BC emulator: maxpagesize, the 20,000 cap, nextLink walks (B3, B7)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sandbox.business_central import EmulatorConfig, create_app

API = "/v2.0/tenant-1/production/api/v2.0"


def client_for(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bc.test")


@pytest.fixture(scope="module")
def big_app():
    app = create_app(seed=11, records=0)
    service = app.state.bc
    service.seed(service.company_ids()[0], "customers", 2_000)
    return app


@pytest.fixture
async def client(big_app):
    async with client_for(big_app) as http:
        yield http


@pytest.fixture
def customers_url(big_app) -> str:
    return f"{API}/companies({big_app.state.bc.company_ids()[0]})/customers"


async def walk(client, url: str, page_size: int | None) -> tuple[list[dict], list[dict]]:
    headers = {} if page_size is None else {"Prefer": f"odata.maxpagesize={page_size}"}
    rows: list[dict] = []
    pages: list[dict] = []
    next_url: str | None = url
    while next_url is not None:
        response = await client.get(next_url, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        rows.extend(page["value"])
        next_url = page.get("@odata.nextLink")
    return rows, pages


async def test_every_row_returned_once_when_nextlinks_walked_at_500(client, customers_url):
    rows, pages = await walk(client, customers_url, 500)

    assert len(pages) == 4
    assert [len(p["value"]) for p in pages] == [500, 500, 500, 500]
    assert len({r["id"] for r in rows}) == len(rows) == 2_000


async def test_preference_applied_echoed_when_maxpagesize_requested(client, customers_url):
    response = await client.get(customers_url, headers={"Prefer": "odata.maxpagesize=300"})

    assert response.headers["Preference-Applied"] == "odata.maxpagesize=300"
    assert len(response.json()["value"]) == 300
    next_link = response.json()["@odata.nextLink"]
    assert next_link.startswith("http://bc.test/v2.0/tenant-1/production/api/v2.0/companies(")
    assert "$skiptoken=" in next_link


async def test_single_page_without_nextlink_when_no_preference_given(client, customers_url):
    response = await client.get(customers_url)

    assert len(response.json()["value"]) == 2_000
    assert "@odata.nextLink" not in response.json()
    assert "Preference-Applied" not in response.headers


async def test_pages_capped_by_default_size_when_table_exceeds_it():
    app = create_app(seed=11, records=3, config=EmulatorConfig(default_page_size=2))
    company_id = app.state.bc.company_ids()[0]
    async with client_for(app) as client:
        rows, pages = await walk(client, f"{API}/companies({company_id})/customers", None)

    assert [len(p["value"]) for p in pages] == [2, 1]
    assert len({r["id"] for r in rows}) == 3


@pytest.mark.parametrize(
    ("page_size", "status"),
    [pytest.param(20_000, 200, id="at-cap"), pytest.param(20_001, 413, id="over-cap")],
)
async def test_cap_of_20000_enforced_when_maxpagesize_requested(
    client, customers_url, page_size, status
):
    response = await client.get(customers_url, headers={"Prefer": f"odata.maxpagesize={page_size}"})

    assert response.status_code == status
    if status == 413:
        assert "20000" in response.json()["error"]["message"]


async def test_page_capped_silently_when_oversized_status_disabled():
    app = create_app(records=3, config=EmulatorConfig(max_page_size=2, oversized_page_status=None))
    company_id = app.state.bc.company_ids()[0]
    async with client_for(app) as client:
        response = await client.get(
            f"{API}/companies({company_id})/customers", headers={"Prefer": "odata.maxpagesize=50"}
        )

    assert response.headers["Preference-Applied"] == "odata.maxpagesize=2"
    assert len(response.json()["value"]) == 2


async def test_nextlink_keeps_filter_select_and_order_when_paging(client, customers_url):
    params = {
        "$filter": "blocked eq ' '",
        "$select": "id,number,blocked",
        "$orderby": "displayName desc",
    }
    first = await client.get(
        customers_url, params=params, headers={"Prefer": "odata.maxpagesize=100"}
    )
    query = parse_qs(urlsplit(first.json()["@odata.nextLink"]).query)

    assert {k: v[0] for k, v in query.items() if k != "$skiptoken"} == params
    rows, _ = await walk(client, first.json()["@odata.nextLink"], 100)
    everything = first.json()["value"] + rows
    unpaged = (await client.get(customers_url, params=params)).json()["value"]
    assert [r["id"] for r in everything] == [r["id"] for r in unpaged]
    assert all(set(r) == {"@odata.etag", "id", "number", "blocked"} for r in everything)


async def test_top_spread_over_pages_when_smaller_pages_requested(client, customers_url):
    rows, pages = await walk(client, f"{customers_url}?$top=250", 100)

    assert [len(p["value"]) for p in pages] == [100, 100, 50]
    assert len({r["id"] for r in rows}) == 250


async def test_no_row_skipped_or_repeated_when_rows_change_between_pages():
    app = create_app(seed=5, records=0)
    service = app.state.bc
    company_id = service.company_ids()[0]
    service.seed(company_id, "customers", 60)
    url = f"{API}/companies({company_id})/customers"
    headers = {"Prefer": "odata.maxpagesize=20"}
    seen: list[str] = []
    async with client_for(app) as client:
        page = (await client.get(url, headers=headers)).json()
        seen += [r["id"] for r in page["value"]]
        all_rows = service.all(company_id, "customers")
        service.edit(company_id, "customers", all_rows[5]["id"], {"displayName": "Seen before"})
        service.edit(company_id, "customers", all_rows[45]["id"], {"displayName": "Not yet"})
        service.delete(company_id, "customers", all_rows[30]["id"])
        while "@odata.nextLink" in page:
            page = (await client.get(page["@odata.nextLink"], headers=headers)).json()
            seen += [r["id"] for r in page["value"]]

    expected = [r["id"] for r in all_rows if r["id"] != all_rows[30]["id"]]
    assert seen == expected


async def test_bad_request_when_skiptoken_is_tampered(client, customers_url):
    response = await client.get(customers_url, params={"$skiptoken": "bm90LWEtdG9rZW4"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"


async def test_bad_request_when_skiptoken_reused_with_other_filter(client, customers_url):
    first = await client.get(customers_url, headers={"Prefer": "odata.maxpagesize=10"})
    token = parse_qs(urlsplit(first.json()["@odata.nextLink"]).query)["$skiptoken"][0]

    response = await client.get(
        customers_url, params={"$skiptoken": token, "$filter": "blocked eq 'All'"}
    )

    assert response.status_code == 400
