"""The standard mapping set: BC's default Dataverse mappings in BC API v2.0 terms.

``standard_mappings()`` returns what BC's "Use Default Synchronization Setup" creates
(bc-native-sync-spec §5): SALESPEOPLE, CURRENCY, the three option mappings, CUSTOMER, VENDOR and
CONTACT. Like BC, every mapping syncs only coupled records and records conflicts and deletions
without resolving them (policies ``none``). In ``team`` ownership there is no SALESPEOPLE mapping
and no owner field (§10.2).

``depends_on`` lists what a mapping needs before it runs: its lookups' mappings (CUSTOMER needs
CURRENCY, PAYMENT TERMS, SHIPMENT METHOD and, person-owned, SALESPEOPLE) and, for CONTACT, the
mappings whose couplings give a contact its parent account (CUSTOMER, VENDOR). BC's dependency
filter also names mappings nothing looks up; they would only delay a full sync, so they are left
out, and the set lists them first instead so runs still start with them.

A contact's company (BC ``Company No.`` ⇄ Dataverse ``parentcustomerid``) is computed by code in
BC, not mapped as a field. Here it is the field mapping ``companyNumber ⇄ parentcustomerid``
(``COMPANY_FIELD``) whose lookup goes ``via`` ``company_contact``: from the company contact,
through its business relation, to the customer (else vendor) and that record's CUSTOMER (else
VENDOR) coupling; ``sync.engine.company_link`` builds it. Being a field mapping, the link is
merged, kept in the coupling's base and spared echoes like any other value. As in BC, a contact
whose company cannot be resolved is neither created nor updated: it gets a per-record error
(``CompanyLinkUnresolved``) that names the missing link.

BC fields the standard set leaves out
-------------------------------------

The API v2.0 does not expose every field BC's own integration maps. Rather than invent API
fields, these are left out; a custom API page can add them later (catalog.py lists what exists).

=================  =================================  ===============================  ==========
Mapping            BC field (AL name)                 Dataverse column                 Why
=================  =================================  ===============================  ==========
CUSTOMER, VENDOR   (constant ``systemuser``)          owneridtype                      [1]
CUSTOMER, VENDOR   Contact                            address1_primarycontactname      [2]
CUSTOMER, VENDOR   Fax No.                            fax                              [2]
CUSTOMER, VENDOR   Shipping Agent Code                address1_shippingmethodcode      [2]
CUSTOMER, VENDOR   Primary Contact No.                primarycontactid                 [2]
VENDOR             Purchaser Code                     ownerid                          [3]
VENDOR             Shipment Method Code               address1_freighttermscode        [2]
CONTACT            (constant ``systemuser``)          owneridtype                      [1]
CONTACT            Salesperson Code                   ownerid                          [2]
CONTACT            Currency Code                      transactioncurrencyid            [2]
CONTACT            Fax No., Pager                     fax, pager                       [2]
CONTACT            First Name, Middle Name, Surname   firstname, middlename, lastname  [4]
CONTACT            (constant ``account``)             parentcustomeridtype             [5]
CURRENCY           (exchange rate, filled by code)    exchangerate                     [6]
=================  =================================  ===============================  ==========

[1] ``owneridtype`` is read-only in Dataverse (api-contracts A10). The owner's type follows from
    what ``ownerid`` is bound to, so the owner field alone is enough.
[2] The v2.0 entity has no such field (api-contracts B2).
[3] ``vendors`` has no purchaser code in v2.0, so VENDOR has no owner field under either
    ownership model and does not depend on SALESPEOPLE.
[4] ``contacts`` has only ``displayName``; splitting it into name parts would be guesswork.
    Instead ``displayName ← fullname`` flows from Dataverse, where BC splits the name itself.
    Contacts created in Dataverse from BC would lack the required ``lastname``; that is one
    more reason to keep ``sync_only_coupled`` on until a custom API adds the name parts.
[5] Not a Web API column: the company link binds the parent through
    ``parentcustomerid_account``, which makes it an account. For the same reason the CONTACT
    Dataverse filter cannot say "parent is an account": it keeps contacts with any parent
    (``_parentcustomerid_value ne null``), and the planner leaves out uncoupled rows whose
    parent is a contact (told by the ``lookuplogicalname`` annotation), as BC's filter does; a
    coupled contact moved under a contact fails with an error instead. (A path filter like
    ``parentcustomerid_account/accountid ne null`` would work on the server but cannot be
    evaluated on a record in memory.)
[6] Not a field of ``currencies``: BC fills it by code from its exchange rates, which API v2.0
    serves as the separate ``currencyExchangeRates``. The engine does not sync exchange rates
    yet, so a Dataverse currency keeps the rate it has.
"""

from __future__ import annotations

from typing import Literal, get_args

from sync.errors import ConfigError
from sync.mappings.catalog import CUSTOM_API
from sync.mappings.standard_accounts import (
    ADDRESS_FIELDS,
    CUSTOMER_PERSON_OWNED,
    CUSTOMER_TEAM_OWNED,
    VENDOR,
)
from sync.models import (
    Condition,
    Direction,
    FieldMapping,
    Filter,
    Lookup,
    LookupFailure,
    LookupVia,
    MappingSet,
    MatchingSettings,
    MatchSettings,
    Operator,
    TableMapping,
)

Ownership = Literal["person", "team"]
"""Who owns synced Dataverse rows: the salesperson's user, or the company's team."""

_FROM_DATAVERSE = Direction.FROM_DATAVERSE
_TO_DATAVERSE = Direction.TO_DATAVERSE

SALESPEOPLE = TableMapping(
    name="SALESPEOPLE",
    bc_entity="salespeoplePurchasers",
    dataverse_table="systemuser",
    dataverse_entity_set="systemusers",
    direction=_FROM_DATAVERSE,
    # Only people who can own records: enabled, licensed, not the integration's own user.
    dataverse_filter=Filter(
        all_of=(
            Condition(field="isdisabled", op=Operator.EQ, value=False),
            Condition(field="islicensed", op=Operator.EQ, value=True),
            Condition(field="isintegrationuser", op=Operator.EQ, value=False),
        )
    ),
    fields=(
        FieldMapping(
            bc_field="email", dataverse_field="internalemailaddress", direction=_FROM_DATAVERSE
        ),
        FieldMapping(bc_field="displayName", dataverse_field="fullname", direction=_FROM_DATAVERSE),
        FieldMapping(bc_field="phoneNo", dataverse_field="mobilephone", direction=_FROM_DATAVERSE),
    ),
    # BC never creates salespeople from unmatched users: their codes are chosen by people.
    matching=MatchingSettings(create_if_no_match=False),
)
"""Dataverse users → BC salespeople (person ownership only)."""

CURRENCY = TableMapping(
    name="CURRENCY",
    bc_entity="currencies",
    dataverse_table="transactioncurrency",
    dataverse_entity_set="transactioncurrencies",
    direction=_TO_DATAVERSE,
    fields=(
        FieldMapping(
            bc_field="code",
            dataverse_field="isocurrencycode",
            direction=_TO_DATAVERSE,
            match=MatchSettings(),
        ),
        FieldMapping(bc_field="symbol", dataverse_field="currencysymbol", direction=_TO_DATAVERSE),
        FieldMapping(
            bc_field="displayName", dataverse_field="currencyname", direction=_TO_DATAVERSE
        ),
    ),
    matching=MatchingSettings(create_if_no_match=True, sync_after_coupling=True),
)
"""BC currencies → Dataverse transaction currencies, coupled by ISO code."""


def _option_mapping(name: str, bc_entity: str, column: str, bc_api: str = "v2.0") -> TableMapping:
    return TableMapping(
        name=name,
        bc_entity=bc_entity,
        bc_api=bc_api,
        dataverse_table="account",
        dataverse_entity_set="accounts",
        dataverse_option_column=column,
        direction=_TO_DATAVERSE,
        fields=(
            FieldMapping(
                bc_field="code",
                dataverse_field="label",
                direction=_TO_DATAVERSE,
                match=MatchSettings(),
            ),
        ),
        matching=MatchingSettings(create_if_no_match=True, sync_after_coupling=True),
    )


PAYMENT_TERMS = _option_mapping("PAYMENT TERMS", "paymentTerms", "paymenttermscode")
"""BC payment terms → options of the account's ``paymenttermscode``."""

SHIPMENT_METHOD = _option_mapping("SHIPMENT METHOD", "shipmentMethods", "address1_freighttermscode")
"""BC shipment methods → options of the account's ``address1_freighttermscode``."""

SHIPPING_AGENT = _option_mapping(
    "SHIPPING AGENT", "shippingAgents", "address1_shippingmethodcode", bc_api=CUSTOM_API
)
"""BC shipping agents (custom API) → options of the account's ``address1_shippingmethodcode``."""

COMPANY_FIELD = FieldMapping(
    bc_field="companyNumber",
    dataverse_field="parentcustomerid",
    lookup=Lookup(
        mapping="CUSTOMER",
        fallbacks=("VENDOR",),
        via=LookupVia.COMPANY_CONTACT,
        dataverse_target="account",
        # BC's rule: a contact whose company cannot be resolved is not created or updated.
        on_failure=LookupFailure.FAIL_RECORD,
    ),
)
"""A contact's company ⇄ its parent account, through the business relation of the company
contact and the CUSTOMER (else VENDOR) couplings; see ``sync.engine.company_link``."""

CONTACT = TableMapping(
    name="CONTACT",
    bc_entity="contacts",
    dataverse_table="contact",
    dataverse_entity_set="contacts",
    direction=Direction.BIDIRECTIONAL,
    # Only people who work for a company: BC links them to the company's account.
    bc_filter=Filter(
        all_of=(
            Condition(field="type", op=Operator.EQ, value="Person"),
            Condition(field="companyNumber", op=Operator.NE, value=""),
        )
    ),
    dataverse_filter=Filter(
        all_of=(
            Condition(field="statecode", op=Operator.EQ, value=0),
            Condition(field="_parentcustomerid_value", op=Operator.NE, value=None),
        )
    ),
    fields=(
        *ADDRESS_FIELDS,
        FieldMapping(bc_field="email", dataverse_field="emailaddress1"),
        FieldMapping(bc_field="website", dataverse_field="websiteurl"),
        FieldMapping(bc_field="mobilePhoneNumber", dataverse_field="mobilephone"),
        FieldMapping(bc_field="phoneNumber", dataverse_field="telephone1"),
        FieldMapping(bc_field="displayName", dataverse_field="fullname", direction=_FROM_DATAVERSE),
        FieldMapping(bc_field="type", constant="Person", direction=_FROM_DATAVERSE),
        COMPANY_FIELD,
    ),
    depends_on=("CUSTOMER", "VENDOR"),
    company_scoped=True,
)
"""BC person contacts ⇄ Dataverse contacts of an account."""

_REFERENCE_DATA = (CURRENCY, PAYMENT_TERMS, SHIPMENT_METHOD, SHIPPING_AGENT)


def standard_mappings(*, ownership: Ownership = "person") -> MappingSet:
    """The default mapping set, as BC's "Use Default Synchronization Setup" creates it.

    Args:
        ownership: ``person`` (rows owned by the salesperson's Dataverse user; adds SALESPEOPLE
            and the customer's owner field) or ``team`` (rows owned by the company's team).

    Returns:
        A validated set, listed in a valid run order.

    Raises:
        ConfigError: ``ownership`` is neither ``person`` nor ``team``.
    """
    if ownership == "person":
        return MappingSet(
            mappings=(SALESPEOPLE, *_REFERENCE_DATA, CUSTOMER_PERSON_OWNED, VENDOR, CONTACT)
        )
    if ownership == "team":
        return MappingSet(mappings=(*_REFERENCE_DATA, CUSTOMER_TEAM_OWNED, VENDOR, CONTACT))
    choices = " or ".join(repr(choice) for choice in get_args(Ownership))
    raise ConfigError(f"ownership {ownership!r} is not known; use {choices}")


def reset_to_defaults(*, ownership: Ownership = "person") -> MappingSet:
    """The set a "reset to defaults" request stores: exactly ``standard_mappings()``.

    Args:
        ownership: As for ``standard_mappings``.

    Returns:
        The standard mapping set.
    """
    return standard_mappings(ownership=ownership)
