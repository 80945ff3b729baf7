"""Change tracking of the Dataverse emulator: delta links, tombstones, token expiry (A3)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import httpx
import pytest

from sandbox.dataverse import SandboxOptions, create_app

API = "/api/data/v9.2"
TRACK = {"Prefer": "odata.track-changes"}
ROOT = "http://dataverse.test/api/data/v9.2/"


class ManualClock:
    def __init__(self) -> None:
        self.now = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dataverse.test"
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def client(clock):
    app = create_app(seed=2, records=12, clock=clock)
    async with client_for(app) as http:
        http.app = app
        yield http


async def initial_sync(client, select: str = "name,telephone1") -> tuple[list[dict], str]:
    response = await client.get(f"{API}/accounts?$select={select}", headers=TRACK)
    assert response.status_code == 200, response.text
    assert response.headers["Preference-Applied"] == "odata.track-changes"
    body = response.json()
    return body["value"], body["@odata.deltaLink"]


async def test_initial_request_returns_all_rows_and_a_delta_link(client):
    rows, delta_link = await initial_sync(client)

    assert len(rows) == client.app.state.dataverse.count("accounts")
    assert delta_link.startswith(f"{ROOT}accounts?$select=name,telephone1&$deltatoken=")
    token = unquote(delta_link.split("$deltatoken=")[1])
    assert re.fullmatch(r"\d+!\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", token)


async def test_delta_link_returns_nothing_when_no_row_changed(client):
    _, delta_link = await initial_sync(client)

    body = (await client.get(delta_link)).json()

    assert body["value"] == []
    assert body["@odata.context"] == f"{ROOT}$metadata#accounts(name,telephone1)/$delta"
    assert body["@odata.deltaLink"]


async def test_delta_link_returns_updates_then_tombstones_when_rows_change_and_go(client):
    sandbox = client.app.state.dataverse
    _, delta_link = await initial_sync(client)
    ids = [row["accountid"] for row in sandbox.all("accounts")]
    sandbox.edit("accounts", ids[0], {"telephone1": "555"})
    sandbox.delete("accounts", ids[1])
    created = sandbox.create("accounts", {"name": "New"})["accountid"]

    body = (await client.get(delta_link)).json()

    changed = [item for item in body["value"] if "reason" not in item]
    assert [row["accountid"] for row in changed] == [ids[0], created]
    assert set(changed[0]) == {"@odata.etag", "name", "telephone1", "accountid"}
    assert changed[0]["telephone1"] == "555"
    assert body["value"][-1] == {
        "@odata.context": f"{ROOT}$metadata#accounts/$deletedEntity",
        "id": ids[1],
        "reason": "deleted",
    }


async def test_delta_reports_deleted_when_a_row_is_created_and_deleted_between_syncs(client):
    sandbox = client.app.state.dataverse
    _, delta_link = await initial_sync(client)
    transient = sandbox.create("accounts", {"name": "Brief"})["accountid"]
    sandbox.delete("accounts", transient)

    body = (await client.get(delta_link)).json()

    assert body["value"] == [
        {
            "@odata.context": f"{ROOT}$metadata#accounts/$deletedEntity",
            "id": transient,
            "reason": "deleted",
        }
    ]


async def test_next_delta_link_only_reports_later_changes_when_followed_in_turn(client):
    sandbox = client.app.state.dataverse
    _, first_link = await initial_sync(client)
    ids = [row["accountid"] for row in sandbox.all("accounts")]
    sandbox.edit("accounts", ids[2], {"fax": "1"})
    second_link = (await client.get(first_link)).json()["@odata.deltaLink"]
    sandbox.edit("accounts", ids[3], {"fax": "2"})

    body = (await client.get(second_link)).json()

    assert [row["accountid"] for row in body["value"]] == [ids[3]]


async def test_change_made_between_initial_pages_is_seen_by_the_delta(client):
    sandbox = client.app.state.dataverse
    first = (
        await client.get(
            f"{API}/accounts?$select=name",
            headers={"Prefer": "odata.track-changes,odata.maxpagesize=5"},
        )
    ).json()
    seen = {row["accountid"] for row in first["value"]}
    edited = next(iter(seen))
    sandbox.edit("accounts", edited, {"name": "Changed mid-sync"})
    url, delta_link = first["@odata.nextLink"], None
    while url:
        body = (await client.get(url, headers=TRACK)).json()
        url, delta_link = body.get("@odata.nextLink"), body.get("@odata.deltaLink")

    delta = (await client.get(delta_link)).json()

    assert [row["name"] for row in delta["value"]] == ["Changed mid-sync"]


async def test_delta_is_paged_with_next_links_when_changes_exceed_the_page_size(client):
    sandbox = client.app.state.dataverse
    _, delta_link = await initial_sync(client)
    for row in sandbox.all("accounts")[:7]:
        sandbox.edit("accounts", row["accountid"], {"fax": "x"})

    first = (await client.get(delta_link, headers={"Prefer": "odata.maxpagesize=5"})).json()
    second = (
        await client.get(first["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=5"})
    ).json()

    assert (len(first["value"]), "@odata.deltaLink" in first) == (5, False)
    assert (len(second["value"]), "@odata.deltaLink" in second) == (2, True)


async def test_expired_token_is_refused_when_older_than_the_retention(client, clock):
    _, delta_link = await initial_sync(client)
    clock.now += timedelta(days=7, seconds=1)

    response = await client.get(delta_link)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80044352"


async def test_token_ttl_and_expiry_status_are_configurable(clock):
    app = create_app(
        records=3,
        clock=clock,
        change_token_ttl=timedelta(hours=1),
        options=SandboxOptions(expired_token_status=410),
    )
    async with client_for(app) as client:
        _, delta_link = await initial_sync(client)
        clock.now += timedelta(hours=2)
        response = await client.get(delta_link)

    assert response.status_code == 410


async def test_reset_expires_tokens_issued_before_it(client):
    _, delta_link = await initial_sync(client)
    client.app.state.dataverse.reset(seed=9, records=4)

    response = await client.get(delta_link)

    assert response.json()["error"]["code"] == "0x80044352"


@pytest.mark.parametrize(
    "option",
    ["$filter=name ne null", "$orderby=name", "$top=5", "$expand=primarycontactid"],
    ids=["filter", "orderby", "top", "expand"],
)
async def test_track_changes_refuses_query_options_when_combined(client, option):
    response = await client.get(f"{API}/accounts?$select=name&{option}", headers=TRACK)

    name = option.split("=")[0]
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        f'The "{name}" query parameter isn\'t supported when Change Tracking is enabled.'
    )


async def test_track_changes_is_refused_when_the_table_is_not_tracked(client):
    response = await client.get(f"{API}/systemusers?$select=fullname", headers=TRACK)

    assert response.status_code == 400


async def test_untracked_table_serves_rows_without_delta_link_when_configured_to_ignore():
    app = create_app(records=2, options=SandboxOptions(untracked_table="ignore"))
    async with client_for(app) as client:
        response = await client.get(f"{API}/systemusers?$select=fullname", headers=TRACK)

    assert response.status_code == 200
    assert "@odata.deltaLink" not in response.json()
    assert "Preference-Applied" not in response.headers


async def test_tracking_can_be_switched_per_table_from_the_control_plane(client):
    await client.put("/_sandbox/dataverse/tables/accounts/change-tracking", json={"enabled": False})

    response = await client.get(f"{API}/accounts?$select=name", headers=TRACK)
    definition = await client.get(
        f"{API}/EntityDefinitions(LogicalName='account')?$select=ChangeTrackingEnabled"
    )

    assert response.status_code == 400
    assert definition.json()["ChangeTrackingEnabled"] is False


async def test_count_of_changes_is_served_when_counting_with_a_delta_token(client):
    sandbox = client.app.state.dataverse
    _, delta_link = await initial_sync(client)
    sandbox.delete("accounts", sandbox.all("accounts")[0]["accountid"])
    token = delta_link.split("$deltatoken=")[1]

    response = await client.get(f"{API}/accounts/$count?$deltatoken={token}")

    assert response.text == "1"
