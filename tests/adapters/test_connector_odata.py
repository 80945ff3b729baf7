"""OData literals and date-times in real filters against the BC emulator."""

from __future__ import annotations

import pytest

from sync.connectors.accounting import RequestKind
from sync.connectors.odata import format_datetime, in_chunks, parse_datetime, quote_literal
from sync.connectors.service_client import ServiceClient
from tests.adapters.connector_sandbox import Sandbox, build_sandbox

TRICKY_NAME = "O'Brien & Sons #1 + 50% 'quoted'"


@pytest.fixture
def sandbox() -> Sandbox:
    return build_sandbox(records=12)


async def customers(client: ServiceClient, company: str, filter_text: str) -> list[dict]:
    response = await client.request(
        "GET",
        f"companies({company})/customers",
        kind=RequestKind.READ,
        idempotent=True,
        params={"$filter": filter_text},
    )
    return response.json()["value"]


async def rename_first_customer(sandbox: Sandbox, company: str, name: str) -> dict:
    rows = (await sandbox.control("GET", f"/_sandbox/bc/companies({company})/customers"))["value"]
    path = f"/_sandbox/bc/companies({company})/customers({rows[0]['id']})"
    return await sandbox.control("PATCH", path, json={"displayName": name})


async def test_exactly_the_named_record_found_when_name_has_quotes_and_url_characters(sandbox):
    company = await sandbox.company_id()
    renamed = await rename_first_customer(sandbox, company, TRICKY_NAME)
    async with sandbox.client("bc") as client:
        found = await customers(client, company, f"displayName eq {quote_literal(TRICKY_NAME)}")

    assert [row["id"] for row in found] == [renamed["id"]]


async def test_nothing_found_when_quoted_value_tries_to_widen_the_filter(sandbox):
    company = await sandbox.company_id()
    attack = "x' or displayName ne 'x"
    async with sandbox.client("bc") as client:
        found = await customers(client, company, f"displayName eq {quote_literal(attack)}")
        everyone = await customers(client, company, "displayName ne 'x'")

    assert found == []
    assert len(everyone) == 12


async def test_record_found_by_its_own_change_time_when_datetime_is_round_tripped(sandbox):
    company = await sandbox.company_id()
    async with sandbox.client("bc") as client:
        rows = await customers(client, company, "displayName ne ''")
        latest = max(parse_datetime(row["lastModifiedDateTime"]) for row in rows)
        since = await customers(
            client, company, f"lastModifiedDateTime ge {format_datetime(latest)}"
        )

    assert since
    assert all(parse_datetime(row["lastModifiedDateTime"]) >= latest for row in since)


async def test_every_record_fetched_once_when_ids_are_asked_in_chunks(sandbox):
    company = await sandbox.company_id()
    async with sandbox.client("bc") as client:
        ids = [row["id"] for row in await customers(client, company, "displayName ne ''")]
        fetched: list[str] = []
        for chunk in in_chunks(ids, 5):
            filter_text = " or ".join(f"id eq {identifier}" for identifier in chunk)
            fetched += [row["id"] for row in await customers(client, company, filter_text)]

    assert sorted(fetched) == sorted(ids)
    assert client.accounting.reads == 1 + 3
