from __future__ import annotations

from typing import NamedTuple

import pytest

from sync.errors import ConfigError
from sync.mappings import check_mappings, reset_to_defaults, standard_mappings
from sync.mappings import standard as standard_module
from sync.models import ConflictPolicy, DeletionPolicy, Direction, LookupFailure, LookupVia

TO_DV = Direction.TO_DATAVERSE
FROM_DV = Direction.FROM_DATAVERSE
BOTH = Direction.BIDIRECTIONAL
OWNERSHIPS = ["person", "team"]

STANDARD = standard_mappings()
REFERENCE_DATA = ["CURRENCY", "PAYMENT TERMS", "SHIPMENT METHOD", "SHIPPING AGENT"]


@pytest.mark.parametrize("ownership", OWNERSHIPS)
def test_standard_set_passes_catalogue_checks_when_built(ownership):
    check_mappings(standard_mappings(ownership=ownership))


class Table(NamedTuple):
    name: str
    bc_entity: str
    dataverse: str  # table, or table.option_column for option mappings
    direction: Direction
    bc_filter: str | None
    dataverse_filter: str | None
    depends_on: tuple[str, ...]
    company_scoped: bool


TABLES = [
    Table(
        "SALESPEOPLE",
        "salespeoplePurchasers",
        "systemuser",
        FROM_DV,
        None,
        "isdisabled eq false and islicensed eq true and isintegrationuser eq false",
        (),
        False,
    ),
    Table(
        "CUSTOMER",
        "customers",
        "account",
        BOTH,
        "blocked eq ' '",
        "statecode eq 0 and customertypecode eq 3",
        ("SALESPEOPLE", "CURRENCY", "PAYMENT TERMS", "SHIPMENT METHOD"),
        True,
    ),
    Table(
        "VENDOR",
        "vendors",
        "account",
        BOTH,
        "blocked eq ' '",
        "statecode eq 0 and customertypecode eq 11",
        ("CURRENCY", "PAYMENT TERMS"),
        True,
    ),
    Table(
        "CONTACT",
        "contacts",
        "contact",
        BOTH,
        "type eq 'Person' and companyNumber ne ''",
        "statecode eq 0 and _parentcustomerid_value ne null",
        ("CUSTOMER", "VENDOR"),
        True,
    ),
    Table("CURRENCY", "currencies", "transactioncurrency", TO_DV, None, None, (), False),
    Table(
        "PAYMENT TERMS", "paymentTerms", "account.paymenttermscode", TO_DV, None, None, (), False
    ),
    Table(
        "SHIPMENT METHOD",
        "shipmentMethods",
        "account.address1_freighttermscode",
        TO_DV,
        None,
        None,
        (),
        False,
    ),
    Table(
        "SHIPPING AGENT",
        "shippingAgents",
        "account.address1_shippingmethodcode",
        TO_DV,
        None,
        None,
        (),
        False,
    ),
]


@pytest.mark.parametrize("expected", TABLES, ids=[row.name.lower() for row in TABLES])
def test_mapping_follows_bc_defaults_when_standard_set_is_built(expected):
    mapping = STANDARD.get(expected.name)
    option_column = f".{mapping.dataverse_option_column}" if mapping.is_option else ""

    assert mapping.bc_entity == expected.bc_entity
    assert f"{mapping.dataverse_table}{option_column}" == expected.dataverse
    assert mapping.direction is expected.direction
    assert mapping.bc_filter.to_odata() == expected.bc_filter
    assert mapping.dataverse_filter.to_odata() == expected.dataverse_filter
    assert mapping.depends_on == expected.depends_on
    assert mapping.company_scoped is expected.company_scoped


ADDRESS = {
    ("addressLine1", "address1_line1", BOTH),
    ("addressLine2", "address1_line2", BOTH),
    ("postalCode", "address1_postalcode", BOTH),
    ("city", "address1_city", BOTH),
    ("country", "address1_country", BOTH),
    ("state", "address1_stateorprovince", BOTH),
}
CONTACT_POINTS = {
    ("email", "emailaddress1", BOTH),
    ("website", "websiteurl", BOTH),
    ("phoneNumber", "telephone1", BOTH),
}
ACCOUNT = {
    ("displayName", "name", BOTH),
    ("currencyCode", "transactioncurrencyid", BOTH),
    ("paymentTermsId", "paymenttermscode", BOTH),
    *ADDRESS,
    *CONTACT_POINTS,
}
FIELDS = {
    "SALESPEOPLE": {
        ("email", "internalemailaddress", FROM_DV),
        ("displayName", "fullname", FROM_DV),
        ("phoneNo", "mobilephone", FROM_DV),
    },
    "CUSTOMER": {
        *ACCOUNT,
        ("salespersonCode", "ownerid", TO_DV),
        ("shipmentMethodId", "address1_freighttermscode", BOTH),
        ("creditLimit", "creditlimit", TO_DV),
    },
    "VENDOR": ACCOUNT,
    "CONTACT": {
        *ADDRESS,
        *CONTACT_POINTS,
        ("mobilePhoneNumber", "mobilephone", BOTH),
        ("displayName", "fullname", FROM_DV),
        ("type", None, FROM_DV),
        ("companyNumber", "parentcustomerid", BOTH),
    },
    "CURRENCY": {
        ("code", "isocurrencycode", TO_DV),
        ("symbol", "currencysymbol", TO_DV),
        ("displayName", "currencyname", TO_DV),
    },
    "PAYMENT TERMS": {("code", "label", TO_DV)},
    "SHIPMENT METHOD": {("code", "label", TO_DV)},
    "SHIPPING AGENT": {("code", "label", TO_DV)},
}


@pytest.mark.parametrize("name", list(FIELDS), ids=[name.lower() for name in FIELDS])
def test_field_mappings_follow_bc_defaults_when_standard_set_is_built(name):
    fields = STANDARD.get(name).fields

    assert {(f.bc_field, f.dataverse_field, f.direction) for f in fields} == FIELDS[name]
    assert len(fields) == len(FIELDS[name])


class Translation(NamedTuple):
    mapping: str
    bc_field: str
    through: str
    bc_key: str
    on_failure: LookupFailure
    blank_is_base_currency: bool


LOOKUPS = [
    Translation(
        "CUSTOMER", "salespersonCode", "SALESPEOPLE", "code", LookupFailure.LEAVE_UNCHANGED, False
    ),
    Translation("CUSTOMER", "currencyCode", "CURRENCY", "code", LookupFailure.FAIL_RECORD, True),
    Translation(
        "CUSTOMER", "paymentTermsId", "PAYMENT TERMS", "id", LookupFailure.CLEAR_VALUE, False
    ),
    Translation(
        "CUSTOMER", "shipmentMethodId", "SHIPMENT METHOD", "id", LookupFailure.CLEAR_VALUE, False
    ),
    Translation("VENDOR", "currencyCode", "CURRENCY", "code", LookupFailure.FAIL_RECORD, True),
    Translation(
        "VENDOR", "paymentTermsId", "PAYMENT TERMS", "id", LookupFailure.CLEAR_VALUE, False
    ),
]


@pytest.mark.parametrize(
    "expected", LOOKUPS, ids=[f"{row.mapping.lower()} {row.bc_field}" for row in LOOKUPS]
)
def test_lookup_translates_through_coupled_mapping_when_standard_set_is_built(expected):
    (field,) = [f for f in STANDARD.get(expected.mapping).fields if f.bc_field == expected.bc_field]

    assert field.lookup is not None
    assert (field.lookup.mapping, field.lookup.bc_key) == (expected.through, expected.bc_key)
    assert field.lookup.on_failure is expected.on_failure
    assert field.lookup.blank_is_base_currency is expected.blank_is_base_currency


def test_only_listed_fields_use_lookups_when_standard_set_is_built():
    with_lookup = {
        (m.name, f.bc_field) for m in STANDARD.mappings for f in m.fields if f.lookup is not None
    }

    assert with_lookup == {(row.mapping, row.bc_field) for row in LOOKUPS} | {
        ("CONTACT", "companyNumber")
    }


@pytest.mark.parametrize("ownership", OWNERSHIPS)
def test_contact_company_resolved_through_customers_then_vendors_when_standard_set_is_built(
    ownership,
):
    contact = standard_mappings(ownership=ownership).get("CONTACT")
    (field,) = [f for f in contact.fields if f.bc_field == "companyNumber"]

    assert field.lookup is not None
    assert field.lookup.via is LookupVia.COMPANY_CONTACT
    assert field.lookup.mappings == ("CUSTOMER", "VENDOR")
    assert field.lookup.dataverse_target == "account"
    # BC's rule: a contact whose company cannot be resolved is not created or updated.
    assert field.lookup.on_failure is LookupFailure.FAIL_RECORD
    assert set(contact.depends_on) == {"CUSTOMER", "VENDOR"}


@pytest.mark.parametrize("ownership", OWNERSHIPS)
def test_policies_match_bc_defaults_when_standard_set_is_built(ownership):
    for mapping in standard_mappings(ownership=ownership).mappings:
        assert mapping.conflict_policy is ConflictPolicy.NONE, mapping.name
        assert mapping.deletion_policy is DeletionPolicy.NONE, mapping.name
        assert mapping.sync_only_coupled, mapping.name
        assert mapping.enabled, mapping.name


@pytest.mark.parametrize(
    ("name", "creates", "syncs_after", "match_fields"),
    [
        ("SALESPEOPLE", False, False, set()),
        ("CURRENCY", True, True, {"code"}),
        ("PAYMENT TERMS", True, True, {"code"}),
        ("SHIPMENT METHOD", True, True, {"code"}),
        ("SHIPPING AGENT", True, True, {"code"}),
        ("CUSTOMER", False, False, set()),
    ],
    ids=[
        "salespeople never create",
        "currency",
        "payment terms",
        "shipment method",
        "shipping agent",
        "customer has none",
    ],
)
def test_match_based_coupling_follows_bc_defaults_when_standard_set_is_built(
    name, creates, syncs_after, match_fields
):
    mapping = STANDARD.get(name)

    assert mapping.matching.create_if_no_match is creates
    assert mapping.matching.sync_after_coupling is syncs_after
    assert {f.bc_field for f in mapping.fields if f.match is not None} == match_fields


def test_option_mappings_are_one_way_to_dataverse_when_standard_set_is_built():
    options = [m for m in STANDARD.mappings if m.is_option]

    assert [m.name for m in options] == ["PAYMENT TERMS", "SHIPMENT METHOD", "SHIPPING AGENT"]
    assert all(m.direction is TO_DV and m.dataverse_table == "account" for m in options)
    assert STANDARD.get("SHIPPING AGENT").bc_api == "bcsync/integration/v1.0"


@pytest.mark.parametrize("ownership", OWNERSHIPS)
def test_reference_data_runs_before_accounts_and_accounts_before_contacts_when_ordered(ownership):
    order = [m.name for m in standard_mappings(ownership=ownership).in_dependency_order()]
    first = REFERENCE_DATA + (["SALESPEOPLE"] if ownership == "person" else [])

    for earlier in first:
        assert order.index(earlier) < order.index("CUSTOMER")
        assert order.index(earlier) < order.index("VENDOR")
    assert max(order.index("CUSTOMER"), order.index("VENDOR")) < order.index("CONTACT")


@pytest.mark.parametrize("ownership", OWNERSHIPS)
def test_every_lookup_target_is_a_dependency_when_standard_set_is_built(ownership):
    for mapping in standard_mappings(ownership=ownership).mappings:
        targets = {f.lookup.mapping for f in mapping.fields if f.lookup is not None}
        assert targets <= set(mapping.depends_on), mapping.name


def test_team_ownership_drops_salespeople_and_owner_fields_when_ownership_is_team():
    team = standard_mappings(ownership="team")

    assert "SALESPEOPLE" not in [m.name for m in team.mappings]
    for mapping in team.mappings:
        assert "SALESPEOPLE" not in mapping.referenced_mappings(), mapping.name
        assert all(f.dataverse_field != "ownerid" for f in mapping.fields), mapping.name
    customer = team.get("CUSTOMER")
    assert {f.bc_field for f in customer.fields} == {f[0] for f in FIELDS["CUSTOMER"]} - {
        "salespersonCode"
    }


def test_team_and_person_sets_differ_only_in_ownership_when_both_are_built():
    person = {m.name: m for m in standard_mappings(ownership="person").mappings}
    team = {m.name: m for m in standard_mappings(ownership="team").mappings}

    assert set(person) - set(team) == {"SALESPEOPLE"}
    assert [name for name in team if team[name] != person[name]] == ["CUSTOMER"]


def test_reset_to_defaults_gives_standard_set_when_called():
    assert reset_to_defaults() == standard_mappings()
    assert reset_to_defaults(ownership="team") == standard_mappings(ownership="team")


def test_unknown_ownership_is_refused_when_misspelt():
    with pytest.raises(ConfigError, match="ownership 'teams' is not known; use 'person' or"):
        standard_mappings(ownership="teams")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "column",
    [
        "owneridtype",
        "address1_primarycontactname",
        "fax",
        "address1_shippingmethodcode",
        "primarycontactid",
        "pager",
        "firstname",
        "middlename",
        "lastname",
        "parentcustomeridtype",
        "exchangerate",
    ],
)
def test_omitted_column_is_documented_and_unmapped_when_api_lacks_its_field(column):
    assert column in (standard_module.__doc__ or "")
    for mapping in STANDARD.mappings:
        assert all(f.dataverse_field != column for f in mapping.fields), mapping.name
