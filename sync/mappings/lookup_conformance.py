"""Checks that a lookup goes through mappings that fit its column and its BC value.

Part of the catalogue checks (``conformance.py``): each mapping a lookup names must exist,
sync a table the Dataverse column may point at (for a choice column: be its option mapping), and
hold records the BC value can name (``bc_key`` of a fitting type). A ``company_contact`` lookup
is used on contacts and goes through customers or vendors; ``dataverse_target`` names one of
the tables of a polymorphic column.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sync.mappings.catalog import BC_ENTITIES, DATAVERSE_TABLES, CatalogField, FieldType
from sync.mappings.problem import suggest
from sync.models import FieldMapping, LookupVia, TableMapping

_RELATED_ENTITIES = ("customers", "vendors")
"""The BC entities a company contact's business relation can name (API v2.0)."""


def lookup_problems(
    mapping: TableMapping,
    field: FieldMapping,
    names: Collection[str],
    by_name: Mapping[str, TableMapping],
) -> list[str]:
    """What is wrong with the lookup of ``field`` (none when it has no lookup).

    Args:
        mapping: The mapping the field belongs to.
        field: The field mapping.
        names: Every mapping name of the set.
        by_name: The mappings without problems of their own, by name.
    """
    if field.lookup is None:
        return []
    messages = _polymorphic_problems(mapping, field)
    for target_name in field.lookup.mappings:
        if target_name in names:
            messages += _lookup_target(mapping, field, by_name.get(target_name))
        else:
            messages.append(
                f"the lookup goes through mapping {target_name}, which is not a mapping here"
                f"{suggest(target_name, names)}; add it or point the lookup at an existing one"
            )
    return messages


def _polymorphic_problems(mapping: TableMapping, field: FieldMapping) -> list[str]:
    table = DATAVERSE_TABLES.get(mapping.dataverse_table)
    column = table.get(field.dataverse_field or "") if table is not None else None
    target = field.lookup.dataverse_target if field.lookup is not None else None
    if target is None or column is None or column.type is not FieldType.LOOKUP:
        return []
    if len(column.targets) < 2:  # noqa: PLR2004 - one target is no choice
        return [
            f"dataverse_target names the table of a lookup that may point at several; "
            f"{column.name} points only at {column.targets[0]}, so leave dataverse_target out"
        ]
    if target not in column.targets:
        return [
            f"dataverse_target {target!r} is not a table {column.name} may point at; "
            f"use one of: {', '.join(column.targets)}"
        ]
    return []


def _lookup_target(
    mapping: TableMapping, field: FieldMapping, target: TableMapping | None
) -> list[str]:
    table = DATAVERSE_TABLES.get(mapping.dataverse_table)
    column = table.get(field.dataverse_field or "") if table is not None else None
    if target is None or column is None or field.lookup is None:
        return []  # already reported: the target or the column is unknown or wrong
    messages = _target_fits_column(target, column, mapping.dataverse_table)
    wanted_table = field.lookup.dataverse_target
    if wanted_table is not None and not messages and target.dataverse_table != wanted_table:
        messages.append(
            f"the lookup resolves {wanted_table} rows, but {target.name} syncs "
            f"{_syncs(target)}; look up through a mapping of {wanted_table}"
        )
    if field.lookup.via is LookupVia.COMPANY_CONTACT:
        return messages + _company_contact_problems(mapping, target)
    key_entity = BC_ENTITIES.get(target.bc_entity)
    own_entity = BC_ENTITIES.get(mapping.bc_entity)
    if key_entity is None or own_entity is None:
        return messages
    key = key_entity.get(field.lookup.bc_key)
    value = own_entity.get(field.bc_field or "")
    if key is None:
        messages.append(
            f"bc_key {field.lookup.bc_key!r} is not a field of {target.bc_entity}"
            f"{suggest(field.lookup.bc_key, key_entity.fields)}; name the field of "
            f"{target.name} that {field.bc_field} holds"
        )
    elif value is not None and _family(key.type) != _family(value.type):
        fix = (
            "set bc_key to 'id'"
            if value.type is FieldType.GUID
            else f"set bc_key to the {target.bc_entity} field whose values {value.name} holds"
        )
        messages.append(
            f"{value.name} holds a {value.type} but {target.name}'s {key.name} is a {key.type}; "
            f"{fix}"
        )
    return messages


def _company_contact_problems(mapping: TableMapping, target: TableMapping) -> list[str]:
    messages = []
    if mapping.bc_entity != "contacts":
        messages.append(
            "a company_contact lookup translates the company number of a contact; use it on a "
            f"mapping of contacts, not of {mapping.bc_entity}"
        )
    if target.bc_entity not in _RELATED_ENTITIES:
        messages.append(
            f"a company contact is related to a customer or vendor, but {target.name} syncs "
            f"{target.bc_entity}; look up through a mapping of customers or vendors"
        )
    return messages


def _target_fits_column(target: TableMapping, column: CatalogField, table: str) -> list[str]:
    if column.type is FieldType.CHOICE:
        fits = target.is_option and (target.dataverse_table, target.dataverse_option_column) == (
            table,
            column.name,
        )
        if not fits:
            return [
                f"choice column {column.name} is translated by an option mapping of "
                f"{table}.{column.name}, and {target.name} is not one; point the lookup at it"
            ]
        return []
    if target.is_option or target.dataverse_table not in column.targets:
        return [
            f"lookup column {column.name} points at {' or '.join(column.targets)}, but "
            f"{target.name} syncs {_syncs(target)}; look up through a mapping of "
            f"{' or '.join(column.targets)}"
        ]
    return []


def _syncs(mapping: TableMapping) -> str:
    if mapping.is_option:
        return f"options of {mapping.dataverse_table}.{mapping.dataverse_option_column}"
    return mapping.dataverse_table


def _family(kind: FieldType) -> str:
    return "text" if kind in (FieldType.TEXT, FieldType.CODE) else kind.value
