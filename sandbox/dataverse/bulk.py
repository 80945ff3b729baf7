"""The bulk messages CreateMultiple, UpdateMultiple and UpsertMultiple (api-contracts A7).

Example: `POST accounts/Microsoft.Dynamics.CRM.UpsertMultiple`::

    {"Targets": [
        {"@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": "<guid>", "name": "A"},
        {"@odata.type": "Microsoft.Dynamics.CRM.account",
         "@odata.id": "accounts(<guid>)", "name": "B"}]}

Standard tables run the whole request as one transaction: one bad target and nothing is
written; the error names the target. CreateMultiple answers `200 {"Ids": [...]}`, the others
`204`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final

from starlette.responses import Response

from sandbox.dataverse.api_error import ApiError, record_missing
from sandbox.dataverse.record_writer import RecordWriter
from sandbox.dataverse.resource import RowKey, parse_reference
from sandbox.dataverse.tables import Table
from sandbox.dataverse.wire import ApiRequest, empty_response, json_response

__all__ = ["BULK_MESSAGES", "run_bulk_message"]

BULK_MESSAGES: Final = frozenset({"CreateMultiple", "UpdateMultiple", "UpsertMultiple"})


def run_bulk_message(
    writer: RecordWriter, request: ApiRequest, table: Table, message: str
) -> Response:
    """Run one bulk message on `table` atomically.

    Raises:
        ApiError: `Targets` is missing or empty, or any target is invalid (nothing written).
    """
    targets = request.json_object().get("Targets")
    if not isinstance(targets, list) or not targets:
        raise ApiError(
            400, "0x80040203", f"The '{message}' request requires a non-empty 'Targets' collection."
        )
    ids: list[str] = []
    with writer.store.transaction():
        for index, target in enumerate(targets):
            try:
                ids.append(_apply(writer, table, message, target))
            except ApiError as error:
                raise error.with_context(f"(Targets[{index}])") from None
    if message == "CreateMultiple":
        context = f"{request.service_root}$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse"
        return json_response({"@odata.context": context, "Ids": ids})
    return empty_response(204)


def _apply(writer: RecordWriter, table: Table, message: str, target: object) -> str:
    if not isinstance(target, Mapping):
        raise ApiError(400, "0x80040203", "Each target must be a JSON object.")
    declared = target.get("@odata.type")
    if declared is None:
        raise ApiError(
            400,
            "0x80040203",
            f"The '@odata.type' annotation is required on every "
            f"target of {message}, e.g. '{table.odata_type}'.",
        )
    if message == "CreateMultiple":
        changes = writer.parse(table, target, creating=True)
        created = writer.create(table, changes, changes.row_id or str(uuid.uuid4()))
        return str(created.values[table.primary_id])
    key = _target_key(table, target)
    if message == "UpdateMultiple":
        if key is None:
            raise ApiError(
                400, "0x80040203", f"UpdateMultiple targets must include '{table.primary_id}'."
            )
        row_id = writer.resolve(table, key)
        if row_id is None:
            raise record_missing(table.logical_name, key.row_id or str(dict(key.parts)))
        writer.update(table, row_id, writer.parse(table, target, creating=False))
        return row_id
    return _upsert(writer, table, target, key)


def _target_key(table: Table, target: Mapping[str, Any]) -> RowKey | None:
    reference = target.get("@odata.id")
    if isinstance(reference, str):
        entity_set, key = parse_reference(reference)
        if entity_set != table.entity_set:
            raise ApiError(
                400,
                "0x80040203",
                f"The '@odata.id' '{reference}' does not belong to '{table.entity_set}'.",
            )
        return key
    primary = target.get(table.primary_id)
    return RowKey(str(primary).lower()) if isinstance(primary, str) else None


def _upsert(
    writer: RecordWriter, table: Table, target: Mapping[str, Any], key: RowKey | None
) -> str:
    row_id = None if key is None else writer.resolve(table, key)
    key_names = {name for name, _ in key.parts} if key is not None else set()
    if row_id is not None:
        body = {
            name: value
            for name, value in target.items()
            if name not in key_names and name != table.primary_id
        }
        writer.update(table, row_id, writer.parse(table, body, creating=False))
        return row_id
    named = dict(key.parts) if key is not None else {}
    changes = writer.parse(table, {**named, **target}, creating=True)
    new_id = (key.row_id if key is not None else None) or changes.row_id or str(uuid.uuid4())
    return str(writer.create(table, changes, new_id).values[table.primary_id])
