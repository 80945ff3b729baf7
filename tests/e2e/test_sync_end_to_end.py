"""The engine end to end: sandbox emulators, the standard mappings, state in Azure Table Storage.

Every test plays users through the emulators' control planes and checks what the services hold
afterwards, the couplings in the store, and (for echoes and cost) the emulators' request counters.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from sync.connectors.dataverse_gateway import DataverseCompany
from sync.engine.record_operations import RecordOperations
from sync.models import RunMode, Scope, Side
from tests.e2e.conftest import SandboxWorld

pytestmark = pytest.mark.azurite

LATER = timedelta(seconds=2)
"""Between two users' edits: more than Dataverse's one-second ``modifiedon`` resolution."""


async def first_pair(world: SandboxWorld, mapping: str = "CUSTOMER"):
    couplings = sorted(await world.couplings(mapping), key=lambda c: c.bc_id)
    assert couplings, f"the full sync coupled no {mapping} records"
    return couplings[0]


def company_row(world: SandboxWorld, company: str) -> str:
    """The ``bcbi_company`` row the engine tags a company's Dataverse rows with."""
    scope = Scope(
        tenant=world.engine.tenant, environment=world.engine.environment, company_id=company
    )
    return DataverseCompany.for_scope(scope).row_id


async def errors_of(world: SandboxWorld, run_id: str):
    return await world.store.runs.list_errors(world.scope(), run_id)


# --- both ways ---------------------------------------------------------------------------------


async def test_full_sync_creates_missing_records_both_ways_when_nothing_is_coupled(world):
    company = world.company
    bc_before = {c["id"] for c in world.bc.all(company, "customers")}
    accounts_before = {a["accountid"] for a in world.dataverse.all("accounts")}

    result = await world.run(RunMode.FULL)

    assert result.run.counters.failed == 0, result.errors
    customers = await world.couplings("CUSTOMER")
    coupled_bc = {c.bc_id for c in customers}
    coupled_rows = {c.dataverse_id for c in customers}
    # Every customer BC syncs (not blocked) got an account, and every active customer account
    # got a customer: created on the side where it was missing.
    wanted_bc = {c["id"] for c in world.bc.all(company, "customers") if c["blocked"] == " "}
    assert wanted_bc <= coupled_bc
    ours = (None, company_row(world, company))
    wanted_rows = {
        a["accountid"]
        for a in world.dataverse.all("accounts")
        if a["customertypecode"] == 3 and a["statecode"] == 0 and a["_bcbi_companyid_value"] in ours
    }
    assert wanted_rows <= coupled_rows
    assert coupled_bc - bc_before, "no BC customer was created from a Dataverse account"
    assert coupled_rows - accounts_before, "no Dataverse account was created from a BC customer"
    for name in ("CUSTOMER", "VENDOR", "CONTACT", "CURRENCY"):
        assert await world.couplings(name), f"{name} coupled nothing"
        assert await world.unequal_fields(name) == {}, name


@pytest.mark.parametrize("store_kind", ["azure_table", "sqlite"], indirect=True)
async def test_bc_edit_reaches_dataverse_without_echo_when_later_runs_follow(synced, store_kind):
    pair = await first_pair(synced)
    customer_before = synced.customer(pair.bc_id)
    synced.clock.advance(LATER)
    synced.bc.edit(synced.company, "customers", pair.bc_id, {"city": "Odense"})
    edited = synced.customer(pair.bc_id)

    before = synced.counters()
    result = await synced.run()
    carried = synced.requests_since(before)

    assert result.run.counters.modified == 1
    assert synced.account(pair.dataverse_id)["address1_city"] == "Odense"
    assert carried.bc_writes() == 0, carried.bc
    assert synced.customer(pair.bc_id)["@odata.etag"] == edited["@odata.etag"]
    assert edited["@odata.etag"] != customer_before["@odata.etag"]
    for _ in range(2):
        before = synced.counters()
        quiet = await synced.run()
        requests = synced.requests_since(before)
        assert requests.writes() == 0, requests
        assert quiet.run.counters.modified == quiet.run.counters.inserted == 0
    assert synced.customer(pair.bc_id)["@odata.etag"] == edited["@odata.etag"]


@pytest.mark.parametrize("store_kind", ["azure_table", "sqlite"], indirect=True)
async def test_dataverse_edit_reaches_bc_without_echo_when_later_runs_follow(synced, store_kind):
    pair = await first_pair(synced)
    synced.clock.advance(LATER)
    edited = synced.dataverse.edit("accounts", pair.dataverse_id, {"telephone1": "+45 7000 0001"})

    before = synced.counters()
    result = await synced.run()
    carried = synced.requests_since(before)

    assert result.run.counters.modified == 1
    assert synced.customer(pair.bc_id)["phoneNumber"] == "+45 7000 0001"
    assert carried.dataverse_writes() == 0, carried.dataverse
    assert synced.account(pair.dataverse_id)["versionnumber"] == edited["versionnumber"]
    for _ in range(2):
        before = synced.counters()
        await synced.run()
        assert synced.requests_since(before).writes() == 0
    assert synced.account(pair.dataverse_id)["versionnumber"] == edited["versionnumber"]


async def test_edits_of_different_fields_merge_when_both_sides_changed_one_pair(synced):
    pair = await first_pair(synced)
    synced.clock.advance(LATER)
    synced.bc.edit(synced.company, "customers", pair.bc_id, {"city": "Aalborg"})
    synced.dataverse.edit("accounts", pair.dataverse_id, {"telephone1": "+45 7000 0002"})

    result = await synced.run()

    assert result.run.counters.conflicts == 0
    customer, account = synced.customer(pair.bc_id), synced.account(pair.dataverse_id)
    assert (customer["city"], customer["phoneNumber"]) == ("Aalborg", "+45 7000 0002")
    assert (account["address1_city"], account["telephone1"]) == ("Aalborg", "+45 7000 0002")
    assert await synced.unequal_fields("CUSTOMER") == {}


# --- conflicts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "later_side", "winner"),
    [
        ("bc_wins", Side.DATAVERSE, Side.BC),
        ("dataverse_wins", Side.BC, Side.DATAVERSE),
        ("latest_wins", Side.BC, Side.BC),
        ("latest_wins", Side.DATAVERSE, Side.DATAVERSE),
    ],
    ids=[
        "bc wins though dataverse edited last",
        "dataverse wins though bc edited last",
        "latest wins with bc edited last",
        "latest wins with dataverse edited last",
    ],
)
async def test_conflicting_field_follows_policy_when_edited_on_both_sides(
    synced, policy, later_side, winner
):
    await synced.configure("CUSTOMER", conflict_policy=policy)
    pair = await first_pair(synced)
    values = {Side.BC: "Bergen", Side.DATAVERSE: "Tromsø"}
    synced.clock.advance(LATER)
    for side in (later_side.other, later_side):
        if side is Side.BC:
            synced.bc.edit(synced.company, "customers", pair.bc_id, {"city": values[side]})
        else:
            synced.dataverse.edit("accounts", pair.dataverse_id, {"address1_city": values[side]})
        synced.clock.advance(LATER)

    result = await synced.run()

    assert synced.customer(pair.bc_id)["city"] == values[winner]
    assert synced.account(pair.dataverse_id)["address1_city"] == values[winner]
    assert result.run.counters.failed == 0, result.errors
    before = synced.counters()
    await synced.run()
    assert synced.requests_since(before).writes() == 0


async def test_conflict_is_recorded_and_both_sides_kept_when_policy_is_none(synced):
    pair = await first_pair(synced)
    synced.clock.advance(LATER)
    synced.bc.edit(synced.company, "customers", pair.bc_id, {"city": "Bergen"})
    synced.dataverse.edit(
        "accounts", pair.dataverse_id, {"address1_city": "Tromsø", "telephone1": "+47 5555 0101"}
    )

    result = await synced.run()

    customer, account = synced.customer(pair.bc_id), synced.account(pair.dataverse_id)
    assert customer["city"] == "Bergen"
    assert account["address1_city"] == "Tromsø"
    # Only the conflicting field is held back: the other edit still merges.
    assert customer["phoneNumber"] == "+47 5555 0101"
    assert result.run.counters.conflicts == 1
    recorded = [e for e in await errors_of(synced, result.run.id) if e.code == "Conflict"]
    assert [e.record_id for e in recorded] in ([pair.bc_id], [pair.dataverse_id])
    assert "city" in recorded[0].message


# --- deletions ---------------------------------------------------------------------------------


async def delete_in_dataverse(world: SandboxWorld, pair) -> None:
    world.dataverse.delete("accounts", pair.dataverse_id)


async def delete_in_bc(world: SandboxWorld, pair) -> None:
    # BC has no tombstones: the deletion shows when the coupled account changes and is read.
    world.bc.delete(world.company, "customers", pair.bc_id)
    world.dataverse.edit("accounts", pair.dataverse_id, {"telephone1": "+45 7000 0003"})


@pytest.mark.parametrize("deleted_side", [Side.DATAVERSE, Side.BC], ids=["in dataverse", "in bc"])
async def test_pair_is_kept_with_an_error_when_deletion_policy_is_none(synced, deleted_side):
    pair = await first_pair(synced)
    synced.clock.advance(LATER)
    await (delete_in_bc if deleted_side is Side.BC else delete_in_dataverse)(synced, pair)
    before = synced.counters()

    result = await synced.run()

    assert synced.requests_since(before).writes() == 0
    if deleted_side is Side.BC:
        assert synced.account(pair.dataverse_id) is not None
    else:
        assert synced.customer(pair.bc_id) is not None
    assert await synced.coupling_of_bc("CUSTOMER", pair.bc_id) is not None
    codes = {e.code for e in await errors_of(synced, result.run.id)}
    assert "CoupledRecordDeleted" in codes


@pytest.mark.parametrize("deleted_side", [Side.DATAVERSE, Side.BC], ids=["in dataverse", "in bc"])
async def test_coupling_is_removed_and_survivor_kept_when_policy_is_remove_coupling(
    synced, deleted_side
):
    await synced.configure("CUSTOMER", deletion_policy="remove_coupling")
    pair = await first_pair(synced)
    synced.clock.advance(LATER)
    await (delete_in_bc if deleted_side is Side.BC else delete_in_dataverse)(synced, pair)
    customers = len(synced.bc.all(synced.company, "customers"))
    accounts = synced.dataverse.count("accounts")

    result = await synced.run()

    assert result.run.counters.uncoupled == 1
    assert await synced.coupling_of_bc("CUSTOMER", pair.bc_id) is None
    assert pair.dataverse_id not in {c.dataverse_id for c in await synced.couplings("CUSTOMER")}
    assert len(synced.bc.all(synced.company, "customers")) == customers
    assert synced.dataverse.count("accounts") == accounts


@pytest.mark.parametrize("deleted_side", [Side.DATAVERSE, Side.BC], ids=["in dataverse", "in bc"])
async def test_survivor_side_deletes_too_when_policy_is_propagate(synced, deleted_side):
    await synced.configure("CUSTOMER", deletion_policy="propagate")
    pair = await first_pair(synced)
    synced.clock.advance(LATER)
    await (delete_in_bc if deleted_side is Side.BC else delete_in_dataverse)(synced, pair)

    result = await synced.run()

    assert result.run.counters.deleted == 1
    assert synced.customer(pair.bc_id) is None
    assert synced.account(pair.dataverse_id) is None
    assert await synced.coupling_of_bc("CUSTOMER", pair.bc_id) is None


async def test_deleted_account_is_recreated_from_bc_when_policy_is_restore(synced):
    await synced.configure("CUSTOMER", deletion_policy="restore")
    pair = await first_pair(synced)
    name = synced.customer(pair.bc_id)["displayName"]
    synced.clock.advance(LATER)
    synced.dataverse.delete("accounts", pair.dataverse_id)

    result = await synced.run()

    assert result.run.counters.inserted == 1
    coupling = await synced.coupling_of_bc("CUSTOMER", pair.bc_id)
    assert coupling is not None
    assert synced.account(coupling.dataverse_id)["name"] == name
    assert [c.bc_id for c in await synced.couplings("CUSTOMER") if c.bc_id == pair.bc_id] == [
        pair.bc_id
    ]
    assert await synced.unequal_fields("CUSTOMER") == {}


async def test_deleted_customer_is_recreated_once_from_dataverse_when_policy_is_restore(synced):
    await synced.configure("CUSTOMER", deletion_policy="restore")
    # The highest BC id: its stale coupling sorts after the restored one, so it wins the index.
    pair = max(await synced.couplings("CUSTOMER"), key=lambda c: c.bc_id)
    synced.clock.advance(LATER)
    await delete_in_bc(synced, pair)
    customers = len(synced.bc.all(synced.company, "customers"))

    result = await synced.run()

    assert result.run.counters.inserted == 1
    assert len(synced.bc.all(synced.company, "customers")) == customers + 1
    holding_row = [
        c for c in await synced.couplings("CUSTOMER") if c.dataverse_id == pair.dataverse_id
    ]
    assert len(holding_row) == 1, "the deleted customer's coupling outlived the restore"
    restored = holding_row[0].bc_id
    assert synced.customer(restored)["phoneNumber"] == "+45 7000 0003"
    # Later edits of the account reach the restored customer and restore nothing more.
    for n in range(2):
        synced.clock.advance(LATER)
        synced.dataverse.edit("accounts", pair.dataverse_id, {"telephone1": f"+45 7000 001{n}"})
        await synced.run()
        assert synced.customer(restored)["phoneNumber"] == f"+45 7000 001{n}"
    assert len(synced.bc.all(synced.company, "customers")) == customers + 1


@pytest.mark.parametrize("policy", ["propagate", "restore"])
async def test_coupling_is_removed_without_error_when_both_records_were_deleted(synced, policy):
    await synced.configure("CUSTOMER", deletion_policy=policy)
    pair = await first_pair(synced)
    synced.clock.advance(LATER)
    synced.bc.delete(synced.company, "customers", pair.bc_id)
    synced.dataverse.delete("accounts", pair.dataverse_id)

    result = await synced.run()

    assert await synced.coupling_of_bc("CUSTOMER", pair.bc_id) is None
    assert {e.record_id for e in result.errors}.isdisjoint({pair.bc_id, pair.dataverse_id})


# --- lookups -----------------------------------------------------------------------------------


async def test_customer_currency_resolves_when_currency_and_customer_are_new_in_one_run(synced):
    company = synced.company
    synced.clock.advance(LATER)
    currency = synced.bc.insert(
        company, "currencies", {"code": "ISK", "displayName": "Icelandic krona", "symbol": "kr"}
    )
    customer = synced.bc.insert(
        company, "customers", {"displayName": "Reykjavik Fish Ltd", "currencyCode": "ISK"}
    )

    result = await synced.run(RunMode.FULL)

    assert result.run.counters.failed == 0, result.errors
    currency_pair = await synced.coupling_of_bc("CURRENCY", currency.id)
    customer_pair = await synced.coupling_of_bc("CUSTOMER", customer.id)
    assert currency_pair is not None
    assert customer_pair is not None
    row = synced.dataverse.get("transactioncurrencies", currency_pair.dataverse_id)
    assert row["isocurrencycode"] == "ISK"
    account = synced.account(customer_pair.dataverse_id)
    assert account["_transactioncurrencyid_value"] == currency_pair.dataverse_id


async def test_blank_currency_becomes_base_currency_when_customer_has_local_currency(synced):
    pairs = await synced.couplings("CUSTOMER")
    local = [p for p in pairs if synced.customer(p.bc_id)["currencyCode"] == ""]
    assert local
    base = synced.dataverse.organization.base_currency_id
    assert {synced.account(p.dataverse_id)["_transactioncurrencyid_value"] for p in local} == {base}


async def test_account_in_base_currency_gets_blank_currency_when_created_in_bc(synced):
    base = synced.dataverse.organization.base_currency_id
    row = synced.dataverse.create(
        "accounts",
        {
            "name": "Base Currency Buyer",
            "customertypecode": 3,
            "transactioncurrencyid@odata.bind": f"/transactioncurrencies({base})",
        },
    )

    result = await synced.run(RunMode.FULL)

    assert result.run.counters.failed == 0, result.errors
    pair = await synced.store.couplings.get_by_dataverse_id(
        synced.scope(), "CUSTOMER", row["accountid"]
    )
    assert pair is not None
    assert synced.customer(pair.bc_id)["currencyCode"] == ""


async def test_account_owner_follows_salesperson_when_salesperson_is_coupled_to_a_user(synced):
    company = synced.company
    users = await synced.couplings("SALESPEOPLE")
    if not users:
        # The full sync coupled no salesperson: couple one by hand, as an admin would.
        salesperson = synced.bc.all(company, "salespeoplePurchasers")[0]
        user = next(
            u
            for u in synced.dataverse.all("systemusers")
            if u["islicensed"] and not u["isdisabled"] and not u["isintegrationuser"]
        )
        coupled = await RecordOperations(synced.runner().parts).couple(
            "SALESPEOPLE", salesperson["id"], user["systemuserid"]
        )
        assert coupled.run.counters.failed == 0, coupled.errors
        users = await synced.couplings("SALESPEOPLE")
    salesperson_id, user_id = users[0].bc_id, users[0].dataverse_id
    pair = await first_pair(synced)
    default_owner = synced.account(pair.dataverse_id)["_ownerid_value"]
    assert default_owner != user_id
    synced.clock.advance(LATER)
    code = synced.bc.get(company, "salespeoplePurchasers", salesperson_id)["code"]
    synced.bc.edit(company, "customers", pair.bc_id, {"salespersonCode": code})

    result = await synced.run()

    assert result.run.counters.failed == 0, result.errors
    assert synced.account(pair.dataverse_id)["_ownerid_value"] == user_id


# --- companies ---------------------------------------------------------------------------------


async def test_companies_never_pull_each_others_rows_when_both_sync_one_environment(world):
    first, second = world.companies[:2]
    await world.run(RunMode.FULL, company=first)
    first_row = company_row(world, first)
    rows_of_first = {
        a["accountid"]
        for a in world.dataverse.all("accounts")
        if a["_bcbi_companyid_value"] == first_row
    }
    assert rows_of_first

    result = await world.run(RunMode.FULL, company=second)

    # The second company's local currency is EUR, which its currency table leaves out, so rows
    # of no company in EUR cannot be pulled into it, nor can the contacts of such an account
    # be linked to it: data errors, nothing else.
    codes = {e.code for e in result.errors}
    assert codes <= {"LookupNotCoupled", "CompanyLinkUnresolved"}, result.errors
    second_rows = {
        c.dataverse_id
        for name in ("CUSTOMER", "VENDOR", "CONTACT")
        for c in await world.couplings(name, company=second)
    }
    assert second_rows
    assert not second_rows & rows_of_first
    tags = {
        (world.account(row) or world.dataverse.get("contacts", row))["_bcbi_companyid_value"]
        for row in second_rows
    }
    assert tags <= {None, company_row(world, second)}
    # An edit of a row of the first company reaches the first company only.
    pair = next(c for c in await world.couplings("CUSTOMER") if c.dataverse_id in rows_of_first)
    world.clock.advance(LATER)
    world.dataverse.edit("accounts", pair.dataverse_id, {"address1_city": "Kolding"})
    await world.run(company=second)
    await world.run(company=first)
    assert world.customer(pair.bc_id, company=first)["city"] == "Kolding"
    assert all(c["city"] != "Kolding" for c in world.bc.all(second, "customers"))


# --- cost of a run that finds nothing ----------------------------------------------------------


async def test_no_change_run_writes_nothing_when_nothing_changed_since_last_run(synced):
    await synced.run()
    synced.clock.advance(timedelta(minutes=5))
    before = synced.counters()

    result = await synced.run()

    requests = synced.requests_since(before)
    assert requests.writes() == 0, requests
    assert result.run.counters.inserted == result.run.counters.modified == 0


async def test_no_change_run_reads_once_per_side_and_mapping_when_nothing_changed(synced):
    await synced.run()
    synced.clock.advance(timedelta(minutes=5))
    configuration = [
        m for m in (await synced.mapping_set()).mappings if m.enabled and not m.is_option
    ]
    budget: dict[tuple[Side, str], int] = {}
    for mapping in configuration:
        for key in ((Side.BC, mapping.bc_entity), (Side.DATAVERSE, mapping.dataverse_entity_set)):
            budget[key] = budget.get(key, 0) + 1
    # A contact's company is resolved through the business relations of the customers and
    # vendors: one read of each (expanding contactsInformation) per CONTACT run.
    relations = [(Side.BC, "customers"), (Side.BC, "vendors")]
    for key in relations:
        budget[key] += 1
    before = synced.counters()

    await synced.run()

    requests = synced.requests_since(before)
    spent = {key: requests.reads(key[0], key[1]) for key in budget}
    total = requests.reads(Side.BC) + requests.reads(Side.DATAVERSE)
    assert total <= 2 * len(configuration) + len(relations)
    assert {k: n for k, n in spent.items() if n > budget[k]} == {}, requests
