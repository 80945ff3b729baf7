"""Validation of create/update bodies: columns, types, lengths, choices and `@odata.bind`.

Example body for `POST accounts`::

    {"name": "Contoso", "customertypecode": 3,
     "primarycontactid@odata.bind": "/contacts(00000000-0000-0000-0000-000000000001)",
     "ownerid@odata.bind": "/teams(00000000-0000-0000-0000-000000000002)"}

becomes `Changes(values={"name": ..., "customertypecode": 3}, lookups={"primarycontactid":
("contact", "<guid>"), "ownerid": ("team", "<guid>")})`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sandbox.dataverse import api_error
from sandbox.dataverse.api_error import ApiError, record_missing, unknown_property
from sandbox.dataverse.options import SandboxOptions
from sandbox.dataverse.resource import RowKey, normalize_guid, parse_reference
from sandbox.dataverse.tables import Column, ColumnKind, Table, find_table

__all__ = ["Changes", "KeyResolver", "parse_changes"]

KeyResolver = Callable[[Table, RowKey], str | None]
"""Returns the id of the existing row a key names, or None."""


@dataclass(slots=True)
class Changes:
    """A validated write body.

    Attributes:
        values: column logical name -> value to store (lookups excluded).
        lookups: lookup column name -> (target logical name, id), or None to clear it.
        row_id: the primary id given in the body, if any.
    """

    values: dict[str, Any] = field(default_factory=dict)
    lookups: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    row_id: str | None = None


def parse_changes(
    table: Table,
    body: Mapping[str, Any],
    *,
    creating: bool,
    resolve: KeyResolver,
    options: SandboxOptions,
) -> Changes:
    """Validate a write body for `table`.

    Args:
        table: the table written to.
        body: the decoded JSON object.
        creating: True for a create (or the create branch of an upsert).
        resolve: finds the rows `@odata.bind` values point to.
        options: behaviour switches (read-only columns, null binds, statecode on create).

    Returns:
        The changes to apply.

    Raises:
        ApiError: the body names an unknown or read-only column, has a value of the wrong
            type or length, or binds a lookup to a missing row (404).
    """
    changes = Changes()
    for name, value in body.items():
        if name.endswith("@odata.bind"):
            _bind(
                table,
                name.removesuffix("@odata.bind"),
                value,
                changes,
                resolve=resolve,
                options=options,
            )
        elif name == "@odata.type":
            _check_type(table, value)
        elif "@" not in name:
            _set_value(table, name, value, changes, creating=creating, options=options)
    return changes


def _check_type(table: Table, value: object) -> None:
    if not isinstance(value, str) or value.lstrip("#") != table.odata_type:
        raise ApiError(
            400,
            "0x80060888",
            f"The entity type '{value}' is not compatible with "
            f"the entity set of type '{table.odata_type}'.",
        )


def _set_value(
    table: Table,
    name: str,
    value: object,
    changes: Changes,
    *,
    creating: bool,
    options: SandboxOptions,
) -> None:
    column = table.columns.get(name)
    if column is None:
        raise unknown_property(table.logical_name, name)
    if column.kind is ColumnKind.LOOKUP:
        raise ApiError(
            400,
            "",
            "A 'PrimitiveValue' node with non-null value was found when "
            "trying to read the value of a navigation property; however, a "
            "'StartArray' node, a 'StartObject' node, or a 'PrimitiveValue' node "
            f"with null value was expected. Bind '{name}' with '{name}@odata.bind'.",
        )
    if name == table.primary_id:
        changes.row_id = _primary_id(table, value)
        return
    if not _writable(table, column, creating=creating, options=options):
        return
    changes.values[name] = convert_value(
        table, column, value, empty_as_null=options.empty_string == "null"
    )


def _primary_id(table: Table, value: object) -> str:
    guid = normalize_guid(value) if isinstance(value, str) else None
    if guid is None:
        raise ApiError(
            400,
            "0x80060888",
            f"Cannot convert the literal '{value}' to the "
            f"expected type 'Edm.Guid' of '{table.primary_id}'.",
        )
    return guid


def _writable(table: Table, column: Column, *, creating: bool, options: SandboxOptions) -> bool:
    if creating and column.kind is ColumnKind.STATE and options.state_on_create == "accept":
        return True
    allowed = column.valid_for_create if creating else column.valid_for_update
    if allowed:
        return True
    if options.read_only_columns == "ignore":
        return False
    operation = "create" if creating else "update"
    raise ApiError(
        400,
        api_error.INVALID_ARGUMENT,
        f"The '{column.name}' attribute of the '{table.logical_name}' entity is not "
        f"valid for {operation}.",
    )


def convert_value(
    table: Table, column: Column, value: object, *, empty_as_null: bool = True
) -> object:
    """Check one column value and return it as stored; raise ApiError when it is invalid."""
    kind = column.kind
    if value is None:
        if kind in (ColumnKind.STATE, ColumnKind.STATUS):
            raise _out_of_range(table, column, value)
        return None
    if isinstance(value, bool) != (kind is ColumnKind.BOOLEAN):
        raise _mistyped(column, value)
    if value == "" and empty_as_null and kind in (ColumnKind.STRING, ColumnKind.MEMO):
        return None  # the platform stores an empty string as null
    converted = _CONVERTERS[kind](table, column, value)
    if converted is _INVALID:
        raise _mistyped(column, value)
    return converted


_INVALID: Final = object()


def _text_value(table: Table, column: Column, value: object) -> object:
    return _checked_text(table, column, value) if isinstance(value, str) else _INVALID


def _choice_value(table: Table, column: Column, value: object) -> object:
    if not isinstance(value, int):
        return _INVALID
    if value not in column.choices:
        raise _out_of_range(table, column, value)
    return value


def _integer_value(table: Table, column: Column, value: object) -> object:
    return _checked_number(table, column, value) if isinstance(value, int) else _INVALID


def _decimal_value(table: Table, column: Column, value: object) -> object:
    if not isinstance(value, int | float):
        return _INVALID
    return _checked_number(table, column, float(value))


def _guid_value(_table: Table, _column: Column, value: object) -> object:
    guid = normalize_guid(value) if isinstance(value, str) else None
    return _INVALID if guid is None else guid


def _datetime_value(_table: Table, column: Column, value: object) -> object:
    return _parse_datetime(column, value) if isinstance(value, str) else _INVALID


def _same_value(_table: Table, _column: Column, value: object) -> object:
    return value


_CONVERTERS: Final[dict[ColumnKind, Callable[[Table, Column, object], object]]] = {
    ColumnKind.STRING: _text_value,
    ColumnKind.MEMO: _text_value,
    ColumnKind.CHOICE: _choice_value,
    ColumnKind.STATE: _choice_value,
    ColumnKind.STATUS: _choice_value,
    ColumnKind.INTEGER: _integer_value,
    ColumnKind.BIGINT: _integer_value,
    ColumnKind.DECIMAL: _decimal_value,
    ColumnKind.MONEY: _decimal_value,
    ColumnKind.UNIQUEIDENTIFIER: _guid_value,
    ColumnKind.DATETIME: _datetime_value,
    ColumnKind.BOOLEAN: _same_value,
}


def _checked_text(table: Table, column: Column, value: str) -> str:
    # SQL Server counts UTF-16 code units, so an emoji takes two of the allowed characters.
    length = len(value.encode("utf-16-le")) // 2
    if column.max_length is not None and length > column.max_length:
        raise ApiError(
            400,
            api_error.STRING_TOO_LONG,
            f"A validation error occurred.  The length of the '{column.name}' "
            f"attribute of the '{table.logical_name}' entity exceeded the maximum "
            f"allowed length of '{column.max_length}'.",
        )
    return value


def _checked_number(table: Table, column: Column, value: float) -> float:
    too_small = column.minimum is not None and value < column.minimum
    if too_small or (column.maximum is not None and value > column.maximum):
        raise _out_of_range(table, column, value)
    return value


def _parse_datetime(column: Column, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _mistyped(column, value) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _mistyped(column: Column, value: object) -> ApiError:
    return ApiError(
        400,
        "0x80060888",
        f"Cannot convert the literal '{value}' to the expected type '{column.edm_type}'.",
    )


def _out_of_range(table: Table, column: Column, value: object) -> ApiError:
    message = (
        f"A validation error occurred.  The value {value} of '{column.name}' on record "
        f"of type '{table.logical_name}' is outside the valid range."
    )
    if column.choices:
        message += f" Accepted Values: {','.join(str(choice) for choice in column.choices)}"
    return ApiError(400, api_error.VALUE_OUT_OF_RANGE, message)


def _bind(
    table: Table,
    navigation: str,
    reference: object,
    changes: Changes,
    *,
    resolve: KeyResolver,
    options: SandboxOptions,
) -> None:
    bound = table.navigation.get(navigation)
    if bound is None:
        raise ApiError(
            400,
            "0x80060888",
            f"An undeclared property '{navigation}' which only "
            "has property annotations in the payload but no property value was found "
            "in the payload. In OData, only declared navigation properties and "
            "declared named streams can be represented as properties without values.",
        )
    column, targets = bound
    if reference is None:
        if options.null_bind == "reject":
            raise ApiError(
                400,
                "0x80060888",
                f"A null value was found for the navigation "
                f"property '{navigation}'. Disassociate it with DELETE .../$ref.",
            )
        changes.lookups[column.name] = None
        return
    if not isinstance(reference, str):
        raise ApiError(
            400,
            "0x80060888",
            f"The value of '{navigation}@odata.bind' must be an entity reference string.",
        )
    entity_set, key = parse_reference(reference)
    target = find_table(entity_set)
    if target is None or target.entity_set != entity_set or target.logical_name not in targets:
        expected = " or ".join(targets)
        raise ApiError(
            400,
            "0x80060888",
            f"The reference '{reference}' can't be bound to "
            f"navigation property '{navigation}', which points to {expected}.",
        )
    row_id = resolve(target, key)
    if row_id is None:
        raise record_missing(target.logical_name, key.row_id or str(dict(key.parts)))
    changes.lookups[column.name] = (target.logical_name, row_id)
