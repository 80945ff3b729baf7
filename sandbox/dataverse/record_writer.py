"""Creates, updates and deletes rows the way the platform does, whoever asks.

The Web API handlers, the bulk messages, `$batch` and the control plane all write through a
`RecordWriter`, so every write bumps `versionnumber` and `modifiedon`, fills the columns the
server composes (`fullname`, `address1_composite`, `exchangerate`, `creditlimit_base`), sets
default owner and currency, and is logged for change tracking.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.dataverse.api_error import (
    INVALID_ARGUMENT,
    ApiError,
    duplicate_record,
    record_missing,
)
from sandbox.dataverse.options import SandboxOptions
from sandbox.dataverse.payload import Changes, parse_changes
from sandbox.dataverse.resource import RowKey
from sandbox.dataverse.store import Store, StoredRow
from sandbox.dataverse.tables import TABLES, ColumnKind, Table

__all__ = ["RecordWriter"]

_STATUS_OF_STATE = {0: 1, 1: 2}
_ADDRESS_LINES = ("address1_line1", "address1_line2", "address1_line3")


class RecordWriter:
    """Applies validated changes to the store.

    Args:
        store: the rows.
        options: behaviour switches passed on to body validation.
    """

    def __init__(self, store: Store, options: SandboxOptions) -> None:
        self.store = store
        self.options = options

    def resolve(self, table: Table, key: RowKey) -> str | None:
        """Return the id of the row a key names (primary id or alternate key), or None."""
        rows = self.store.table_rows(table.logical_name)
        if key.row_id is not None:
            return key.row_id if rows.get(key.row_id) is not None else None
        names = {name for name, _ in key.parts}
        if names == {table.primary_id}:
            row_id = str(key.parts[0][1])
            return row_id if rows.get(row_id) is not None else None
        configured = self.options.alternate_keys.get(table.logical_name, ())
        if not any(set(columns) == names for columns in configured):
            raise ApiError(
                400,
                INVALID_ARGUMENT,
                f"The key attributes {sorted(names)} don't "
                f"match an alternate key defined for '{table.logical_name}'.",
            )
        wanted = dict(key.parts)
        for row_id, row in rows.rows.items():
            if all(_same(row.values.get(name), value) for name, value in wanted.items()):
                return row_id
        return None

    def parse(self, table: Table, body: Mapping[str, Any], *, creating: bool) -> Changes:
        """Validate a body for this table (see `payload.parse_changes`)."""
        return parse_changes(
            table, body, creating=creating, resolve=self.resolve, options=self.options
        )

    def create(self, table: Table, changes: Changes, row_id: str) -> StoredRow:
        """Create a row with this id; raise the duplicate-key error when it exists."""
        if self.store.table_rows(table.logical_name).get(row_id) is not None:
            raise duplicate_record()
        return self._write(table, row_id, changes, existing=None)

    def update(self, table: Table, row_id: str, changes: Changes) -> StoredRow:
        """Update an existing row; raise 404 when it is missing."""
        existing = self.store.table_rows(table.logical_name).get(row_id)
        if existing is None:
            raise record_missing(table.logical_name, row_id)
        if changes.row_id is not None and changes.row_id != row_id:
            raise ApiError(
                400,
                INVALID_ARGUMENT,
                f"The '{table.primary_id}' in the body doesn't "
                "match the id of the row being updated.",
            )
        return self._write(table, row_id, changes, existing=existing)

    def delete(self, table: Table, row_id: str) -> None:
        """Delete a row and clear the lookups pointing to it (cascade RemoveLink)."""
        if self.store.table_rows(table.logical_name).get(row_id) is None:
            raise record_missing(table.logical_name, row_id)
        self.store.remove(table.logical_name, row_id)
        self._unlink(table.logical_name, row_id)

    def _write(
        self, table: Table, row_id: str, changes: Changes, existing: StoredRow | None
    ) -> StoredRow:
        row = existing.copy() if existing is not None else self._new_row(table, row_id)
        row.values.update(changes.values)
        for column_name, target in changes.lookups.items():
            property_name = f"_{column_name}_value"
            if target is None:
                row.values[property_name] = None
                row.lookup_targets.pop(column_name, None)
            else:
                row.values[property_name] = target[1]
                row.lookup_targets[column_name] = target[0]
        _align_status(row, changes)
        self._compose(table, row)
        row.values["modifiedon"] = self.store.now()
        row.values["versionnumber"] = self.store.next_version()
        self.store.put(table.logical_name, row_id, row)
        return row

    def _new_row(self, table: Table, row_id: str) -> StoredRow:
        row = StoredRow({column.property_name: None for column in table.columns.values()})
        row.values[table.primary_id] = row_id
        row.values["createdon"] = self.store.now()
        if "statecode" in table.columns:
            row.values["statecode"], row.values["statuscode"] = 0, 1
        organization = self.store.organization
        if "ownerid" in table.columns:
            row.values["_ownerid_value"] = organization.caller_id
            row.lookup_targets["ownerid"] = "systemuser"
        if "transactioncurrencyid" in table.columns and organization.base_currency_id:
            row.values["_transactioncurrencyid_value"] = organization.base_currency_id
            row.lookup_targets["transactioncurrencyid"] = "transactioncurrency"
        return row

    def _compose(self, table: Table, row: StoredRow) -> None:
        values = row.values
        if table.columns.get("fullname") is not None:
            names = (values.get("firstname"), values.get("lastname"))
            values["fullname"] = " ".join(name for name in names if name) or None
        if "address1_composite" in table.columns:
            values["address1_composite"] = _composite_address(values)
        if "creditlimit_base" in table.columns:
            rate = self._exchange_rate(values.get("_transactioncurrencyid_value"))
            values["exchangerate"] = rate
            limit = values.get("creditlimit")
            converted = None if limit is None or not rate else round(limit / rate, 4)
            values["creditlimit_base"] = converted

    def _exchange_rate(self, currency_id: str | None) -> float | None:
        if currency_id is None:
            return None
        currency = self.store.table_rows("transactioncurrency").get(currency_id)
        return None if currency is None else currency.values.get("exchangerate")

    def _unlink(self, logical_name: str, row_id: str) -> None:
        for table in TABLES.values():
            lookups = [
                column
                for column in table.columns.values()
                if column.kind is ColumnKind.LOOKUP and logical_name in column.targets
            ]
            if not lookups:
                continue
            rows = self.store.table_rows(table.logical_name)
            for other_id, row in list(rows.rows.items()):
                cleared = {
                    column.name: None
                    for column in lookups
                    if row.values.get(column.property_name) == row_id
                    and row.lookup_targets.get(column.name) == logical_name
                }
                if cleared:
                    self._write(table, other_id, Changes(lookups=dict(cleared)), existing=row)


def _same(stored: object, wanted: object) -> bool:
    if isinstance(stored, str) and isinstance(wanted, str):
        return stored.casefold() == wanted.casefold()
    return bool(stored == wanted)


def _align_status(row: StoredRow, changes: Changes) -> None:
    state = changes.values.get("statecode")
    if state is not None and "statuscode" not in changes.values:
        row.values["statuscode"] = _STATUS_OF_STATE[state]
    status = changes.values.get("statuscode")
    if status is not None and "statecode" not in changes.values:
        row.values["statecode"] = next(s for s, st in _STATUS_OF_STATE.items() if st == status)
    if state is not None and status is not None and _STATUS_OF_STATE[state] != status:
        raise ApiError(
            400, INVALID_ARGUMENT, f"{status} is not a valid status code for state code {state}."
        )


def _composite_address(values: Mapping[str, Any]) -> str | None:
    lines = [values.get(name) for name in _ADDRESS_LINES]
    place = " ".join(
        part
        for part in (values.get("address1_stateorprovince"), values.get("address1_postalcode"))
        if part
    )
    city_line = ", ".join(part for part in (values.get("address1_city"), place) if part)
    parts = [line for line in [*lines, city_line, values.get("address1_country")] if line]
    return "\r\n".join(parts) or None
