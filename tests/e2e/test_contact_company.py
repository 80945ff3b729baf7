"""A contact's company end to end: BC business relations ⇄ Dataverse parent accounts.

The BC emulator gives every customer and vendor a company contact with a business relation, as
BC's marketing setup does, and serves them as ``contactsInformation``; the standard CONTACT
mapping links a person contact's ``companyNumber`` to its Dataverse row's parent account.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from sync.engine.planner import dataverse_id_for
from tests.e2e.conftest import SandboxWorld

pytestmark = pytest.mark.azurite

LATER = timedelta(seconds=2)


async def account_of_company(world: SandboxWorld, company_number: str) -> str | None:
    """The account coupled to the customer (else vendor) whose company contact has the number."""
    company = world.company
    contact = next(c for c in world.bc.all(company, "contacts") if c["number"] == company_number)
    for mapping, entity_set in (("CUSTOMER", "customers"), ("VENDOR", "vendors")):
        for record in world.bc.all(company, entity_set):
            related = world.bc.related_contact(company, record["id"])
            if related is not None and related["id"] == contact["id"]:
                coupling = await world.coupling_of_bc(mapping, record["id"])
                if coupling is not None:
                    return coupling.dataverse_id
    return None


async def linked_companies(world: SandboxWorld) -> dict[str, str]:
    """Company contact number by account id, for every coupled customer and vendor."""
    linked = {}
    for mapping in ("CUSTOMER", "VENDOR"):
        for coupling in await world.couplings(mapping):
            contact = world.bc.related_contact(world.company, coupling.bc_id)
            if contact is not None and contact["type"] == "Company":
                linked.setdefault(coupling.dataverse_id, contact["number"])
    return linked


async def test_bc_people_get_their_companys_account_as_parent_when_synced(synced):
    pairs = await synced.couplings("CONTACT")
    people = [
        (pair, synced.bc.get(synced.company, "contacts", pair.bc_id))
        for pair in pairs
        if synced.bc.get(synced.company, "contacts", pair.bc_id)["companyNumber"]
    ]

    assert people, "the full sync coupled no person contacts"
    for pair, contact in people:
        row = synced.dataverse.get("contacts", pair.dataverse_id)
        expected = await account_of_company(synced, contact["companyNumber"])
        assert expected is not None
        assert row["_parentcustomerid_value"] == expected, contact["number"]
        assert synced.account(expected) is not None


async def test_dataverse_contacts_land_in_their_accounts_company_when_created_in_bc(synced):
    linked = await linked_companies(synced)
    from_dataverse = [
        pair
        for pair in await synced.couplings("CONTACT")
        if pair.dataverse_id != dataverse_id_for(synced.scope(), "CONTACT", pair.bc_id)
    ]

    assert from_dataverse, "the full sync created no BC contact from a Dataverse contact"
    for pair in from_dataverse:
        row = synced.dataverse.get("contacts", pair.dataverse_id)
        contact = synced.bc.get(synced.company, "contacts", pair.bc_id)
        assert contact["companyNumber"] == linked[row["_parentcustomerid_value"]]


async def test_bc_contact_moves_to_the_new_company_when_reparented_in_dataverse(synced):
    linked = await linked_companies(synced)
    pair = sorted(await synced.couplings("CONTACT"), key=lambda c: c.bc_id)[0]
    current = synced.dataverse.get("contacts", pair.dataverse_id)["_parentcustomerid_value"]
    target = next(account for account in sorted(linked) if account != current)
    synced.clock.advance(LATER)
    synced.dataverse.edit(
        "contacts",
        pair.dataverse_id,
        {"parentcustomerid_account@odata.bind": f"/accounts({target})"},
    )

    before = synced.counters()
    result = await synced.run()
    carried = synced.requests_since(before)

    assert result.run.counters.failed == 0, result.errors
    assert result.run.counters.modified == 1
    moved = synced.bc.get(synced.company, "contacts", pair.bc_id)
    assert moved["companyNumber"] == linked[target]
    assert carried.dataverse_writes() == 0, carried.dataverse
    for _ in range(2):
        before = synced.counters()
        quiet = await synced.run()
        assert synced.requests_since(before).writes() == 0
        assert quiet.run.counters.modified == quiet.run.counters.failed == 0
    coupling = await synced.coupling_of_bc("CONTACT", pair.bc_id)
    assert coupling.base_bc["companyNumber"] == linked[target]
    assert coupling.base_dataverse["parentcustomerid"] == target


async def test_dataverse_parent_follows_when_bc_contact_moves_to_another_company(synced):
    linked = await linked_companies(synced)
    pair = sorted(await synced.couplings("CONTACT"), key=lambda c: c.bc_id)[-1]
    current = synced.bc.get(synced.company, "contacts", pair.bc_id)["companyNumber"]
    target = next(account for account, number in sorted(linked.items()) if number != current)
    synced.clock.advance(LATER)
    synced.bc.edit(synced.company, "contacts", pair.bc_id, {"companyNumber": linked[target]})

    result = await synced.run()

    assert result.run.counters.modified == 1, result.errors
    row = synced.dataverse.get("contacts", pair.dataverse_id)
    assert row["_parentcustomerid_value"] == target


async def test_contact_of_an_account_made_in_dataverse_joins_the_new_customer_in_bc(synced):
    account = synced.dataverse.create(
        "accounts", {"name": "Nordlys Handel AS", "customertypecode": 3}
    )
    synced.dataverse.create(
        "contacts",
        {
            "firstname": "Ingrid",
            "lastname": "Nordlys",
            "emailaddress1": "ingrid@nordlys.example",
            "parentcustomerid_account@odata.bind": f"/accounts({account['accountid']})",
        },
    )
    await synced.configure("CUSTOMER", sync_only_coupled=False)
    await synced.configure("CONTACT", sync_only_coupled=False)
    synced.clock.advance(LATER)

    result = await synced.run()

    assert result.run.counters.failed == 0, result.errors
    customer = next(
        c for c in await synced.couplings("CUSTOMER") if c.dataverse_id == account["accountid"]
    )
    company = synced.bc.related_contact(synced.company, customer.bc_id)
    [person] = [
        c
        for c in synced.bc.all(synced.company, "contacts")
        if c["email"] == "ingrid@nordlys.example"
    ]
    assert person["companyNumber"] == company["number"]
    assert person["companyName"] == "Nordlys Handel AS"


async def test_contact_not_moved_and_error_recorded_when_new_parent_is_not_coupled(synced):
    stray = synced.dataverse.create("accounts", {"name": "Competitor Ltd", "customertypecode": 1})
    pair = sorted(await synced.couplings("CONTACT"), key=lambda c: c.bc_id)[0]
    before = synced.bc.get(synced.company, "contacts", pair.bc_id)
    synced.clock.advance(LATER)
    synced.dataverse.edit(
        "contacts",
        pair.dataverse_id,
        {
            "parentcustomerid_account@odata.bind": f"/accounts({stray['accountid']})",
            "telephone1": "+47 5555 0101",
        },
    )

    result = await synced.run()

    [error] = await synced.store.runs.list_errors(synced.scope(), result.run.id)
    assert (error.mapping, error.record_id, error.code) == (
        "CONTACT",
        pair.dataverse_id,
        "CompanyLinkUnresolved",
    )
    assert f"parent account {stray['accountid']} is not coupled in CUSTOMER or VENDOR" in (
        error.message
    )
    after = synced.bc.get(synced.company, "contacts", pair.bc_id)
    assert after["companyNumber"] == before["companyNumber"]
    assert after["phoneNumber"] == before["phoneNumber"]
    assert after["@odata.etag"] == before["@odata.etag"]


async def test_bc_person_of_a_prospect_not_created_in_dataverse_when_synced(synced):
    prospect = synced.bc.insert(
        synced.company, "contacts", {"type": "Company", "displayName": "Maybe Later GmbH"}
    )
    person = synced.bc.insert(
        synced.company,
        "contacts",
        {
            "type": "Person",
            "displayName": "Klaus Vielleicht",
            "companyNumber": prospect.values["number"],
        },
    )
    await synced.configure("CONTACT", sync_only_coupled=False)
    synced.clock.advance(LATER)

    result = await synced.run()

    [error] = await synced.store.runs.list_errors(synced.scope(), result.run.id)
    assert (error.record_id, error.code) == (person.id, "CompanyLinkUnresolved")
    assert f"company contact {prospect.values['number']} has no business relation" in (
        error.message
    )
    assert await synced.coupling_of_bc("CONTACT", person.id) is None
