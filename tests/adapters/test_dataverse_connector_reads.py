"""DataverseConnector reads against the Dataverse emulator: paging, change tracking, fallbacks."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import timedelta

import pytest

from sync.connectors.dataverse import ChangePage, DataverseConnector, ReadMode
from sync.errors import ConfigError, PermanentConnectorError
from tests.adapters.dataverse_environment import ACCOUNT_FIELDS, Environment, open_environment

OVERLAP = timedelta(minutes=5)


@pytest.fixture
async def env():
    async with open_environment(records=12) as environment:
        yield environment


def read_accounts(env: Environment, **options):
    arguments = {
        "id_field": "accountid",
        "fields": ACCOUNT_FIELDS,
        "since": None,
        "delta_link": None,
        "overlap": OVERLAP,
        "odata_filter": None,
        "page_size": 5000,
        "track_changes": True,
    }
    arguments.update(options)
    return env.connector.read_changes("accounts", **arguments)


async def collect(pages) -> list[ChangePage]:
    return [page async for page in pages]


async def test_pages_stream_with_flat_memory_when_table_holds_20000_rows():
    async with open_environment(records=0) as env:
        env.sandbox.seed("accounts", 20_000)

        async def drain(rows: int) -> tuple[int, int, int]:
            """Read `rows` rows in pages of 1,000 keeping none; return count, pages, peak."""
            count = pages = 0
            gc.collect()
            tracemalloc.start()
            async for page in read_accounts(env, page_size=1000, track_changes=False):
                count += len(page.records)
                pages += 1
                # httpx leaves each response in a reference cycle; collect it as we go, so the
                # peak shows what is held, not what awaits the cycle collector.
                gc.collect()
                if count >= rows:
                    break
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            return count, pages, peak

        full_rows, full_pages, full_peak = await drain(20_000)
        few_rows, _, few_peak = await drain(2_000)

    assert (full_rows, full_pages) == (20_000, 20)
    assert few_rows == 2_000
    # Ten times the rows, about the same memory: only a page is ever held.
    assert full_peak < 1.2 * few_peak, (full_peak, few_peak)


async def test_first_tracked_read_returns_every_row_and_a_delta_link_on_the_last_page(env):
    pages = await collect(read_accounts(env, page_size=5))

    assert [len(page.records) for page in pages] == [5, 5, 2]
    assert [page.delta_link is not None for page in pages] == [False, False, True]
    assert {page.mode for page in pages} == {ReadMode.SNAPSHOT}
    ids = {record.id for page in pages for record in page.records}
    assert ids == {row["accountid"] for row in env.sandbox.all("accounts")}
    record = pages[0].records[0]
    assert record.version is not None
    assert record.version.startswith('W/"')
    assert record.modified_at is not None
    assert set(record.values) <= {*ACCOUNT_FIELDS, _annotation("_parentaccountid_value")}


async def test_delta_link_returns_updates_and_deletions_when_rows_changed_since_token(env):
    baseline = await collect(read_accounts(env))
    delta_link = baseline[-1].delta_link
    first, second, third = (row["accountid"] for row in env.sandbox.all("accounts")[:3])
    env.sandbox.edit("accounts", first, {"telephone1": "555-0101"})
    env.sandbox.delete("accounts", second)
    created = env.sandbox.create("accounts", {"name": "Fabrikam"})["accountid"]

    pages = await collect(read_accounts(env, delta_link=delta_link))

    records = {record.id: record for page in pages for record in page.records}
    assert set(records) == {first, second, created}
    assert records[first].values["telephone1"] == "555-0101"
    assert records[second].deleted
    assert records[second].values == {}
    assert records[created].values["name"] == "Fabrikam"
    assert third not in records
    assert pages[-1].mode is ReadMode.DELTA
    assert pages[-1].delta_link not in (None, delta_link)
    again = await collect(read_accounts(env, delta_link=pages[-1].delta_link))
    assert [record for page in again for record in page.records] == []


async def test_read_falls_back_to_modifiedon_when_delta_token_expired(env):
    baseline = await collect(read_accounts(env))
    env.sandbox.advance_clock(timedelta(days=8))
    since = env.sandbox.now()
    changed = env.sandbox.all("accounts")[0]["accountid"]
    env.sandbox.advance_clock(timedelta(minutes=1))
    env.sandbox.edit("accounts", changed, {"name": "Renamed"})

    pages = await collect(read_accounts(env, delta_link=baseline[-1].delta_link, since=since))

    assert [record.id for page in pages for record in page.records] == [changed]
    assert all(page.mode is ReadMode.MODIFIED_SINCE for page in pages)
    assert all(page.delta_link is None for page in pages)
    assert "expired" in (pages[0].fallback_reason or "")


async def test_read_falls_back_to_modifiedon_when_table_has_no_change_tracking(env):
    env.sandbox.set_change_tracking("accounts", enabled=False)
    rows = env.sandbox.all("accounts")
    since = env.sandbox.now()
    env.sandbox.advance_clock(timedelta(minutes=10))
    env.sandbox.edit("accounts", rows[0]["accountid"], {"accountnumber": "A-1"})
    env.sandbox.edit("accounts", rows[1]["accountid"], {"accountnumber": "B-1"})

    pages = await collect(
        read_accounts(env, since=since, odata_filter="startswith(accountnumber,'A-')")
    )

    assert [record.id for page in pages for record in page.records] == [rows[0]["accountid"]]
    assert "not enabled" in (pages[0].fallback_reason or "")


async def test_overlap_rereads_rows_changed_just_before_the_watermark_when_not_tracking(env):
    row = env.sandbox.all("accounts")[0]
    env.sandbox.advance_clock(timedelta(hours=1))
    env.sandbox.edit("accounts", row["accountid"], {"name": "Edited"})
    since = env.sandbox.now() + timedelta(minutes=2)

    pages = await collect(read_accounts(env, since=since, track_changes=False))

    assert [record.id for page in pages for record in page.records] == [row["accountid"]]
    assert pages[0].fallback_reason is None


async def test_lookup_keeps_its_target_table_when_lookup_is_polymorphic(env):
    contact = env.sandbox.all("contacts")[0]["contactid"]
    parent = env.sandbox.all("accounts")[0]["accountid"]
    env.sandbox.edit(
        "contacts", contact, {"parentcustomerid_account@odata.bind": f"/accounts({parent})"}
    )

    found = [
        record
        async for chunk in env.connector.read_by_ids(
            "contacts", [contact], id_field="contactid", fields=["_parentcustomerid_value"]
        )
        for record in chunk
    ]

    assert [record.values for record in found] == [
        {"_parentcustomerid_value": parent, _annotation("_parentcustomerid_value"): "account"}
    ]


async def test_read_by_ids_returns_existing_rows_when_ids_span_several_requests(env):
    ids = [row["accountid"] for row in env.sandbox.all("accounts")]
    connector = DataverseConnector(env.client, ids_per_request=5)
    wanted = [*ids, "0b6a1d7e-0000-4000-8000-000000000000", "not-a-guid", ids[0]]

    chunks = [
        chunk
        async for chunk in connector.read_by_ids(
            "accounts", wanted, id_field="accountid", fields=["name"]
        )
    ]

    assert [len(chunk) for chunk in chunks] == [5, 5, 2]
    assert [record.id for chunk in chunks for record in chunk] == ids
    assert env.client.accounting.reads == 3


async def test_query_error_raised_when_tracked_read_fails_for_another_reason(env):
    with pytest.raises(PermanentConnectorError) as raised:
        await collect(read_accounts(env, fields=["nosuchcolumn"]))

    assert raised.value.status == 400


async def test_page_size_refused_when_above_dataverse_maximum(env):
    with pytest.raises(ConfigError):
        await collect(read_accounts(env, page_size=5001))


def _annotation(name: str) -> str:
    return f"{name}@Microsoft.Dynamics.CRM.lookuplogicalname"
