"""Validation of POST/PATCH bodies: property names, types, lengths, enums and table relations.

Messages follow BC's wording where it is known (the error-code table of the BC docs and the
labels of the v2.0 API pages), so a client that shows them to a user shows familiar text.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sandbox.business_central.api_error import ApiError, bad_request
from sandbox.business_central.schema import EMPTY_GUID, EntitySchema, FieldKind, FieldSpec

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from sandbox.business_central.store import EntityTable, StoredRecord

BLANK_ENUM_ALIASES = frozenset({" ", "_x0020_"})
KEY_CAPTIONS = {"number": "No.", "code": "Code"}


def parse_changes(
    schema: EntitySchema, body: object, *, allow_id: bool, blank_enum: str
) -> dict[str, Any]:
    """Check a request body against the entity and return the normalised changes.

    Instance annotations (`@odata.etag`, ...) are ignored, as OData servers do. Code fields are
    upper-cased, like AL Code fields.

    Args:
        schema: the target entity.
        body: the decoded JSON body, e.g. `{"displayName": "Adatum", "currencyCode": "eur"}`.
        allow_id: accept a client-supplied `id` (SystemId) on create.
        blank_enum: the literal stored for a blank enum value (`" "` or `"_x0020_"`).

    Returns:
        The changes, e.g. `{"displayName": "Adatum", "currencyCode": "EUR"}`.

    Raises:
        ApiError: unknown or read-only property, wrong type, too long, not an enum option.
    """
    if not isinstance(body, dict):
        raise bad_request("Invalid Request Body")
    changes: dict[str, Any] = {}
    for name, value in body.items():
        if name.startswith("@"):
            continue
        spec = schema.by_name.get(name)
        if spec is None:
            raise bad_request(
                f"The property '{name}' does not exist on type "
                f"'Microsoft.NAV.{schema.entity_type}'. Make sure to only use property names "
                "that are defined by the type."
            )
        if spec.read_only and not (allow_id and name == "id"):
            raise ApiError(400, "BadRequest_InvalidOperation", f"Control '{name}' is read-only.")
        changes[name] = coerce_value(spec, value, blank_enum)
    return changes


def coerce_value(spec: FieldSpec, value: object, blank_enum: str) -> Any:  # noqa: ANN401
    """Validate one JSON value for a field and return it in stored form."""
    kind = spec.kind
    if kind in (FieldKind.TEXT, FieldKind.CODE):
        text = _require(isinstance(value, str), value, "Edm.String")
        return _check_length(spec, text.upper() if kind is FieldKind.CODE else text)
    if kind is FieldKind.GUID:
        return _parse_guid(value)
    if kind is FieldKind.DECIMAL:
        return _require(
            isinstance(value, int | float) and not isinstance(value, bool), value, "Edm.Decimal"
        )
    if kind is FieldKind.BOOLEAN:
        return _require(isinstance(value, bool), value, "Edm.Boolean")
    if kind is FieldKind.ENUM:
        return _parse_enum(spec, value, blank_enum)
    return _require(isinstance(value, str), value, kind.value)


def _require(ok: bool, value: Any, edm_type: str) -> Any:  # noqa: ANN401
    if not ok:
        raise bad_request(
            f"Cannot convert the literal '{value}' to the expected type '{edm_type}'."
        )
    return value


def _check_length(spec: FieldSpec, text: str) -> str:
    if spec.max_length is not None and len(text) > spec.max_length:
        raise ApiError(
            400,
            "Application_StringExceededLength",
            f"The length of the string is {len(text)}, but it must be less than or equal to "
            f"{spec.max_length} characters. Value: {text}",
        )
    return text


def _parse_guid(value: object) -> str:
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.Guid'.")


def _parse_enum(spec: FieldSpec, value: object, blank_enum: str) -> str:
    if isinstance(value, str) and value in BLANK_ENUM_ALIASES and " " in spec.choices:
        return blank_enum
    if isinstance(value, str) and value in spec.choices:
        return value
    # The wording of BC's option-evaluation error, as shown in the docs' $batch example.
    options = ",".join(spec.choices)
    raise ApiError(
        400, "Unknown", f"'{value}' is not an option. The existing options are: {options}"
    )


def key_caption(schema: EntitySchema) -> str:
    """Return the caption of the primary key field as BC prints it (`No.` or `Code`)."""
    return KEY_CAPTIONS.get(schema.key_field, schema.key_field)


def resolve_relations(
    schema: EntitySchema,
    values: dict[str, Any],
    changes: Mapping[str, Any],
    tables: Callable[[str], EntityTable],
) -> None:
    """Check and fill the fields that point at other tables, as the v2.0 API pages do.

    `currencyCode` and `currencyId` resolve each other; `salespersonCode`, `paymentTermsId`
    and `shipmentMethodId` must exist; a contact's `companyNumber` fills `companyName`.

    Raises:
        ApiError: a related record does not exist, or code and id disagree.
    """
    if "currencyId" in schema.by_name:
        _resolve_currency(schema, values, changes, tables("currencies"))
    if changes.get("salespersonCode"):
        _require_code(
            schema, "Salesperson Code", values["salespersonCode"], tables("salespeoplePurchasers")
        )
    for field_name, entity_set, caption in (
        ("paymentTermsId", "paymentTerms", "Payment Terms"),
        ("shipmentMethodId", "shipmentMethods", "Shipment Method"),
    ):
        if field_name in changes and values[field_name] != EMPTY_GUID:
            _require_id(field_name, caption, values[field_name], tables(entity_set))
    if schema.entity_set == "contacts":
        _resolve_contact_company(values, changes, tables("contacts"))


def _resolve_currency(
    schema: EntitySchema, values: dict[str, Any], changes: Mapping[str, Any], table: EntityTable
) -> None:
    by_code: StoredRecord | None = None
    if "currencyCode" in changes and values["currencyCode"]:
        by_code = table.find_by_key(values["currencyCode"])
        if by_code is None:
            _require_code(schema, "Currency Code", values["currencyCode"], table)
    if "currencyId" in changes:
        currency_id = values["currencyId"]
        by_id = table.rows.get(currency_id)
        if currency_id != EMPTY_GUID and by_id is None:
            raise ApiError(
                400, "Application_DialogException", 'The "currencyId" does not match to a Currency.'
            )
        code_from_id = "" if by_id is None else by_id.values["code"]
        if "currencyCode" in changes and values["currencyCode"] != code_from_id:
            raise ApiError(
                400,
                "Application_DialogException",
                "The currency values do not match to a specific Currency.",
            )
        values["currencyCode"] = code_from_id
    elif "currencyCode" in changes:
        values["currencyId"] = EMPTY_GUID if by_code is None else by_code.id


def _require_code(schema: EntitySchema, caption: str, code: str, table: EntityTable) -> None:
    if table.find_by_key(code) is None:
        raise ApiError(
            400,
            "Internal_InvalidTableRelation",
            f"The field {caption} of table {schema.caption} contains a value ({code}) that "
            f"cannot be found in the related table ({table.schema.caption}).",
        )


def _require_id(field_name: str, caption: str, record_id: str, table: EntityTable) -> None:
    if record_id not in table.rows:
        raise ApiError(
            400,
            "Application_DialogException",
            f'The "{field_name}" does not match to a {caption}.',
        )


def _resolve_contact_company(
    values: dict[str, Any], changes: Mapping[str, Any], contacts: EntityTable
) -> None:
    if "displayName" in changes and "searchName" not in changes:
        values["searchName"] = values["displayName"].upper()[:100]
    if values["type"] == "Company":
        # A company contact is its own company; the number may still be unassigned here and is
        # filled by the caller once the number series has given one.
        values["companyNumber"] = values["number"]
        values["companyName"] = values["displayName"]
        return
    company_number = values["companyNumber"]
    if "companyNumber" in changes and not company_number:
        values["companyName"] = ""
    elif "companyNumber" in changes:
        company = contacts.find_by_key(company_number)
        if company is None or company.values["type"] != "Company":
            raise ApiError(
                400,
                "Internal_InvalidTableRelation",
                f"The field Company No. of table Contact contains a value ({company_number}) "
                "that cannot be found in the related table (Contact).",
            )
        values["companyName"] = company.values["displayName"]
