"""Collection reads of the Dataverse emulator: query options and server paging (A2)."""

from __future__ import annotations

import httpx
import pytest

from sandbox.dataverse import create_app

API = "/api/data/v9.2"


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dataverse.test"
    )


@pytest.fixture
async def client():
    app = create_app(seed=11, records=40)
    async with client_for(app) as http:
        http.app = app
        yield http


def page_size(size: int) -> dict[str, str]:
    return {"Prefer": f"odata.maxpagesize={size}"}


async def walk(client, url: str, headers: dict[str, str], between_pages=None) -> list[dict]:
    rows: list[dict] = []
    links: set[str] = set()
    while url:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        rows.extend(body["value"])
        url = body.get("@odata.nextLink")
        if url:
            assert url.startswith("http://dataverse.test/api/data/v9.2/accounts?")
            assert url not in links
            links.add(url)
            if between_pages is not None:
                await between_pages(len(links))
    return rows


@pytest.mark.parametrize(
    ("prefer", "expected_applied"),
    [
        ({}, None),
        (page_size(5000), "odata.maxpagesize=5000"),
        (page_size(9000), "odata.maxpagesize=5000"),
    ],
    ids=["default-5000", "asked-5000", "asked-above-limit-capped"],
)
async def test_page_holds_at_most_5000_rows_when_more_exist(prefer, expected_applied):
    app = create_app(records=0)
    app.state.dataverse.seed("accounts", 5003)
    async with client_for(app) as client:
        first = await client.get(f"{API}/accounts?$select=name", headers=prefer)
        second = await client.get(first.json()["@odata.nextLink"], headers=prefer)

    assert len(first.json()["value"]) == 5000
    assert first.headers.get("Preference-Applied") == expected_applied
    assert len(second.json()["value"]) == 3
    assert "@odata.nextLink" not in second.json()


async def test_page_has_no_next_link_when_rows_fit_exactly(client):
    response = await client.get(f"{API}/accounts?$select=name", headers=page_size(40))

    assert len(response.json()["value"]) == 40
    assert "@odata.nextLink" not in response.json()


@pytest.mark.parametrize(
    "orderby",
    [None, "name desc", "createdon asc,name desc", "customertypecode,accountnumber desc"],
    ids=["by-id", "name-desc", "created-then-name", "type-then-number"],
)
async def test_next_link_walk_returns_each_row_once_when_rows_change_between_pages(client, orderby):
    sandbox = client.app.state.dataverse
    initial = {row["accountid"] for row in sandbox.all("accounts")}
    touched = sorted(initial)

    async def write_between_pages(page_number: int) -> None:
        sandbox.edit("accounts", touched[page_number], {"telephone1": f"p{page_number}"})
        sandbox.edit("accounts", touched[-page_number], {"fax": "f"})

    url = f"{API}/accounts?$select=name" + (f"&$orderby={orderby}" if orderby else "")
    rows = await walk(client, url, page_size(7), write_between_pages)

    ids = [row["accountid"] for row in rows]
    assert len(ids) == len(set(ids))
    assert set(ids) == initial


async def test_rows_follow_orderby_when_sorting_descending_by_name(client):
    rows = await walk(client, f"{API}/accounts?$select=name&$orderby=name desc", page_size(9))

    names = [row["name"].casefold() for row in rows]
    assert names == sorted(names, reverse=True)


async def test_skip_is_refused_with_dataverse_error(client):
    response = await client.get(f"{API}/accounts?$skip=10")

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "0x80060888",
        "message": "The query parameter $skip is not supported",
    }


async def test_filter_selects_matching_rows_case_insensitively(client):
    sandbox = client.app.state.dataverse
    vendors = {r["accountid"] for r in sandbox.all("accounts") if r["customertypecode"] == 11}
    some = sandbox.all("accounts")[0]

    by_type = await walk(client, f"{API}/accounts?$filter=customertypecode eq 11", {})
    literal = some["name"].upper().replace("'", "''")
    by_name = await client.get(f"{API}/accounts", params={"$filter": f"name eq '{literal}'"})

    assert {row["accountid"] for row in by_type} == vendors
    assert some["accountid"] in [row["accountid"] for row in by_name.json()["value"]]


ABSENT_ID = "00000000-0000-4000-8000-0000000000ff"


@pytest.mark.parametrize(
    ("options", "headers", "expected_count"),
    [
        pytest.param({}, page_size(2), 5, id="id order in pages of two"),
        pytest.param(
            {"$orderby": "name desc"}, page_size(2), 5, id="ordered by name in pages of two"
        ),
        # $top yields to odata.maxpagesize, so it is sent alone.
        pytest.param({"$top": "3", "$select": "name"}, {}, 3, id="top and select"),
        pytest.param({"$count": "true"}, page_size(3), 5, id="count in pages of three"),
    ],
)
async def test_by_id_filter_returns_the_rows_of_a_scan_when_it_names_only_ids(
    client, options, headers, expected_count
):
    accounts = client.app.state.dataverse.all("accounts")
    wanted = [accounts[index]["accountid"] for index in (7, 2, 19, 11, 4)]
    named = [wanted[0].upper(), *wanted[1:], ABSENT_ID]
    by_ids = " or ".join(f"accountid eq {row_id}" for row_id in named)
    # The extra condition changes nothing but keeps the filter from naming only ids.
    scanned = f"({by_ids}) and name ne 'zzz'"

    found = await _pages(client, {**options, "$filter": by_ids}, headers)
    expected = await _pages(client, {**options, "$filter": scanned}, headers)

    assert [page.get("@odata.count") for page in found] == [
        page.get("@odata.count") for page in expected
    ]
    assert [page["value"] for page in found] == [page["value"] for page in expected]
    rows = [row for page in found for row in page["value"]]
    assert len(rows) == expected_count
    assert {row["accountid"] for row in rows} <= set(wanted)


async def _pages(client, params: dict[str, str], headers: dict[str, str]) -> list[dict]:
    pages: list[dict] = []
    url: str | None = str(httpx.URL(f"{API}/accounts", params=params))
    while url:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        url = pages[-1].get("@odata.nextLink")
    return pages


async def test_filter_on_lookup_value_and_datetime_columns(client):
    owner = client.app.state.dataverse.all("accounts")[0]["_ownerid_value"]

    response = await client.get(
        f"{API}/accounts",
        params={
            "$filter": f"_ownerid_value eq {owner} and modifiedon ge 2000-01-01T00:00:00Z",
            "$select": "_ownerid_value",
        },
    )

    values = response.json()["value"]
    assert values
    assert all(row["_ownerid_value"] == owner for row in values)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"$filter": "name eqq 'x'"}, "Syntax error"),
        ({"$filter": "nosuchcolumn eq 1"}, "Could not find a property named 'nosuchcolumn'"),
        (
            {"$select": "name,nosuchcolumn"},
            "Could not find a property named 'nosuchcolumn' on type "
            "'Microsoft.Dynamics.CRM.account'.",
        ),
        ({"$orderby": "nosuchcolumn desc"}, "Could not find a property named"),
        ({"$top": "-1"}, "$top"),
        ({"$search": "x"}, "The query parameter $search is not supported"),
    ],
    ids=[
        "filter-syntax",
        "filter-unknown-column",
        "select-unknown-column",
        "orderby-unknown-column",
        "negative-top",
        "unknown-option",
    ],
)
async def test_query_answers_400_when_options_are_invalid(client, params, fragment):
    response = await client.get(f"{API}/accounts", params=params)

    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]


async def test_select_returns_selected_columns_and_the_primary_key(client):
    response = await client.get(f"{API}/accounts?$select=name,accountnumber&$top=1")

    body = response.json()
    assert body["@odata.context"] == (
        "http://dataverse.test/api/data/v9.2/$metadata#accounts(name,accountnumber)"
    )
    assert set(body["value"][0]) == {"@odata.etag", "name", "accountnumber", "accountid"}


async def test_top_limits_rows_and_yields_to_maxpagesize_when_both_are_sent(client):
    top_only = await client.get(f"{API}/accounts?$top=3")
    both = await client.get(f"{API}/accounts?$top=3", headers=page_size(5))

    assert len(top_only.json()["value"]) == 3
    assert "@odata.nextLink" not in top_only.json()
    assert len(both.json()["value"]) == 5


async def test_count_reports_matching_rows_when_count_is_true(client):
    total = client.app.state.dataverse.count("accounts")

    listed = await client.get(f"{API}/accounts?$count=true&$select=name", headers=page_size(5))
    bare = await client.get(f"{API}/accounts/$count")

    assert listed.json()["@odata.count"] == total
    assert "$count" not in listed.json()["@odata.nextLink"]
    assert bare.text == str(total)
    assert bare.headers["content-type"].startswith("text/plain")


async def test_count_stops_at_5000_and_flags_the_limit_when_annotations_are_asked():
    app = create_app(records=0)
    app.state.dataverse.seed("accounts", 5001)
    annotations = {
        "Prefer": 'odata.include-annotations="Microsoft.Dynamics.CRM.*",odata.maxpagesize=1'
    }
    async with client_for(app) as client:
        response = await client.get(f"{API}/accounts?$count=true", headers=annotations)

    body = response.json()
    assert body["@odata.count"] == 5000
    assert body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is True


async def test_skiptoken_is_refused_when_it_was_altered(client):
    response = await client.get(f"{API}/accounts?$skiptoken=garbage")

    assert response.status_code == 400
