r"""Rows as the Web API returns them: `$select`, `$expand`, ETags, lookups and annotations.

A trimmed row of `GET accounts?$select=name,customertypecode,_ownerid_value` with
`Prefer: odata.include-annotations="*"`::

    {"@odata.etag": "W/\\"1042\\"", "name": "Contoso",
     "customertypecode@OData.Community.Display.V1.FormattedValue": "Customer",
     "customertypecode": 3,
     "_ownerid_value@OData.Community.Display.V1.FormattedValue": "Sync App",
     "_ownerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty": "ownerid",
     "_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "systemuser",
     "_ownerid_value": "<guid>", "accountid": "<guid>"}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sandbox.dataverse.api_error import ApiError, invalid_query
from sandbox.dataverse.prefer import AnnotationFilter
from sandbox.dataverse.resource import parse_path
from sandbox.dataverse.store import Store, StoredRow
from sandbox.dataverse.tables import TABLES, Column, ColumnKind, LookupStyle, Table

__all__ = [
    "Expansion",
    "Projection",
    "RowSerializer",
    "etag_of",
    "format_datetime",
    "parse_projection",
]

FORMATTED: Final = "OData.Community.Display.V1.FormattedValue"
LOOKUP_LOGICAL_NAME: Final = "Microsoft.Dynamics.CRM.lookuplogicalname"
NAVIGATION_PROPERTY: Final = "Microsoft.Dynamics.CRM.associatednavigationproperty"


@dataclass(frozen=True, slots=True)
class Expansion:
    """One single-valued navigation property to expand, with its own `$select`."""

    navigation: str
    select: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Projection:
    """The `$select` and `$expand` of a request."""

    select: tuple[str, ...] | None = None
    expand: tuple[Expansion, ...] = ()


def etag_of(row: StoredRow) -> str:
    """Return the weak ETag of a row: `W/"<versionnumber>"`."""
    return f'W/"{row.values["versionnumber"]}"'


def format_datetime(moment: datetime) -> str:
    """Return a UTC datetime as Dataverse writes it: `2023-04-07T21:59:01Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _unknown_property(table: Table, name: str) -> ApiError:
    return invalid_query(
        f"Could not find a property named '{name}' on type "
        f"'Microsoft.Dynamics.CRM.{table.logical_name}'."
    )


def parse_select(table: Table, text: str | None) -> tuple[str, ...] | None:
    """Validate a `$select` list against the table's properties (`_x_value` for lookups)."""
    if text is None:
        return None
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    for name in names:
        if name not in table.properties:
            raise _unknown_property(table, name)
    return names or None


def _parse_expansion(table: Table, item: str) -> Expansion:
    segments = parse_path(item)
    segment = segments[0] if len(segments) == 1 else None
    if segment is None or segment.name not in table.navigation:
        raise invalid_query(
            f"Could not find a property named '{item.partition('(')[0]}' on "
            f"type 'Microsoft.Dynamics.CRM.{table.logical_name}'."
        )
    _, targets = table.navigation[segment.name]
    select: tuple[str, ...] | None = None
    if segment.key:
        option, _, value = segment.key.partition("=")
        if option.strip() != "$select" or len(targets) != 1:
            raise invalid_query(
                f"The emulator supports only $select inside $expand of "
                f"single-target navigation properties: '{item}'."
            )
        select = parse_select(TABLES[targets[0]], value)
    return Expansion(segment.name, select)


def parse_projection(table: Table, select: str | None, expand: str | None) -> Projection:
    """Parse `$select` and `$expand` (single-valued navigation properties only).

    Raises:
        ApiError: a name is not a property / navigation property of the table.
    """
    expansions: tuple[Expansion, ...] = ()
    if expand:
        items = [item.strip() for item in _split_top_level(expand) if item.strip()]
        expansions = tuple(_parse_expansion(table, item) for item in items)
    return Projection(parse_select(table, select), expansions)


def _split_top_level(text: str) -> list[str]:
    items, depth, start = [], 0, 0
    for index, character in enumerate(text):
        depth += {"(": 1, ")": -1}.get(character, 0)
        if character == "," and depth == 0:
            items.append(text[start:index])
            start = index + 1
    items.append(text[start:])
    return items


class RowSerializer:
    """Turns stored rows of one table into JSON objects for one request's projection.

    Args:
        store: needed for lookup display names and currency symbols.
        table: the table of the rows.
        projection: `$select` and `$expand`.
        annotations: the `odata.include-annotations` preference, if any.
    """

    def __init__(
        self,
        store: Store,
        table: Table,
        projection: Projection,
        annotations: AnnotationFilter | None,
    ) -> None:
        self._store = store
        self._table = table
        self._projection = projection
        self._formatted = annotations is not None and annotations.wants(FORMATTED)
        self._lookup_names = annotations is not None and annotations.wants(LOOKUP_LOGICAL_NAME)
        self._navigation = annotations is not None and annotations.wants(NAVIGATION_PROPERTY)
        self._annotations = annotations
        self._columns = self._chosen_columns(projection.select)
        self._datetimes = [c.property_name for c in self._columns if c.kind is ColumnKind.DATETIME]
        self._plain = [c.property_name for c in self._columns if c.kind is not ColumnKind.DATETIME]
        self._annotated = self._formatted or self._lookup_names or self._navigation

    def _chosen_columns(self, select: tuple[str, ...] | None) -> list[Column]:
        table = self._table
        if select is None:
            return list(table.columns.values())
        names = list(dict.fromkeys(select))
        if any(table.properties[name].kind is ColumnKind.MONEY for name in names):
            names.append("_transactioncurrencyid_value")
        names.append(table.primary_id)
        return [table.properties[name] for name in dict.fromkeys(names)]

    def serialize(self, row: StoredRow) -> dict[str, Any]:
        """Return the JSON object of one row."""
        values = row.values
        body: dict[str, Any] = {"@odata.etag": f'W/"{values["versionnumber"]}"'}
        if self._annotated:
            for column in self._columns:
                self._add_annotated(body, column, row)
        else:
            for name in self._plain:
                body[name] = values.get(name)
            for name in self._datetimes:
                moment = values.get(name)
                body[name] = None if moment is None else format_datetime(moment)
        for expansion in self._projection.expand:
            body[expansion.navigation] = self._expanded(row, expansion)
        return body

    def _add_annotated(self, body: dict[str, Any], column: Column, row: StoredRow) -> None:
        name = column.property_name
        value = row.values.get(name)
        if value is not None and column.kind is ColumnKind.LOOKUP:
            target = row.lookup_targets.get(column.name, column.targets[0])
            if self._navigation:
                body[f"{name}@{NAVIGATION_PROPERTY}"] = _navigation_name(column, target)
            if self._lookup_names:
                body[f"{name}@{LOOKUP_LOGICAL_NAME}"] = target
        if value is not None and self._formatted:
            label = self._label(column, value, row)
            if label is not None:
                body[f"{name}@{FORMATTED}"] = label
        body[name] = format_datetime(value) if isinstance(value, datetime) else value

    def _label(self, column: Column, value: object, row: StoredRow) -> str | None:
        kind = column.kind
        if column.choices:
            return column.choices.get(value) if isinstance(value, int) else None
        if kind is ColumnKind.BOOLEAN:
            return column.labels[int(bool(value))]
        if kind is ColumnKind.LOOKUP and isinstance(value, str):
            return self._display_name(row.lookup_targets.get(column.name, ""), value)
        if kind is ColumnKind.MONEY and isinstance(value, int | float):
            return f"{self._currency_symbol(row)}{value:,.2f}"
        return _formatted_number_or_date(kind, value)

    def _display_name(self, logical_name: str, row_id: str) -> str | None:
        table = TABLES.get(logical_name)
        if table is None:
            return None
        target = self._store.table_rows(logical_name).get(row_id)
        return None if target is None else target.values.get(table.primary_name)

    def _currency_symbol(self, row: StoredRow) -> str:
        currency_id = row.values.get("_transactioncurrencyid_value")
        currency = self._store.table_rows("transactioncurrency").get(currency_id or "")
        symbol = None if currency is None else currency.values.get("currencysymbol")
        return symbol or "$"

    def _expanded(self, row: StoredRow, expansion: Expansion) -> dict[str, Any] | None:
        column, targets = self._table.navigation[expansion.navigation]
        target_name = row.lookup_targets.get(column.name)
        target_id = row.values.get(column.property_name)
        if target_id is None or target_name not in targets:
            return None
        target_row = self._store.table_rows(target_name).get(target_id)
        if target_row is None:
            return None
        nested = RowSerializer(
            self._store, TABLES[target_name], Projection(expansion.select), self._annotations
        )
        return nested.serialize(target_row)


def _formatted_number_or_date(kind: ColumnKind, value: object) -> str | None:
    if kind is ColumnKind.INTEGER and isinstance(value, int):
        return f"{value:,}"
    if kind is ColumnKind.DATETIME and isinstance(value, datetime):
        hour = value.hour % 12 or 12
        noon = "AM" if value.hour < 12 else "PM"
        return f"{value.month}/{value.day}/{value.year} {hour}:{value.minute:02d} {noon}"
    return None


def _navigation_name(column: Column, target: str) -> str:
    if column.lookup_style is LookupStyle.CUSTOMER:
        return f"{column.name}_{target}"
    return column.name
