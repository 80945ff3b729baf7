"""Entity definitions of the emulated Business Central API v2.0 (field names, types, limits).

The field lists follow the v2.0 API reference (api-contracts.md B2). Lengths are the AL field
lengths behind each API field (for example `displayName` is Customer.Name, Text[100]).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01"
STANDARD_API = "v2.0"
CUSTOM_API = "custom"


class FieldKind(Enum):
    """The OData type family of a field, which decides validation and the default value."""

    GUID = "Edm.Guid"
    TEXT = "Edm.String"
    CODE = "Edm.String (Code)"
    DECIMAL = "Edm.Decimal"
    BOOLEAN = "Edm.Boolean"
    ENUM = "Microsoft.NAV enum"
    DATETIME = "Edm.DateTimeOffset"
    DATE = "Edm.Date"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One property of an entity.

    Attributes:
        name: the API (camelCase) name.
        kind: the type family; CODE values are upper-cased like AL Code fields.
        max_length: the AL length for TEXT and CODE fields.
        read_only: True when a client may not send it (BC answers BadRequest_InvalidOperation).
        choices: the allowed values of an ENUM field; the first one is the default.
    """

    name: str
    kind: FieldKind
    max_length: int | None = None
    read_only: bool = False
    choices: tuple[str, ...] = ()

    def default(self) -> Any:  # noqa: ANN401 - field values are JSON scalars of several types
        """Return the value BC shows for a field nobody has filled in."""
        defaults: dict[FieldKind, Any] = {
            FieldKind.GUID: EMPTY_GUID,
            FieldKind.DECIMAL: 0,
            FieldKind.BOOLEAN: False,
            FieldKind.DATE: EMPTY_DATE,
            FieldKind.DATETIME: "0001-01-01T00:00:00Z",
        }
        if self.kind is FieldKind.ENUM:
            return self.choices[0]
        return defaults.get(self.kind, "")


@dataclass(frozen=True, slots=True)
class EntitySchema:
    """One entity set: its fields, primary key and number series.

    Attributes:
        entity_set: the URL segment (`customers`).
        entity_type: the OData type name without namespace (`customer`).
        caption: the AL table caption used in messages (`Customer`).
        key_field: the AL primary key behind the API (`number` or `code`).
        number_prefix: when set, missing keys come from a number series (`C` gives C00010).
        number_digits: width of the numeric part of the number series.
        api: STANDARD_API for `/api/v2.0`, CUSTOM_API for `/api/{publisher}/{group}/v1.0`.
    """

    entity_set: str
    entity_type: str
    caption: str
    key_field: str
    fields: tuple[FieldSpec, ...]
    number_prefix: str | None = None
    number_digits: int = 5
    api: str = STANDARD_API
    by_name: dict[str, FieldSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Index the fields by name once, for cheap validation."""
        object.__setattr__(self, "by_name", {spec.name: spec for spec in self.fields})

    @property
    def field_names(self) -> tuple[str, ...]:
        """Return the field names in the order BC serialises them."""
        return tuple(spec.name for spec in self.fields)

    def defaults(self) -> dict[str, Any]:
        """Return a full record of default values, in serialisation order."""
        return {spec.name: spec.default() for spec in self.fields}


def _text(name: str, length: int) -> FieldSpec:
    return FieldSpec(name, FieldKind.TEXT, max_length=length)


def _code(name: str, length: int) -> FieldSpec:
    return FieldSpec(name, FieldKind.CODE, max_length=length)


_ID = FieldSpec("id", FieldKind.GUID, read_only=True)
_MODIFIED = FieldSpec("lastModifiedDateTime", FieldKind.DATETIME, read_only=True)


def _address() -> tuple[FieldSpec, ...]:
    return (
        _text("addressLine1", 100),
        _text("addressLine2", 50),
        _text("city", 30),
        _text("state", 30),
        _code("country", 10),
        _code("postalCode", 20),
        _text("phoneNumber", 30),
        _text("email", 80),
        _text("website", 80),
    )


CUSTOMER = EntitySchema(
    entity_set="customers",
    entity_type="customer",
    caption="Customer",
    key_field="number",
    number_prefix="C",
    fields=(
        _ID,
        _code("number", 20),
        _text("displayName", 100),
        FieldSpec("type", FieldKind.ENUM, choices=("Company", "Person")),
        *_address(),
        _code("salespersonCode", 20),
        FieldSpec("balanceDue", FieldKind.DECIMAL, read_only=True),
        FieldSpec("creditLimit", FieldKind.DECIMAL),
        FieldSpec("taxLiable", FieldKind.BOOLEAN),
        FieldSpec("taxAreaId", FieldKind.GUID),
        FieldSpec("taxAreaDisplayName", FieldKind.TEXT, max_length=100, read_only=True),
        _text("taxRegistrationNumber", 20),
        FieldSpec("currencyId", FieldKind.GUID),
        _code("currencyCode", 10),
        FieldSpec("paymentTermsId", FieldKind.GUID),
        FieldSpec("shipmentMethodId", FieldKind.GUID),
        FieldSpec("paymentMethodId", FieldKind.GUID),
        FieldSpec("blocked", FieldKind.ENUM, choices=(" ", "Ship", "Invoice", "All")),
        _MODIFIED,
    ),
)

VENDOR = EntitySchema(
    entity_set="vendors",
    entity_type="vendor",
    caption="Vendor",
    key_field="number",
    number_prefix="V",
    fields=(
        _ID,
        _code("number", 20),
        _text("displayName", 100),
        *_address(),
        _text("taxRegistrationNumber", 20),
        FieldSpec("currencyId", FieldKind.GUID),
        _code("currencyCode", 10),
        _code("irs1099Code", 10),
        FieldSpec("paymentTermsId", FieldKind.GUID),
        FieldSpec("paymentMethodId", FieldKind.GUID),
        FieldSpec("taxLiable", FieldKind.BOOLEAN),
        FieldSpec("blocked", FieldKind.ENUM, choices=(" ", "Payment", "All")),
        FieldSpec("balance", FieldKind.DECIMAL, read_only=True),
        _MODIFIED,
    ),
)

CONTACT = EntitySchema(
    entity_set="contacts",
    entity_type="contact",
    caption="Contact",
    key_field="number",
    number_prefix="CT",
    number_digits=6,
    fields=(
        _ID,
        _code("number", 20),
        FieldSpec("type", FieldKind.ENUM, choices=("Company", "Person")),
        _text("displayName", 100),
        _text("jobTitle", 30),
        _code("companyNumber", 20),
        _text("companyName", 100),
        FieldSpec(
            "contactBusinessRelation",
            FieldKind.ENUM,
            read_only=True,
            choices=(" ", "Customer", "Vendor", "Bank Account", "Employee", "Multiple", "Other"),
        ),
        _text("addressLine1", 100),
        _text("addressLine2", 50),
        _text("city", 30),
        _text("state", 30),
        _code("country", 10),
        _code("postalCode", 20),
        _text("phoneNumber", 30),
        _text("mobilePhoneNumber", 30),
        _text("email", 80),
        _text("website", 80),
        _code("searchName", 100),
        FieldSpec("privacyBlocked", FieldKind.BOOLEAN),
        _text("taxRegistrationNumber", 20),
        FieldSpec("lastInteractionDate", FieldKind.DATE, read_only=True),
        _MODIFIED,
    ),
)

CURRENCY = EntitySchema(
    entity_set="currencies",
    entity_type="currency",
    caption="Currency",
    key_field="code",
    fields=(
        _ID,
        _code("code", 10),
        _text("displayName", 30),
        _text("symbol", 10),
        _text("amountDecimalPlaces", 5),
        FieldSpec("amountRoundingPrecision", FieldKind.DECIMAL),
        _MODIFIED,
    ),
)

SALESPERSON = EntitySchema(
    entity_set="salespeoplePurchasers",
    entity_type="salespersonPurchaser",
    caption="Salesperson/Purchaser",
    key_field="code",
    fields=(
        _ID,
        _code("code", 20),
        _text("displayName", 50),
        _text("email", 80),
        _text("email2", 80),
        _text("phoneNo", 30),
        _text("jobTitle", 30),
        FieldSpec("commisionPercent", FieldKind.DECIMAL),
        FieldSpec("privacyBlocked", FieldKind.BOOLEAN),
        FieldSpec("blocked", FieldKind.BOOLEAN),
        _MODIFIED,
    ),
)

PAYMENT_TERMS = EntitySchema(
    entity_set="paymentTerms",
    entity_type="paymentTerm",
    caption="Payment Terms",
    key_field="code",
    fields=(
        _ID,
        _code("code", 10),
        _text("displayName", 100),
        _text("dueDateCalculation", 32),
        _text("discountDateCalculation", 32),
        FieldSpec("discountPercent", FieldKind.DECIMAL),
        FieldSpec("calculateDiscountOnCreditMemos", FieldKind.BOOLEAN),
        _MODIFIED,
    ),
)

SHIPMENT_METHOD = EntitySchema(
    entity_set="shipmentMethods",
    entity_type="shipmentMethod",
    caption="Shipment Method",
    key_field="code",
    fields=(_ID, _code("code", 10), _text("displayName", 100), _MODIFIED),
)

SHIPPING_AGENT = EntitySchema(
    entity_set="shippingAgents",
    entity_type="shippingAgent",
    caption="Shipping Agent",
    key_field="code",
    api=CUSTOM_API,
    fields=(_ID, _code("code", 10), _text("name", 50), _MODIFIED),
)

COMPANY = EntitySchema(
    entity_set="companies",
    entity_type="company",
    caption="Company",
    key_field="name",
    fields=(
        FieldSpec("id", FieldKind.GUID, read_only=True),
        FieldSpec("systemVersion", FieldKind.TEXT, read_only=True),
        FieldSpec("timestamp", FieldKind.DECIMAL, read_only=True),
        FieldSpec("name", FieldKind.TEXT, max_length=30, read_only=True),
        FieldSpec("displayName", FieldKind.TEXT, max_length=250, read_only=True),
        FieldSpec("businessProfileId", FieldKind.TEXT, read_only=True),
        FieldSpec("systemCreatedAt", FieldKind.DATETIME, read_only=True),
        FieldSpec("systemCreatedBy", FieldKind.GUID, read_only=True),
        FieldSpec("systemModifiedAt", FieldKind.DATETIME, read_only=True),
        FieldSpec("systemModifiedBy", FieldKind.GUID, read_only=True),
    ),
)

COMPANY_ENTITIES: dict[str, EntitySchema] = {
    schema.entity_set: schema
    for schema in (
        CURRENCY,
        SALESPERSON,
        PAYMENT_TERMS,
        SHIPMENT_METHOD,
        SHIPPING_AGENT,
        CUSTOMER,
        VENDOR,
        CONTACT,
    )
}
"""Company-scoped entity sets, in dependency order (lookup targets first)."""
