"""Table schemas the Dataverse emulator serves: columns, types, lengths, choices and lookups.

Only the columns a Business Central integration touches are modelled (api-contracts A10), plus
the system columns every row carries. Facts marked unconfirmed in the contract sheet are kept
as the contract sheet assumes them (for example contact address lengths equal account's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

__all__ = ["TABLES", "Column", "ColumnKind", "LookupStyle", "Table", "find_table"]


class ColumnKind(StrEnum):
    """Dataverse attribute types the emulator distinguishes."""

    STRING = "String"
    MEMO = "Memo"
    INTEGER = "Integer"
    BIGINT = "BigInt"
    DECIMAL = "Decimal"
    MONEY = "Money"
    BOOLEAN = "Boolean"
    DATETIME = "DateTime"
    UNIQUEIDENTIFIER = "Uniqueidentifier"
    CHOICE = "Picklist"
    STATE = "State"
    STATUS = "Status"
    LOOKUP = "Lookup"


class LookupStyle(StrEnum):
    """How a lookup column is bound through navigation properties.

    SINGLE: one target, navigation property named like the column (`primarycontactid`).
    CUSTOMER: polymorphic, one navigation property per target (`parentcustomerid_account`).
    OWNER: polymorphic owner, one navigation property (`ownerid`) accepting users and teams.
    """

    SINGLE = "single"
    CUSTOMER = "customer"
    OWNER = "owner"


_NO_CHOICES: Final[Mapping[int, str]] = MappingProxyType({})
_EDM_TYPES: Final = {
    ColumnKind.STRING: "Edm.String",
    ColumnKind.MEMO: "Edm.String",
    ColumnKind.INTEGER: "Edm.Int32",
    ColumnKind.BIGINT: "Edm.Int64",
    ColumnKind.DECIMAL: "Edm.Decimal",
    ColumnKind.MONEY: "Edm.Decimal",
    ColumnKind.BOOLEAN: "Edm.Boolean",
    ColumnKind.DATETIME: "Edm.DateTimeOffset",
    ColumnKind.UNIQUEIDENTIFIER: "Edm.Guid",
    ColumnKind.CHOICE: "Edm.Int32",
    ColumnKind.STATE: "Edm.Int32",
    ColumnKind.STATUS: "Edm.Int32",
    ColumnKind.LOOKUP: "Edm.Guid",
}


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a table.

    Attributes:
        name: logical name (`address1_city`).
        kind: attribute type.
        max_length: maximum characters for strings and memos.
        choices: value -> English label for choice, state and status columns.
        targets: logical names of the tables a lookup may point to.
        lookup_style: how the lookup is bound (lookups only).
        valid_for_create: may appear in a create body.
        valid_for_update: may appear in an update body.
        minimum: smallest accepted number.
        maximum: largest accepted number.
        labels: (false label, true label) for booleans.
    """

    name: str
    kind: ColumnKind
    max_length: int | None = None
    choices: Mapping[int, str] = field(default_factory=lambda: _NO_CHOICES)
    targets: tuple[str, ...] = ()
    lookup_style: LookupStyle = LookupStyle.SINGLE
    valid_for_create: bool = True
    valid_for_update: bool = True
    minimum: float | None = None
    maximum: float | None = None
    labels: tuple[str, str] = ("No", "Yes")

    @property
    def property_name(self) -> str:
        """Name of the JSON property that carries the value (`_ownerid_value` for lookups)."""
        return f"_{self.name}_value" if self.kind is ColumnKind.LOOKUP else self.name

    @property
    def edm_type(self) -> str:
        """The OData primitive type of the value (`Edm.String`, `Edm.Guid` for lookups...)."""
        return _EDM_TYPES[self.kind]

    @property
    def read_only(self) -> bool:
        """True when the column can be neither created nor updated."""
        return not (self.valid_for_create or self.valid_for_update)

    def navigation_properties(self) -> dict[str, tuple[str, ...]]:
        """Return navigation property name -> the target tables it may bind to."""
        if self.kind is not ColumnKind.LOOKUP:
            return {}
        if self.lookup_style is LookupStyle.CUSTOMER:
            return {f"{self.name}_{target}": (target,) for target in self.targets}
        return {self.name: self.targets}


@dataclass(frozen=True, slots=True)
class Table:
    """One Dataverse table (entity).

    Attributes:
        logical_name: `account`.
        schema_name: `Account`.
        entity_set: `accounts`.
        primary_id: `accountid`.
        primary_name: `name`.
        object_type_code: the numeric entity type code.
        ownership: `UserOwned`, `OrganizationOwned` or `BusinessOwned`.
        display_name: English display name.
        columns: logical name -> column, primary id first.
        change_tracking: whether change tracking is on unless configured otherwise.
        custom: whether the table comes from a solution rather than the platform.
    """

    logical_name: str
    schema_name: str
    entity_set: str
    primary_id: str
    primary_name: str
    object_type_code: int
    ownership: str
    display_name: str
    columns: Mapping[str, Column]
    change_tracking: bool = True
    custom: bool = False
    navigation: Mapping[str, tuple[Column, tuple[str, ...]]] = field(init=False)
    properties: Mapping[str, Column] = field(init=False)

    def __post_init__(self) -> None:
        navigation = {
            name: (column, targets)
            for column in self.columns.values()
            for name, targets in column.navigation_properties().items()
        }
        properties = {column.property_name: column for column in self.columns.values()}
        object.__setattr__(self, "navigation", MappingProxyType(navigation))
        object.__setattr__(self, "properties", MappingProxyType(properties))

    @property
    def odata_type(self) -> str:
        """The `@odata.type` value of this table's rows."""
        return f"Microsoft.Dynamics.CRM.{self.logical_name}"


# Column builders keep the table definitions below readable.


def _text(
    name: str, length: int, *, memo: bool = False, create: bool = True, update: bool = True
) -> Column:
    kind = ColumnKind.MEMO if memo else ColumnKind.STRING
    return Column(name, kind, max_length=length, valid_for_create=create, valid_for_update=update)


def _choice(
    name: str,
    labels: Mapping[int, str],
    kind: ColumnKind = ColumnKind.CHOICE,
    *,
    create: bool = True,
) -> Column:
    return Column(name, kind, choices=MappingProxyType(dict(labels)), valid_for_create=create)


def _lookup(name: str, *targets: str, style: LookupStyle = LookupStyle.SINGLE) -> Column:
    return Column(name, ColumnKind.LOOKUP, targets=targets, lookup_style=style)


def _flag(name: str, labels: tuple[str, str] = ("No", "Yes"), *, create: bool = True) -> Column:
    return Column(name, ColumnKind.BOOLEAN, labels=labels, valid_for_create=create)


def _guid(name: str, *, update: bool = True) -> Column:
    return Column(name, ColumnKind.UNIQUEIDENTIFIER, valid_for_update=update)


def _read_only(name: str, kind: ColumnKind, length: int | None = None) -> Column:
    return Column(name, kind, max_length=length, valid_for_create=False, valid_for_update=False)


def _table(
    logical: str,
    schema: str,
    entity_set: str,
    *,
    code: int,
    ownership: str,
    display: str,
    columns: list[Column],
    name: str = "name",
    tracked: bool = True,
    custom: bool = False,
) -> Table:
    primary = Column(f"{logical}id", ColumnKind.UNIQUEIDENTIFIER, valid_for_update=False)
    system = [
        _read_only("createdon", ColumnKind.DATETIME),
        _read_only("modifiedon", ColumnKind.DATETIME),
        _read_only("versionnumber", ColumnKind.BIGINT),
    ]
    ordered = {column.name: column for column in [primary, *columns, *system]}
    return Table(
        logical,
        schema,
        entity_set,
        primary.name,
        name,
        code,
        ownership,
        display,
        MappingProxyType(ordered),
        change_tracking=tracked,
        custom=custom,
    )


_ACTIVE_STATE = {0: "Active", 1: "Inactive"}
_ACTIVE_STATUS = {1: "Active", 2: "Inactive"}
# statecode is not valid for create (api-contracts A4); state changes are PATCHed.
_STATE_COLUMNS = [
    _choice("statecode", _ACTIVE_STATE, ColumnKind.STATE, create=False),
    _choice("statuscode", _ACTIVE_STATUS, ColumnKind.STATUS),
]
_CUSTOMER_TYPES = {
    1: "Competitor",
    2: "Consultant",
    3: "Customer",
    4: "Investor",
    5: "Partner",
    6: "Influencer",
    7: "Press",
    8: "Prospect",
    9: "Reseller",
    10: "Supplier",
    11: "Vendor",
    12: "Other",
}
_ADDRESS_TYPES = {1: "Bill To", 2: "Ship To", 3: "Primary", 4: "Other"}
_PAYMENT_TERMS = {1: "Net 30", 2: "2% 10, Net 30", 3: "Net 45", 4: "Net 60"}
_FREIGHT_TERMS = {1: "FOB", 2: "No Charge"}
_SHIPPING_METHODS = {
    1: "Airborne",
    2: "DHL",
    3: "FedEx",
    4: "UPS",
    5: "Postal Mail",
    6: "Full Load",
    7: "Will Call",
}
_ACCESS_MODES = {
    0: "Read-Write",
    1: "Administrative",
    2: "Read",
    3: "Support User",
    4: "Non-interactive",
    5: "Delegated Admin",
}
_TEAM_TYPES = {
    0: "Owner",
    1: "Access",
    2: "Microsoft Entra ID Security Group",
    3: "Microsoft Entra ID Office Group",
}


def _address_columns() -> list[Column]:
    lengths = {
        "address1_line1": 250,
        "address1_line2": 250,
        "address1_line3": 250,
        "address1_city": 80,
        "address1_stateorprovince": 50,
        "address1_postalcode": 20,
        "address1_country": 80,
        "address1_county": 50,
        "address1_name": 200,
        "address1_telephone1": 50,
        "address1_telephone2": 50,
        "address1_telephone3": 50,
        "address1_fax": 50,
    }
    return [
        *(_text(name, length) for name, length in lengths.items()),
        _choice("address1_addresstypecode", _ADDRESS_TYPES),
        _read_only("address1_composite", ColumnKind.MEMO, 1000),
    ]


def _owned_columns() -> list[Column]:
    return [
        _lookup("ownerid", "systemuser", "team", style=LookupStyle.OWNER),
        _lookup("transactioncurrencyid", "transactioncurrency"),
        _lookup("bcbi_companyid", "cdm_company"),
        *_STATE_COLUMNS,
    ]


ACCOUNT: Final = _table(
    "account",
    "Account",
    "accounts",
    code=1,
    ownership="UserOwned",
    display="Account",
    columns=[
        _text("name", 160),
        _text("accountnumber", 20),
        _choice("customertypecode", _CUSTOMER_TYPES),
        *_address_columns(),
        _choice("address1_freighttermscode", _FREIGHT_TERMS),
        _choice("address1_shippingmethodcode", _SHIPPING_METHODS),
        _choice("paymenttermscode", _PAYMENT_TERMS),
        _text("telephone1", 50),
        _text("telephone2", 50),
        _text("telephone3", 50),
        _text("emailaddress1", 100),
        _text("emailaddress2", 100),
        _text("emailaddress3", 100),
        _text("websiteurl", 200),
        _text("fax", 50),
        _text("description", 2000, memo=True),
        _lookup("primarycontactid", "contact"),
        _lookup("parentaccountid", "account"),
        Column("creditlimit", ColumnKind.MONEY, minimum=0, maximum=100_000_000_000_000),
        _read_only("creditlimit_base", ColumnKind.MONEY),
        _read_only("exchangerate", ColumnKind.DECIMAL),
        *_owned_columns(),
    ],
)

CONTACT: Final = _table(
    "contact",
    "Contact",
    "contacts",
    code=2,
    ownership="UserOwned",
    display="Contact",
    columns=[
        _text("firstname", 50),
        _text("lastname", 50),
        _read_only("fullname", ColumnKind.STRING, 160),
        _lookup("parentcustomerid", "account", "contact", style=LookupStyle.CUSTOMER),
        _text("jobtitle", 100),
        _text("emailaddress1", 100),
        _text("telephone1", 50),
        _text("mobilephone", 50),
        _text("fax", 50),
        _text("websiteurl", 200),
        *_address_columns(),
        _text("description", 2000, memo=True),
        *_owned_columns(),
    ],
    name="fullname",
)

SYSTEMUSER: Final = _table(
    "systemuser",
    "SystemUser",
    "systemusers",
    code=8,
    ownership="BusinessOwned",
    display="User",
    columns=[
        _text("firstname", 64),
        _text("lastname", 64),
        _read_only("fullname", ColumnKind.STRING, 200),
        _text("domainname", 1024),
        _text("internalemailaddress", 100),
        _text("title", 128),
        _text("mobilephone", 64),
        _flag("isdisabled", ("Enabled", "Disabled"), create=False),
        _flag("islicensed"),
        _flag("isintegrationuser"),
        _choice("accessmode", _ACCESS_MODES),
        _guid("applicationid"),
        _guid("azureactivedirectoryobjectid"),
    ],
    name="fullname",
    tracked=False,
)

TEAM: Final = _table(
    "team",
    "Team",
    "teams",
    code=9,
    ownership="BusinessOwned",
    display="Team",
    columns=[
        _text("name", 160),
        _choice("teamtype", _TEAM_TYPES),
        _flag("isdefault", create=False),
        _text("description", 2000, memo=True),
        _guid("azureactivedirectoryobjectid"),
    ],
    tracked=False,
)

TRANSACTIONCURRENCY: Final = _table(
    "transactioncurrency",
    "TransactionCurrency",
    "transactioncurrencies",
    code=9105,
    ownership="OrganizationOwned",
    display="Currency",
    columns=[
        _text("isocurrencycode", 5, update=False),
        _text("currencyname", 100),
        _text("currencysymbol", 10),
        Column("exchangerate", ColumnKind.DECIMAL, minimum=0.000000000001, maximum=100_000_000_000),
        Column("currencyprecision", ColumnKind.INTEGER, minimum=0, maximum=4),
        *_STATE_COLUMNS,
    ],
    name="currencyname",
)

CDM_COMPANY: Final = _table(
    "cdm_company",
    "cdm_Company",
    "cdm_companies",
    code=10_001,
    ownership="OrganizationOwned",
    display="Company",
    columns=[
        _text("cdm_name", 100),
        _text("cdm_companycode", 30),
        _lookup("cdm_defaultowningteam", "team"),
        _flag("cdm_isenabledfordualwrite"),
        *_STATE_COLUMNS,
    ],
    name="cdm_name",
    custom=True,
)

TABLES: Final[Mapping[str, Table]] = MappingProxyType(
    {
        table.logical_name: table
        for table in (ACCOUNT, CONTACT, SYSTEMUSER, TEAM, TRANSACTIONCURRENCY, CDM_COMPANY)
    }
)
_BY_ENTITY_SET: Final = {table.entity_set: table for table in TABLES.values()}


def find_table(name: str) -> Table | None:
    """Return the table with this entity set name (`accounts`) or logical name (`account`)."""
    return _BY_ENTITY_SET.get(name) or TABLES.get(name)
