"""The standard CUSTOMER and VENDOR mappings: both sync with the Dataverse ``account`` table.

An account is a customer or a vendor by its ``customertypecode`` (3 Customer, 11 Vendor), so each
mapping filters on it. Field mappings follow BC's defaults (bc-native-sync-spec §5.3, §5.4) in BC
API v2.0 names; the fields the API lacks are listed in ``sync.mappings.standard``.
"""

from __future__ import annotations

from sync.models import (
    Condition,
    Direction,
    FieldMapping,
    Filter,
    Lookup,
    LookupFailure,
    Operator,
    TableMapping,
)

ACCOUNT_TYPE_CUSTOMER = 3
ACCOUNT_TYPE_VENDOR = 11
ACTIVE = 0

ADDRESS_FIELDS = (
    FieldMapping(bc_field="addressLine1", dataverse_field="address1_line1"),
    FieldMapping(bc_field="addressLine2", dataverse_field="address1_line2"),
    FieldMapping(bc_field="postalCode", dataverse_field="address1_postalcode"),
    FieldMapping(bc_field="city", dataverse_field="address1_city"),
    # BC holds a country code, Dataverse free text: the usual place for a value_map transform.
    FieldMapping(bc_field="country", dataverse_field="address1_country"),
    FieldMapping(bc_field="state", dataverse_field="address1_stateorprovince"),
)
"""Postal address fields; the same on customers, vendors and contacts."""

CURRENCY_FIELD = FieldMapping(
    bc_field="currencyCode",
    dataverse_field="transactioncurrencyid",
    lookup=Lookup(
        mapping="CURRENCY",
        bc_key="code",
        blank_is_base_currency=True,
        # BC fails the record ("couple the dependent record first"): a wrong currency is
        # worse than a late one.
        on_failure=LookupFailure.FAIL_RECORD,
    ),
)

OWNER_FIELD = FieldMapping(
    bc_field="salespersonCode",
    dataverse_field="ownerid",
    direction=Direction.TO_DATAVERSE,
    # BC's "Not Null": a salesperson without a coupled user must not blank the owner. The owner
    # type needs no constant: binding ownerid to /systemusers(…) makes it a user.
    lookup=Lookup(mapping="SALESPEOPLE", bc_key="code", on_failure=LookupFailure.LEAVE_UNCHANGED),
)
"""Person ownership only: the record's salesperson decides its Dataverse owner."""


def _option_field(bc_field: str, column: str, mapping: str) -> FieldMapping:
    # BC ignores codes without an option, so the choice stays blank instead of failing the record.
    return FieldMapping(
        bc_field=bc_field,
        dataverse_field=column,
        lookup=Lookup(mapping=mapping, bc_key="id", on_failure=LookupFailure.CLEAR_VALUE),
    )


PAYMENT_TERMS_FIELD = _option_field("paymentTermsId", "paymenttermscode", "PAYMENT TERMS")
SHIPMENT_METHOD_FIELD = _option_field(
    "shipmentMethodId", "address1_freighttermscode", "SHIPMENT METHOD"
)

_CONTACT_POINTS = (
    FieldMapping(bc_field="email", dataverse_field="emailaddress1"),
    FieldMapping(bc_field="website", dataverse_field="websiteurl"),
    FieldMapping(bc_field="phoneNumber", dataverse_field="telephone1"),
)

_CUSTOMER_FIELDS = (
    FieldMapping(bc_field="displayName", dataverse_field="name"),
    *ADDRESS_FIELDS,
    CURRENCY_FIELD,
    *_CONTACT_POINTS,
    SHIPMENT_METHOD_FIELD,
    PAYMENT_TERMS_FIELD,
    FieldMapping(
        bc_field="creditLimit", dataverse_field="creditlimit", direction=Direction.TO_DATAVERSE
    ),
)
_CUSTOMER_NEEDS = ("CURRENCY", "PAYMENT TERMS", "SHIPMENT METHOD")


def _account_filter(account_type: int) -> Filter:
    return Filter(
        all_of=(
            Condition(field="statecode", op=Operator.EQ, value=ACTIVE),
            Condition(field="customertypecode", op=Operator.EQ, value=account_type),
        )
    )


# Blocked customers and vendors stay out, as in BC; " " is the API's "not blocked".
_NOT_BLOCKED = Filter(all_of=(Condition(field="blocked", op=Operator.EQ, value=" "),))


def _customer(owner: tuple[FieldMapping, ...], owner_needs: tuple[str, ...]) -> TableMapping:
    return TableMapping(
        name="CUSTOMER",
        bc_entity="customers",
        dataverse_table="account",
        dataverse_entity_set="accounts",
        direction=Direction.BIDIRECTIONAL,
        bc_filter=_NOT_BLOCKED,
        dataverse_filter=_account_filter(ACCOUNT_TYPE_CUSTOMER),
        fields=(*owner, *_CUSTOMER_FIELDS),
        depends_on=(*owner_needs, *_CUSTOMER_NEEDS),
        company_scoped=True,
        # BC's BCICUSTOME template: a new account is a customer, so it stays in this mapping.
        dataverse_defaults={"customertypecode": ACCOUNT_TYPE_CUSTOMER},
    )


CUSTOMER_PERSON_OWNED = _customer((OWNER_FIELD,), ("SALESPEOPLE",))
"""CUSTOMER ⇄ account when Dataverse rows are owned by the salesperson's user."""

CUSTOMER_TEAM_OWNED = _customer((), ())
"""CUSTOMER ⇄ account when Dataverse rows are owned by the company's team (no owner fields)."""

VENDOR = TableMapping(
    name="VENDOR",
    bc_entity="vendors",
    dataverse_table="account",
    dataverse_entity_set="accounts",
    direction=Direction.BIDIRECTIONAL,
    bc_filter=_NOT_BLOCKED,
    dataverse_filter=_account_filter(ACCOUNT_TYPE_VENDOR),
    fields=(
        FieldMapping(bc_field="displayName", dataverse_field="name"),
        *ADDRESS_FIELDS,
        CURRENCY_FIELD,
        *_CONTACT_POINTS,
        PAYMENT_TERMS_FIELD,
    ),
    depends_on=("CURRENCY", "PAYMENT TERMS"),
    company_scoped=True,
    # BC's BCIVENDOR template: a new account is a vendor.
    dataverse_defaults={"customertypecode": ACCOUNT_TYPE_VENDOR},
)
"""VENDOR ⇄ account. The same under both ownership models: the API has no purchaser code."""
