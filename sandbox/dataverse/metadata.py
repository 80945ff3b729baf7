"""Table definitions as the Web API serves them: `EntityDefinitions`, attributes, keys, CSDL.

What Microsoft's Python SDK asks for, answered here::

    GET EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute
        &$filter=LogicalName eq 'account'
    -> {"@odata.context": ".../$metadata#EntityDefinitions(LogicalName,EntitySetName,...)",
        "value": [{"LogicalName": "account", "EntitySetName": "accounts",
                   "PrimaryIdAttribute": "accountid", "MetadataId": "<guid>"}]}

    GET EntityDefinitions(LogicalName='account')/Attributes
        /Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName
        &$expand=OptionSet($select=Options)
    -> {"value": [{"LogicalName": "customertypecode", "MetadataId": "<guid>",
                   "OptionSet": {"Options": [{"Value": 3, "Label": {"LocalizedLabels": [...]}}]}}]}
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final

from sandbox.dataverse.api_error import ApiError, invalid_query
from sandbox.dataverse.resource import Segment, normalize_guid, parse_key
from sandbox.dataverse.tables import TABLES, Column, ColumnKind, LookupStyle, Table
from sandbox.dataverse.wire import ApiRequest
from sandbox.odata_filter import FilterSyntaxError, parse_filter

__all__ = ["attribute_definition", "csdl_document", "entity_definition", "read_metadata"]

_NAMESPACE: Final = uuid.UUID("6f1e7e0a-2f43-4c1e-9d7a-4b1a8f0c2d11")
_METADATA_TYPES: Final = {
    ColumnKind.STRING: "String",
    ColumnKind.MEMO: "Memo",
    ColumnKind.INTEGER: "Integer",
    ColumnKind.BIGINT: "BigInt",
    ColumnKind.DECIMAL: "Decimal",
    ColumnKind.MONEY: "Money",
    ColumnKind.BOOLEAN: "Boolean",
    ColumnKind.DATETIME: "DateTime",
    ColumnKind.UNIQUEIDENTIFIER: "UniqueIdentifier",
    ColumnKind.CHOICE: "Picklist",
    ColumnKind.STATE: "State",
    ColumnKind.STATUS: "Status",
    ColumnKind.LOOKUP: "Lookup",
}
_LOOKUP_TYPES: Final = {
    LookupStyle.SINGLE: "Lookup",
    LookupStyle.OWNER: "Owner",
    LookupStyle.CUSTOMER: "Customer",
}


def _metadata_id(*names: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, ".".join(names)))


def _label(text: str) -> dict[str, Any]:
    localized = {"Label": text, "LanguageCode": 1033, "IsManaged": True}
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


def entity_definition(table: Table, *, tracking: bool) -> dict[str, Any]:
    """Return the EntityMetadata of a table."""
    return {
        "MetadataId": _metadata_id(table.logical_name),
        "LogicalName": table.logical_name,
        "SchemaName": table.schema_name,
        "EntitySetName": table.entity_set,
        "LogicalCollectionName": table.entity_set,
        "PrimaryIdAttribute": table.primary_id,
        "PrimaryNameAttribute": table.primary_name,
        "ObjectTypeCode": table.object_type_code,
        "OwnershipType": table.ownership,
        "IsCustomEntity": table.custom,
        "IsActivity": False,
        "IsIntersect": False,
        "IsOptimisticConcurrencyEnabled": True,
        "ChangeTrackingEnabled": tracking,
        "CanChangeTrackingBeEnabled": {
            "Value": True,
            "CanBeChanged": True,
            "ManagedPropertyLogicalName": "canchangetrackingbeenabled",
        },
        "DisplayName": _label(table.display_name),
    }


def _type_name(column: Column) -> str:
    if column.kind is ColumnKind.LOOKUP:
        return _LOOKUP_TYPES[column.lookup_style]
    return _METADATA_TYPES[column.kind]


def attribute_definition(table: Table, column: Column) -> dict[str, Any]:
    """Return the AttributeMetadata of a column (its `@odata.type` names the subtype)."""
    type_name = _type_name(column)
    subtype = "Lookup" if column.kind is ColumnKind.LOOKUP else type_name
    definition: dict[str, Any] = {
        "@odata.type": f"#Microsoft.Dynamics.CRM.{subtype}AttributeMetadata",
        "MetadataId": _metadata_id(table.logical_name, column.name),
        "LogicalName": column.name,
        "SchemaName": column.name,
        "EntityLogicalName": table.logical_name,
        "AttributeType": type_name,
        "AttributeTypeName": {"Value": f"{type_name}Type"},
        "IsPrimaryId": column.name == table.primary_id,
        "IsPrimaryName": column.name == table.primary_name,
        "IsValidForCreate": column.valid_for_create,
        "IsValidForUpdate": column.valid_for_update,
        "IsValidForRead": True,
        "RequiredLevel": {
            "Value": "None",
            "CanBeChanged": True,
            "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
        },
        "DisplayName": _label(column.name),
    }
    if column.max_length is not None:
        definition["MaxLength"] = column.max_length
    if column.minimum is not None:
        definition["MinValue"] = column.minimum
        definition["MaxValue"] = column.maximum
    if column.targets:
        definition["Targets"] = list(column.targets)
    return definition


def _option_set(table: Table, column: Column) -> dict[str, Any]:
    options = [{"Value": value, "Label": _label(label)} for value, label in column.choices.items()]
    return {
        "MetadataId": _metadata_id(table.logical_name, column.name, "options"),
        "Name": f"{table.logical_name}_{column.name}",
        "Options": options,
    }


def _project(item: Mapping[str, Any], select: str | None, type_name: str) -> dict[str, Any]:
    if select is None:
        return dict(item)
    names = [name.strip() for name in select.split(",") if name.strip()]
    for name in names:
        if name not in item and name != "OptionSet":
            raise invalid_query(
                f"Could not find a property named '{name}' on type "
                f"'Microsoft.Dynamics.CRM.{type_name}'."
            )
    kept = {"MetadataId", "OptionSet", *names}  # an expanded OptionSet stays
    return {name: value for name, value in item.items() if name in kept or name == "@odata.type"}


def _filtered(items: list[dict[str, Any]], text: str | None) -> list[dict[str, Any]]:
    if text is None:
        return items
    try:
        expression = parse_filter(text)
    except FilterSyntaxError as error:
        raise invalid_query(f"Syntax error in $filter: {error}.") from None
    return [item for item in items if expression.matches(item)]


def _find_table(key_text: str) -> Table:
    guid = normalize_guid(key_text)
    key = parse_key(key_text)
    names = dict(key.parts)
    for table in TABLES.values():
        by_name = names.get("LogicalName") == table.logical_name
        if by_name or guid == _metadata_id(table.logical_name):
            return table
    raise ApiError(404, "0x80040217", f"Could not find entity with key '{key_text}'.")


def read_metadata(
    request: ApiRequest,
    segments: list[Segment],
    tracking: Mapping[str, bool],
    alternate_keys: Mapping[str, tuple[tuple[str, ...], ...]],
) -> dict[str, Any]:
    """Answer a GET under `EntityDefinitions`; return the JSON body.

    Raises:
        ApiError: an unknown table, attribute or property (404/400).
    """
    root = f"{request.service_root}$metadata#EntityDefinitions"
    select, where = request.param("$select"), request.param("$filter")
    if segments[0].key is None:
        items = [entity_definition(t, tracking=tracking[t.logical_name]) for t in TABLES.values()]
        rows = [_project(item, select, "EntityMetadata") for item in _filtered(items, where)]
        return {"@odata.context": root + (f"({select})" if select else ""), "value": rows}
    table = _find_table(segments[0].key)
    if len(segments) == 1:
        item = entity_definition(table, tracking=tracking[table.logical_name])
        return {"@odata.context": f"{root}/$entity", **_project(item, select, "EntityMetadata")}
    if segments[1].name == "Keys":
        return {
            "@odata.context": f"{root}({table.logical_name})/Keys",
            "value": _keys(table, alternate_keys.get(table.logical_name, ())),
        }
    if segments[1].name != "Attributes":
        raise ApiError(
            404, "0x80060888", f"Resource not found for the segment '{segments[1].name}'."
        )
    return _read_attributes(request, table, segments[1:], root)


def _read_attributes(
    request: ApiRequest, table: Table, segments: list[Segment], root: str
) -> dict[str, Any]:
    cast = segments[1].name if len(segments) > 1 else None
    expand_options = "OptionSet" in (request.param("$expand") or "")
    items = []
    for column in table.columns.values():
        definition = attribute_definition(table, column)
        if cast is not None and not definition["@odata.type"].endswith(f".{cast.split('.')[-1]}"):
            continue
        if expand_options and column.choices:
            definition["OptionSet"] = _option_set(table, column)
        items.append(definition)
    select = request.param("$select")
    if segments[0].key is not None:
        wanted = dict(parse_key(segments[0].key).parts).get("LogicalName")
        found = [item for item in items if item["LogicalName"] == wanted]
        if not found:
            raise ApiError(
                404, "0x80040217", f"Could not find attribute '{wanted}' on '{table.logical_name}'."
            )
        return {
            "@odata.context": f"{root}({table.logical_name})/Attributes/$entity",
            **_project(found[0], select, "AttributeMetadata"),
        }
    rows = [
        _project(item, select, "AttributeMetadata")
        for item in _filtered(items, request.param("$filter"))
    ]
    return {"@odata.context": f"{root}({table.logical_name})/Attributes", "value": rows}


_CHANGE_TRACKING: Final = (
    '<Annotation Term="Org.OData.Capabilities.V1.ChangeTracking"><Record>'
    '<PropertyValue Property="Supported" Bool="true"/></Record></Annotation>'
)


def _entity_type(table: Table) -> str:
    lines = [
        f'<EntityType Name="{table.logical_name}" BaseType="mscrm.crmbaseentity">',
        f'<Key><PropertyRef Name="{table.primary_id}"/></Key>',
    ]
    lines += [
        f'<Property Name="{column.property_name}" Type="{column.edm_type}"/>'
        for column in table.columns.values()
    ]
    for name, (_, targets) in table.navigation.items():
        target = targets[0] if len(targets) == 1 else "crmbaseentity"
        lines.append(f'<NavigationProperty Name="{name}" Type="mscrm.{target}"/>')
    return "".join([*lines, "</EntityType>"])


def csdl_document(tracking: Mapping[str, bool], *, annotations: bool) -> str:
    """Return a minimal `$metadata` CSDL document.

    It declares entity types and entity sets and, when `annotations` are asked, marks tracked
    sets with `Org.OData.Capabilities.V1.ChangeTracking` as Dataverse does.
    """
    sets = []
    for table in TABLES.values():
        marker = _CHANGE_TRACKING if annotations and tracking[table.logical_name] else ""
        sets.append(
            f'<EntitySet Name="{table.entity_set}" EntityType="{table.odata_type}">'
            f"{marker}</EntitySet>"
        )
    types = "".join(_entity_type(table) for table in TABLES.values())
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">'
        '<edmx:DataServices><Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" '
        'xmlns="http://docs.oasis-open.org/odata/ns/edm">'
        '<EntityType Name="crmbaseentity" Abstract="true"/>'
        f'{types}<EntityContainer Name="System">{"".join(sets)}</EntityContainer>'
        "</Schema></edmx:DataServices></edmx:Edmx>"
    )


def _keys(table: Table, keys: tuple[tuple[str, ...], ...]) -> list[dict[str, Any]]:
    return [
        {
            "MetadataId": _metadata_id(table.logical_name, "key", *columns),
            "LogicalName": f"{table.logical_name}_{'_'.join(columns)}_key",
            "SchemaName": f"{table.logical_name}_{'_'.join(columns)}_key",
            "EntityLogicalName": table.logical_name,
            "KeyAttributes": list(columns),
            "EntityKeyIndexStatus": "Active",
        }
        for columns in keys
    ]
