"""The fields the engine knows on each side, with their types, so mappings can refuse typos.

Business Central entity sets are listed with their API v2.0 properties (api-contracts B2; the
``paymentTerms`` and ``shipmentMethods`` lists follow the v2.0 resource reference), plus
``shippingAgents`` from our custom API ``bcsync/integration/v1.0``, because v2.0 has no shipping
agents. Dataverse tables are listed with their logical column names (api-contracts A10).

Two conventions a mapping file relies on:

* A Dataverse **lookup** is named by its column (``ownerid``, ``transactioncurrencyid``) in
  field mappings; the connector reads it as ``_ownerid_value`` and writes it as
  ``ownerid@odata.bind``. In filters it is named as the Web API filters it: ``_ownerid_value``.
* An **option mapping** (BC code table ⇄ choice column) sees each option of the choice column as
  a record with two pseudo-columns, ``value`` (the integer) and ``label`` (its text); see
  ``OPTION_COLUMNS``.

``owneridtype`` and ``parentcustomeridtype`` are deliberately absent: the Web API does not offer
them as writable properties, and a polymorphic lookup's target table is chosen by what it binds
to (``/systemusers(…)`` or ``/teams(…)``; ``parentcustomerid_account``), and read back through the
``lookuplogicalname`` annotation. ``explain_missing`` tells admins so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

STANDARD_API = "v2.0"
CUSTOM_API = "bcsync/integration/v1.0"
COMPANY_COLUMN = "bcbi_companyid"
"""The lookup the BC integration solution adds to synced tables to tell companies apart."""


class FieldType(StrEnum):
    """The type family of a field, as far as mapping validation cares."""

    GUID = "guid"
    TEXT = "text"
    CODE = "code"
    DECIMAL = "decimal"
    MONEY = "money"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"
    CHOICE = "choice"
    LOOKUP = "lookup"


@dataclass(frozen=True, slots=True)
class CatalogField:
    """One field of one entity set or table.

    Attributes:
        name: API property (BC) or logical column name (Dataverse).
        type: Its type family.
        read_only: True when the service refuses writes to it.
        targets: For Dataverse lookups, the tables it may point at.
    """

    name: str
    type: FieldType
    read_only: bool = False
    targets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The known fields of one BC entity set or one Dataverse table.

    Attributes:
        name: Entity set name (BC, ``customers``) or table logical name (Dataverse, ``account``).
        fields: The fields by name.
        api: BC only: the API serving the entity set (``v2.0`` or a custom API).
        entity_set: Dataverse only: the entity set in the URL (``accounts``).
    """

    name: str
    fields: Mapping[str, CatalogField]
    api: str = ""
    entity_set: str = ""

    def get(self, name: str) -> CatalogField | None:
        """The field called ``name``, or None."""
        return self.fields.get(name)

    def filter_field(self, name: str) -> CatalogField | None:
        """The field a filter clause reads; Dataverse lookups are filtered as ``_<col>_value``."""
        known = self.fields.get(name)
        if known is not None:
            return None if known.type is FieldType.LOOKUP else known
        if name.startswith("_") and name.endswith("_value"):
            lookup = self.fields.get(name[1 : -len("_value")])
            if lookup is not None and lookup.type is FieldType.LOOKUP:
                return lookup
        return None


def _index(fields: tuple[CatalogField, ...]) -> Mapping[str, CatalogField]:
    return MappingProxyType({f.name: f for f in fields})


def _bc_entity(name: str, api: str, *fields: CatalogField) -> Catalogue:
    return Catalogue(name, _index(fields), api=api)


def _dataverse_table(name: str, entity_set: str, *fields: CatalogField) -> Catalogue:
    return Catalogue(name, _index(fields), entity_set=entity_set)


def _fields(kind: FieldType, *names: str, read_only: bool = False) -> tuple[CatalogField, ...]:
    return tuple(CatalogField(name, kind, read_only=read_only) for name in names)


def _lookup(name: str, *targets: str) -> CatalogField:
    return CatalogField(name, FieldType.LOOKUP, targets=targets)


_T = FieldType  # short alias: the tables below are dense
_BC_SYSTEM = (
    CatalogField("id", _T.GUID, read_only=True),
    CatalogField("lastModifiedDateTime", _T.DATETIME, read_only=True),
)
_BC_ADDRESS = (
    *_fields(_T.TEXT, "addressLine1", "addressLine2", "city", "state"),
    *_fields(_T.CODE, "country", "postalCode"),
    *_fields(_T.TEXT, "phoneNumber", "email", "website"),
)
_BC_CODE_TABLE = (*_BC_SYSTEM, *_fields(_T.CODE, "code"))

_BC = (
    _bc_entity(
        "customers",
        STANDARD_API,
        *_BC_SYSTEM,
        *_BC_ADDRESS,
        *_fields(_T.CODE, "number", "salespersonCode", "currencyCode"),
        *_fields(_T.TEXT, "displayName", "taxRegistrationNumber"),
        *_fields(_T.TEXT, "taxAreaDisplayName", read_only=True),
        *_fields(_T.ENUM, "type", "blocked"),
        *_fields(_T.DECIMAL, "creditLimit"),
        *_fields(_T.DECIMAL, "balanceDue", read_only=True),
        *_fields(_T.BOOLEAN, "taxLiable"),
        *_fields(
            _T.GUID,
            "taxAreaId",
            "currencyId",
            "paymentTermsId",
            "shipmentMethodId",
            "paymentMethodId",
        ),
    ),
    _bc_entity(
        "vendors",
        STANDARD_API,
        *_BC_SYSTEM,
        *_BC_ADDRESS,
        *_fields(_T.CODE, "number", "currencyCode", "irs1099Code"),
        *_fields(_T.TEXT, "displayName", "taxRegistrationNumber"),
        *_fields(_T.ENUM, "blocked"),
        *_fields(_T.DECIMAL, "balance", read_only=True),
        *_fields(_T.BOOLEAN, "taxLiable"),
        *_fields(_T.GUID, "currencyId", "paymentTermsId", "paymentMethodId"),
    ),
    _bc_entity(
        "contacts",
        STANDARD_API,
        *_BC_SYSTEM,
        *_BC_ADDRESS,
        *_fields(_T.CODE, "number", "companyNumber", "searchName"),
        *_fields(
            _T.TEXT,
            "displayName",
            "jobTitle",
            "companyName",
            "mobilePhoneNumber",
            "taxRegistrationNumber",
        ),
        *_fields(_T.ENUM, "type"),
        *_fields(_T.ENUM, "contactBusinessRelation", read_only=True),
        *_fields(_T.BOOLEAN, "privacyBlocked"),
        *_fields(_T.DATE, "lastInteractionDate", read_only=True),
    ),
    _bc_entity(
        "currencies",
        STANDARD_API,
        *_BC_CODE_TABLE,
        *_fields(_T.TEXT, "displayName", "symbol", "amountDecimalPlaces"),
        *_fields(_T.DECIMAL, "amountRoundingPrecision"),
    ),
    _bc_entity(
        "salespeoplePurchasers",
        STANDARD_API,
        *_BC_CODE_TABLE,
        *_fields(_T.TEXT, "displayName", "email", "email2", "phoneNo", "jobTitle"),
        # "commisionPercent" is misspelt by the API itself.
        *_fields(_T.DECIMAL, "commisionPercent"),
        *_fields(_T.BOOLEAN, "privacyBlocked", "blocked"),
    ),
    _bc_entity(
        "paymentTerms",
        STANDARD_API,
        *_BC_CODE_TABLE,
        *_fields(_T.TEXT, "displayName", "dueDateCalculation", "discountDateCalculation"),
        *_fields(_T.DECIMAL, "discountPercent"),
        *_fields(_T.BOOLEAN, "calculateDiscountOnCreditMemos"),
    ),
    _bc_entity("shipmentMethods", STANDARD_API, *_BC_CODE_TABLE, *_fields(_T.TEXT, "displayName")),
    _bc_entity("shippingAgents", CUSTOM_API, *_BC_CODE_TABLE, *_fields(_T.TEXT, "name")),
)

_DV_SYSTEM = (
    *_fields(_T.DATETIME, "createdon", "modifiedon", read_only=True),
    *_fields(_T.INTEGER, "versionnumber", read_only=True),
    *_fields(_T.CHOICE, "statecode", "statuscode"),
)
_DV_ADDRESS = _fields(
    _T.TEXT,
    *(f"address1_{part}" for part in ("line1", "line2", "line3", "city", "stateorprovince")),
    *(f"address1_{part}" for part in ("postalcode", "country", "county", "name", "fax")),
    *(f"address1_telephone{n}" for n in (1, 2, 3)),
)
_DV_CONTACT_POINTS = _fields(
    _T.TEXT,
    *(f"telephone{n}" for n in (1, 2, 3)),
    *(f"emailaddress{n}" for n in (1, 2, 3)),
    "websiteurl",
    "fax",
)
_DV_OWNED = (
    _lookup("ownerid", "systemuser", "team"),
    _lookup("transactioncurrencyid", "transactioncurrency"),
    _lookup(COMPANY_COLUMN, "cdm_company"),
)

_DATAVERSE = (
    _dataverse_table(
        "account",
        "accounts",
        *_DV_SYSTEM,
        *_DV_ADDRESS,
        *_DV_CONTACT_POINTS,
        *_DV_OWNED,
        *_fields(_T.GUID, "accountid", read_only=True),
        *_fields(_T.TEXT, "name", "accountnumber", "address1_primarycontactname"),
        *_fields(_T.TEXT, "address1_composite", read_only=True),
        *_fields(
            _T.CHOICE,
            "customertypecode",
            "address1_addresstypecode",
            "paymenttermscode",
            "address1_freighttermscode",
            "address1_shippingmethodcode",
        ),
        _lookup("primarycontactid", "contact"),
        _lookup("parentaccountid", "account"),
        *_fields(_T.MONEY, "creditlimit"),
        *_fields(_T.MONEY, "creditlimit_base", read_only=True),
        *_fields(_T.DECIMAL, "exchangerate", read_only=True),
    ),
    _dataverse_table(
        "contact",
        "contacts",
        *_DV_SYSTEM,
        *_DV_ADDRESS,
        *_DV_CONTACT_POINTS,
        *_DV_OWNED,
        *_fields(_T.GUID, "contactid", read_only=True),
        *_fields(_T.TEXT, "firstname", "middlename", "lastname", "jobtitle"),
        *_fields(_T.TEXT, "mobilephone", "pager"),
        *_fields(_T.TEXT, "fullname", read_only=True),
        _lookup("parentcustomerid", "account", "contact"),
    ),
    _dataverse_table(
        "systemuser",
        "systemusers",
        *_DV_SYSTEM,
        *_fields(_T.GUID, "systemuserid", read_only=True),
        *_fields(_T.TEXT, "fullname", read_only=True),
        *_fields(_T.TEXT, "internalemailaddress", "mobilephone"),
        *_fields(_T.BOOLEAN, "isdisabled", "isintegrationuser"),
        *_fields(_T.BOOLEAN, "islicensed", read_only=True),
        *_fields(_T.CHOICE, "accessmode"),
        *_fields(_T.GUID, "applicationid", "azureactivedirectoryobjectid"),
    ),
    _dataverse_table(
        "transactioncurrency",
        "transactioncurrencies",
        *_DV_SYSTEM,
        *_fields(_T.GUID, "transactioncurrencyid", read_only=True),
        *_fields(_T.TEXT, "isocurrencycode", "currencyname", "currencysymbol"),
        *_fields(_T.DECIMAL, "exchangerate"),
        *_fields(_T.INTEGER, "currencyprecision"),
    ),
    _dataverse_table(
        "team",
        "teams",
        *_DV_SYSTEM,
        *_fields(_T.GUID, "teamid", read_only=True),
        *_fields(_T.TEXT, "name", "description"),
        *_fields(_T.CHOICE, "teamtype"),
        *_fields(_T.BOOLEAN, "isdefault", read_only=True),
        _lookup("businessunitid", "businessunit"),
        _lookup("administratorid", "systemuser"),
    ),
)

BC_ENTITIES: Mapping[str, Catalogue] = MappingProxyType({c.name: c for c in _BC})
"""BC entity sets by name; ``Catalogue.api`` says which API serves each."""

DATAVERSE_TABLES: Mapping[str, Catalogue] = MappingProxyType({c.name: c for c in _DATAVERSE})
"""Dataverse tables by logical name, with their entity sets."""

OPTION_COLUMNS = Catalogue(
    "option",
    _index((CatalogField("value", _T.INTEGER), CatalogField("label", _T.TEXT))),
)
"""The pseudo-columns of one option of a choice column, as an option mapping sees it."""

_NOT_IN_WEB_API = {
    "owneridtype": (
        "is read-only and not offered by the Web API; the owner's type follows from what "
        "'ownerid' binds to (/systemusers(…) or /teams(…)), so map 'ownerid' only"
    ),
    "parentcustomeridtype": (
        "is not offered by the Web API; the parent's type follows from the navigation property "
        "it is bound through (parentcustomerid_account), so leave it out"
    ),
}


def explain_missing(column: str) -> str | None:
    """Why a well-known Dataverse column is absent from the catalogue, if it is on purpose."""
    return _NOT_IN_WEB_API.get(column)
