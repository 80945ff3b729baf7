"""A contact's company link (BC companyNumber ⇄ Dataverse parentcustomerid), on in-memory sides."""

from __future__ import annotations

import itertools

import pytest

from sync.engine.fields import (
    LookupFailedError,
    LookupTable,
    dataverse_payload,
    read_dataverse,
    translate_to_bc,
)
from sync.engine.operation import OperationKind
from sync.engine.planner import dataverse_id_for
from sync.mappings.standard import COMPANY_FIELD
from sync.models import (
    Condition,
    FieldMapping,
    Filter,
    Lookup,
    MappingSet,
    Operator,
    Record,
    RunMode,
    Side,
    TableMapping,
)
from tests.fakes.world import SCOPE, World

LOOKUP_TABLE = "_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"


def _accounts(name: str, bc_entity: str, account_type: int) -> TableMapping:
    return TableMapping(
        name=name,
        bc_entity=bc_entity,
        dataverse_table="account",
        dataverse_entity_set="accounts",
        direction="bidirectional",
        bc_filter=Filter(all_of=(Condition(field="blocked", op=Operator.EQ, value=" "),)),
        dataverse_filter=Filter(
            all_of=(Condition(field="customertypecode", op=Operator.EQ, value=account_type),)
        ),
        fields=(FieldMapping(bc_field="displayName", dataverse_field="name"),),
        dataverse_defaults={"customertypecode": account_type},
        bc_defaults={"blocked": " "},
    )


CUSTOMER = _accounts("CUSTOMER", "customers", 3)
VENDOR = _accounts("VENDOR", "vendors", 11)
CONTACT = TableMapping(
    name="CONTACT",
    bc_entity="contacts",
    dataverse_table="contact",
    dataverse_entity_set="contacts",
    direction="bidirectional",
    bc_filter=Filter(
        all_of=(
            Condition(field="type", op=Operator.EQ, value="Person"),
            Condition(field="companyNumber", op=Operator.NE, value=""),
        )
    ),
    dataverse_filter=Filter(
        all_of=(Condition(field="_parentcustomerid_value", op=Operator.NE, value=None),)
    ),
    fields=(
        FieldMapping(bc_field="email", dataverse_field="emailaddress1"),
        FieldMapping(
            bc_field="displayName", dataverse_field="fullname", direction="from_dataverse"
        ),
        FieldMapping(bc_field="type", constant="Person", direction="from_dataverse"),
        COMPANY_FIELD,
    ),
    depends_on=("CUSTOMER", "VENDOR"),
)
MAPPINGS = MappingSet(mappings=(CUSTOMER, VENDOR, CONTACT))
_numbers = itertools.count(10, 10)


class ContactWorld(World):
    """Customers and vendors with company contacts, as BC's marketing setup makes them."""

    def company(self, mapping: TableMapping, name: str, *, blocked: str = " ") -> Record:
        """A customer or vendor and its company contact; returns the company contact."""
        related = self.bc.put(mapping, {"displayName": name, "blocked": blocked})
        contact = self.prospect(name)
        self.bc.relate(related.id, contact, related_number=f"N-{name}")
        return contact

    def prospect(self, name: str) -> Record:
        """A company contact with no business relation."""
        number = f"CT{next(_numbers):06d}"
        values = {"type": "Company", "number": number, "companyNumber": number, "email": ""}
        return self.bc.put(CONTACT, values | {"displayName": name})

    def person(self, company: Record | None, email: str) -> Record:
        number = f"CT{next(_numbers):06d}"
        company_number = company.values["number"] if company is not None else ""
        values = {"type": "Person", "number": number, "companyNumber": company_number}
        return self.bc.put(
            CONTACT, values | {"email": email, "displayName": email.split("@", maxsplit=1)[0]}
        )

    def account_of(self, company: Record) -> str:
        related_id = next(r for r, rel in self.bc.relations.items() if rel.contact_id == company.id)
        entity = "CUSTOMER" if related_id in self.bc.tables.get("customers", {}) else "VENDOR"
        return dataverse_id_for(SCOPE.key, entity, related_id)

    def dataverse_contact(self, parent: str | None, email: str, *, table: str = "account"):
        values = {"emailaddress1": email}
        if parent is not None:
            values |= {"_parentcustomerid_value": parent, LOOKUP_TABLE: table}
        return self.dataverse.put(CONTACT, values)

    async def errors(self, result):
        return await self.state.runs.list_errors(SCOPE.key, result.run.id)


@pytest.fixture
async def world():
    world = ContactWorld()
    await world.state.mappings.save_mappings(SCOPE.key, MAPPINGS)
    return world


async def contact_pair(world, bc_id: str):
    return await world.state.couplings.get_by_bc_id(SCOPE.key, "CONTACT", bc_id)


# --- BC → Dataverse ------------------------------------------------------------------------------


async def test_bc_person_gets_its_companys_account_as_parent_when_synced_to_dataverse(world):
    adatum = world.company(CUSTOMER, "Adatum")
    fabrikam = world.company(VENDOR, "Fabrikam")
    anna = world.person(adatum, "anna@adatum.example")
    bjorn = world.person(fabrikam, "bjorn@fabrikam.example")

    result = await world.run(RunMode.FULL)

    assert result.run.counters.failed == 0, result.errors
    for person, company in ((anna, adatum), (bjorn, fabrikam)):
        pair = await contact_pair(world, person.id)
        row = world.dataverse.tables["contacts"][pair.dataverse_id]
        assert row.values["_parentcustomerid_value"] == world.account_of(company)
        assert row.values[LOOKUP_TABLE] == "account"
        assert pair.base_bc["companyNumber"] == company.values["number"]
        assert pair.base_dataverse["parentcustomerid"] == world.account_of(company)
    creates = [w for w in world.dataverse.writes if "emailaddress1" in w.values]
    assert {w.values["parentcustomerid_account@odata.bind"] for w in creates} == {
        f"/accounts({world.account_of(adatum)})",
        f"/accounts({world.account_of(fabrikam)})",
    }


async def test_business_relations_read_once_per_mapping_when_many_contacts_sync(world):
    companies = [world.company(CUSTOMER, f"Customer {n}") for n in range(5)]
    for n in range(30):
        world.person(companies[n % 5], f"p{n}@example.com")
    await world.run(RunMode.FULL, mappings=["CUSTOMER", "VENDOR"])

    result = await world.run(RunMode.FULL, mappings=["CONTACT"])

    assert result.run.counters.inserted == 30
    assert world.bc.relation_reads == 2  # customers, then vendors


async def test_parent_rebound_when_bc_contact_moves_to_another_company(world):
    adatum = world.company(CUSTOMER, "Adatum")
    contoso = world.company(CUSTOMER, "Contoso")
    anna = world.person(adatum, "anna@adatum.example")
    await world.run(RunMode.FULL)

    world.bc.put(CONTACT, {"companyNumber": contoso.values["number"]}, anna.id)
    result = await world.run()

    assert result.run.counters.modified == 1, result.errors
    pair = await contact_pair(world, anna.id)
    assert world.dataverse.writes[-1].values == {
        "parentcustomerid_account@odata.bind": f"/accounts({world.account_of(contoso)})"
    }
    row = world.dataverse.tables["contacts"][pair.dataverse_id]
    assert row.values["_parentcustomerid_value"] == world.account_of(contoso)


# --- Dataverse → BC ------------------------------------------------------------------------------


async def test_dataverse_contact_created_in_its_accounts_company_when_synced_to_bc(world):
    adatum = world.company(CUSTOMER, "Adatum")
    await world.run(RunMode.FULL, mappings=["CUSTOMER", "VENDOR"])
    row = world.dataverse_contact(world.account_of(adatum), "eve@adatum.example")

    result = await world.run(RunMode.FULL, mappings=["CONTACT"])

    assert result.run.counters.inserted == 1, result.errors
    pair = await world.state.couplings.get_by_dataverse_id(SCOPE.key, "CONTACT", row.id)
    created = world.bc.tables["contacts"][pair.bc_id].values
    assert created["companyNumber"] == adatum.values["number"]
    assert created["type"] == "Person"


async def test_bc_contact_moves_to_the_other_company_when_reparented_in_dataverse(world):
    adatum = world.company(CUSTOMER, "Adatum")
    fabrikam = world.company(VENDOR, "Fabrikam")
    anna = world.person(adatum, "anna@adatum.example")
    await world.run(RunMode.FULL)
    pair = await contact_pair(world, anna.id)

    world.dataverse.put(
        CONTACT,
        {"_parentcustomerid_value": world.account_of(fabrikam), LOOKUP_TABLE: "account"},
        pair.dataverse_id,
    )
    result = await world.run()

    assert result.run.counters.modified == 1, result.errors
    assert world.bc.writes[-1].values == {"companyNumber": fabrikam.values["number"]}
    moved = world.bc.tables["contacts"][anna.id]
    assert moved.values["companyNumber"] == fabrikam.values["number"]


# --- echoes --------------------------------------------------------------------------------------


async def test_link_written_once_without_echo_when_later_runs_follow(world):
    adatum = world.company(CUSTOMER, "Adatum")
    fabrikam = world.company(VENDOR, "Fabrikam")
    anna = world.person(adatum, "anna@adatum.example")
    await world.run(RunMode.FULL)
    pair = await contact_pair(world, anna.id)
    world.dataverse.put(
        CONTACT,
        {"_parentcustomerid_value": world.account_of(fabrikam), LOOKUP_TABLE: "account"},
        pair.dataverse_id,
    )
    await world.run()
    writes = world.bc.write_calls + world.dataverse.write_calls

    for _ in range(2):
        result = await world.run()
        assert result.run.counters.modified == result.run.counters.failed == 0

    assert world.bc.write_calls + world.dataverse.write_calls == writes
    settled = await contact_pair(world, anna.id)
    assert settled.base_bc["companyNumber"] == fabrikam.values["number"]
    assert settled.base_dataverse["parentcustomerid"] == world.account_of(fabrikam)


async def test_bc_name_kept_when_its_new_dataverse_row_has_no_full_name(world):
    """Dataverse composes fullname from name parts the mapping does not write: it stays empty.

    Once the person's row has a parent it is read back like any contact of an account; the
    empty fullname of the new row is its base, not a change to carry over the BC name.
    """
    anna = world.person(world.company(CUSTOMER, "Adatum"), "anna@adatum.example")
    await world.run(RunMode.FULL)
    writes = world.bc.write_calls

    await world.run(RunMode.FULL)
    await world.run()

    assert world.bc.write_calls == writes
    assert world.bc.tables["contacts"][anna.id].values["displayName"] == "anna"


async def test_unchanged_parent_not_rewritten_when_other_field_changes(world):
    adatum = world.company(CUSTOMER, "Adatum")
    anna = world.person(adatum, "anna@adatum.example")
    await world.run(RunMode.FULL)

    world.bc.put(CONTACT, {"email": "anna@new.example"}, anna.id)
    await world.run()

    assert world.dataverse.writes[-1].values == {"emailaddress1": "anna@new.example"}


# --- failures ------------------------------------------------------------------------------------


def _bc_person_of_prospect(world):
    return world.person(world.prospect("Prospect Ltd"), "p@prospect.example")


def _bc_person_of_blocked_customer(world):
    return world.person(world.company(CUSTOMER, "Blocked Inc", blocked="All"), "b@blocked.example")


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(_bc_person_of_prospect, "has no business relation", id="no relation"),
        pytest.param(
            _bc_person_of_blocked_customer,
            "belongs to customer N-Blocked Inc, which is not coupled in mapping CUSTOMER; "
            "sync CUSTOMER first",
            id="customer not coupled",
        ),
    ],
)
async def test_bc_contact_not_created_when_its_company_cannot_be_resolved(world, make, expected):
    person = make(world)

    result = await world.run(RunMode.FULL)

    [error] = await world.errors(result)
    assert (error.code, error.record_id, error.mapping) == (
        "CompanyLinkUnresolved",
        person.id,
        "CONTACT",
    )
    assert expected in error.message
    assert error.message.startswith("companyNumber ⇄ parentcustomerid: ")
    assert "contacts" not in world.dataverse.tables or not world.dataverse.tables["contacts"]


def _parent_not_coupled(world):
    return world.dataverse_contact("0f0e0d0c-0000-4000-8000-000000000001", "x@example.com")


def _parent_is_a_contact(world):
    other = world.dataverse_contact(None, "boss@example.com")
    return world.dataverse_contact(other.id, "x@example.com", table="contact")


def _parent_without_company_contact(world):
    customer = world.bc.put(CUSTOMER, {"displayName": "Lonely", "blocked": " "})
    return world.dataverse_contact(dataverse_id_for(SCOPE.key, "CUSTOMER", customer.id), "x@e.com")


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(
            _parent_not_coupled,
            "is not coupled in CUSTOMER or VENDOR; sync CUSTOMER or VENDOR first",
            id="account not coupled",
        ),
        pytest.param(
            _parent_without_company_contact,
            "is coupled to customer",
            id="customer without company contact",
        ),
    ],
)
async def test_dataverse_contact_not_created_when_its_parent_cannot_be_resolved(
    world, make, expected
):
    row = make(world)

    result = await world.run(RunMode.FULL)

    failed = [e for e in await world.errors(result) if e.record_id == row.id]
    assert [e.code for e in failed] == ["CompanyLinkUnresolved"]
    assert expected in failed[0].message
    assert not world.bc.tables.get("contacts")


async def test_dataverse_contact_left_out_when_its_parent_is_a_contact(world):
    """BC's filter takes only contacts whose parent is an account; the rest are not pulled."""
    row = _parent_is_a_contact(world)

    result = await world.run(RunMode.FULL, dry_run=True)

    [skipped] = [op for op in result.plan if op.dataverse_id == row.id]
    assert skipped.kind is OperationKind.SKIP
    assert skipped.reason == (
        f"outside the mapping's filter: its parentcustomerid points at contact "
        f"{row.values['_parentcustomerid_value']}, and mapping CONTACT takes only rows whose "
        "parentcustomerid points at the account table"
    )


async def test_coupled_contact_fails_when_reparented_to_a_contact_in_dataverse(world):
    adatum = world.company(CUSTOMER, "Adatum")
    anna = world.person(adatum, "anna@adatum.example")
    await world.run(RunMode.FULL)
    pair = await contact_pair(world, anna.id)
    boss = world.dataverse_contact(None, "boss@example.com")

    world.dataverse.put(
        CONTACT, {"_parentcustomerid_value": boss.id, LOOKUP_TABLE: "contact"}, pair.dataverse_id
    )
    result = await world.run()

    [error] = await world.errors(result)
    assert error.code == "CompanyLinkUnresolved"
    assert f"its parent is a contact ({boss.id}), not an account" in error.message
    assert world.bc.tables["contacts"][anna.id].values["companyNumber"] == adatum.values["number"]


async def test_other_changes_held_back_when_the_new_parent_cannot_be_resolved(world):
    adatum = world.company(CUSTOMER, "Adatum")
    anna = world.person(adatum, "anna@adatum.example")
    await world.run(RunMode.FULL)
    pair = await contact_pair(world, anna.id)
    stray = "0f0e0d0c-0000-4000-8000-000000000002"

    world.dataverse.put(
        CONTACT,
        {"emailaddress1": "anna@moved.example", "_parentcustomerid_value": stray},
        pair.dataverse_id,
    )
    result = await world.run()

    [error] = await world.errors(result)
    assert f"parent account {stray} is not coupled" in error.message
    assert world.bc.tables["contacts"][anna.id].values["email"] == "anna@adatum.example"
    assert world.bc.tables["contacts"][anna.id].values["companyNumber"] == adatum.values["number"]


async def test_coupled_contact_fails_when_synced_by_id_after_its_company_was_cleared(world):
    """Runs no longer see it (the BC filter wants a company); syncing it by id says why."""
    adatum = world.company(CUSTOMER, "Adatum")
    anna = world.person(adatum, "anna@adatum.example")
    await world.run(RunMode.FULL)
    world.bc.put(CONTACT, {"companyNumber": "", "email": "anna@home.example"}, anna.id)

    quiet = await world.run()
    result = await world.record_operations().sync_record("CONTACT", Side.BC, anna.id)

    assert quiet.run.counters.failed == quiet.run.counters.modified == 0
    [error] = await world.errors(result)
    assert "the contact has no company (companyNumber is blank)" in error.message
    pair = await contact_pair(world, anna.id)
    row = world.dataverse.tables["contacts"][pair.dataverse_id]
    assert row.values["_parentcustomerid_value"] == world.account_of(adatum)


# --- field level ---------------------------------------------------------------------------------

LINK_TABLE = LookupTable(mapping="CUSTOMER+VENDOR company_contact", entity_set="accounts")
LINK_TABLES = {COMPANY_FIELD.lookup.table_key: LINK_TABLE}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param(
            {"_parentcustomerid_value": "AB-1", LOOKUP_TABLE: "account"}, "ab-1", id="account"
        ),
        pytest.param({"_parentcustomerid_value": "AB-1"}, "ab-1", id="no annotation"),
        pytest.param(
            {"_parentcustomerid_value": "AB-1", LOOKUP_TABLE: "contact"},
            "contact(ab-1)",
            id="a contact",
        ),
        pytest.param({"_parentcustomerid_value": None}, None, id="none"),
    ],
)
def test_parent_read_with_its_table_when_lookup_is_polymorphic(values, expected):
    assert read_dataverse(COMPANY_FIELD, values, LINK_TABLES) == expected


def test_parent_bound_through_the_account_navigation_when_written():
    assert dataverse_payload(COMPANY_FIELD, "ab-1", LINK_TABLES) == (
        "parentcustomerid_account@odata.bind",
        "/accounts(ab-1)",
    )


def test_row_of_another_table_named_when_a_plain_polymorphic_lookup_fails():
    field = COMPANY_FIELD.model_copy(
        update={"lookup": Lookup(mapping="CUSTOMER", dataverse_target="account")}
    )
    tables = {"CUSTOMER": LookupTable(mapping="CUSTOMER", entity_set="accounts")}

    with pytest.raises(LookupFailedError) as caught:
        translate_to_bc(field, "contact(ab-1)", tables)

    assert caught.value.code == "LookupNotCoupled"
    assert "'ab-1' is in the contact table, but only account rows translate through CUSTOMER" in (
        str(caught.value)
    )
