"""Single-row operations: create, retrieve, update/upsert, delete, and single properties.

`PATCH accounts(<id>)` follows Dataverse's upsert rules (api-contracts A4)::

    no If-Match / If-None-Match   upsert: update when the row exists, otherwise create it
    If-Match: *                   update only: 404 when the row is missing
    If-None-Match: *              create only: 412 when the row exists
    If-Match: W/"<version>"       update only when the row still has that version, else 412

Successful writes answer `204` with `OData-EntityId`, or, with `Prefer: return=representation`,
`201` (created) / `200` (updated) and the row.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from starlette.responses import Response

from sandbox.dataverse.api_error import (
    ApiError,
    invalid_query,
    key_exists,
    record_missing,
    unknown_property,
    version_mismatch,
)
from sandbox.dataverse.payload import Changes
from sandbox.dataverse.record_writer import RecordWriter
from sandbox.dataverse.representation import (
    RowSerializer,
    etag_of,
    format_datetime,
    parse_projection,
)
from sandbox.dataverse.resource import RowKey, parse_key
from sandbox.dataverse.store import StoredRow
from sandbox.dataverse.tables import ColumnKind, Table
from sandbox.dataverse.wire import ApiRequest, empty_response, json_response

__all__ = ["create_row", "delete_row", "read_row", "upsert_row", "write_property"]


def entity_url(request: ApiRequest, table: Table, row_id: str) -> str:
    """Return the absolute URL of a row, as sent in `OData-EntityId`."""
    return f"{request.service_root}{table.entity_set}({row_id})"


def _describe(key: RowKey) -> str:
    return key.row_id or ",".join(f"{name}={value}" for name, value in key.parts)


def _existing(writer: RecordWriter, table: Table, key_text: str) -> StoredRow:
    key = parse_key(key_text)
    row_id = writer.resolve(table, key)
    row = None if row_id is None else writer.store.table_rows(table.logical_name).get(row_id)
    if row is None:
        raise record_missing(table.logical_name, _describe(key))
    return row


def _check_if_match(request: ApiRequest, row: StoredRow) -> None:
    condition = request.header("if-match")
    if condition is None or condition == "*":
        return
    if etag_of(row) not in [tag.strip() for tag in condition.split(",")]:
        raise version_mismatch()


def _written(
    writer: RecordWriter, request: ApiRequest, table: Table, row: StoredRow, *, created: bool
) -> Response:
    row_url = entity_url(request, table, row.values[table.primary_id])
    if not request.preferences.return_representation:
        return empty_response(204, {"OData-EntityId": row_url})
    projection = parse_projection(table, request.param("$select"), None)
    serializer = RowSerializer(writer.store, table, projection, request.preferences.annotations)
    body = {
        "@odata.context": _entity_context(request, table, projection.select),
        **serializer.serialize(row),
    }
    return json_response(
        body, 201 if created else 200, {"Preference-Applied": "return=representation"}
    )


def _entity_context(request: ApiRequest, table: Table, select: tuple[str, ...] | None) -> str:
    columns = f"({','.join(select)})" if select else ""
    return f"{request.service_root}$metadata#{table.entity_set}{columns}/$entity"


def create_row(writer: RecordWriter, request: ApiRequest, table: Table) -> Response:
    """`POST <entityset>`: create a row, with a client-supplied primary id if given."""
    changes = writer.parse(table, request.json_object(), creating=True)
    row = writer.create(table, changes, changes.row_id or str(uuid.uuid4()))
    return _written(writer, request, table, row, created=True)


def read_row(writer: RecordWriter, request: ApiRequest, table: Table, key_text: str) -> Response:
    """`GET <entityset>(<key>)`; `304` when `If-None-Match` holds the current ETag."""
    row = _existing(writer, table, key_text)
    projection = parse_projection(table, request.param("$select"), request.param("$expand"))
    annotations = request.preferences.annotations
    unchanged = request.header("if-none-match") == etag_of(row)
    if unchanged and annotations is None and not projection.expand:
        return empty_response(304)
    serializer = RowSerializer(writer.store, table, projection, annotations)
    body = {
        "@odata.context": _entity_context(request, table, projection.select),
        **serializer.serialize(row),
    }
    applied = request.preferences.applied()
    return json_response(body, headers={"Preference-Applied": applied} if applied else None)


def upsert_row(writer: RecordWriter, request: ApiRequest, table: Table, key_text: str) -> Response:
    """`PATCH <entityset>(<key>)`: update, create or upsert depending on the conditions."""
    key = parse_key(key_text)
    body = request.json_object()
    row_id = writer.resolve(table, key)
    if row_id is not None:
        if request.header("if-none-match") == "*":
            raise key_exists()
        _check_if_match(request, writer.store.table_rows(table.logical_name).rows[row_id])
        key_names = {name for name, _ in key.parts}
        changes = writer.parse(
            table,
            {name: value for name, value in body.items() if name not in key_names},
            creating=False,
        )
        row = writer.update(table, row_id, changes)
        return _written(writer, request, table, row, created=False)
    if request.header("if-match") is not None:
        raise record_missing(table.logical_name, _describe(key))
    # Alternate key values from the URL are copied into the new row when the body lacks them.
    named = {name: value for name, value in key.parts if name != table.primary_id}
    changes = writer.parse(table, {**named, **body}, creating=True)
    new_id = key.row_id or _named_primary_id(table, key) or changes.row_id or str(uuid.uuid4())
    if changes.row_id is not None and changes.row_id != new_id:
        raise ApiError(
            400,
            "0x80040203",
            f"The '{table.primary_id}' in the body doesn't match the id in the URL.",
        )
    row = writer.create(table, changes, new_id)
    return _written(writer, request, table, row, created=True)


def _named_primary_id(table: Table, key: RowKey) -> str | None:
    values = dict(key.parts)
    value = values.get(table.primary_id)
    return None if value is None else str(value)


def delete_row(writer: RecordWriter, request: ApiRequest, table: Table, key_text: str) -> Response:
    """`DELETE <entityset>(<key>)`: `204`, `404` when missing, `412` on a stale `If-Match`."""
    row = _existing(writer, table, key_text)
    _check_if_match(request, row)
    writer.delete(table, row.values[table.primary_id])
    return empty_response(204)


def write_property(
    writer: RecordWriter, request: ApiRequest, table: Table, key_text: str, path: list[str]
) -> Response:
    """Single-property operations on `<entityset>(<key>)/<property>[/$ref]`.

    `GET .../name` reads one value, `PUT .../name {"value": ...}` sets it, `DELETE .../name`
    clears it; `PUT .../primarycontactid/$ref {"@odata.id": "..."}` binds a lookup and
    `DELETE .../primarycontactid/$ref` clears it.
    """
    row = _existing(writer, table, key_text)
    name = path[0]
    is_reference = path[1:] == ["$ref"]
    if is_reference and name in table.navigation:
        return _write_reference(writer, request, table, row, name)
    column = table.properties.get(name)
    if column is None or len(path) > 1:
        raise unknown_property(table.logical_name, "/".join(path))
    if request.method == "GET":
        value = row.values.get(name)
        body = {
            "@odata.context": f"{request.service_root}$metadata#{table.entity_set}"
            f"({row.values[table.primary_id]})/{name}",
            "value": format_datetime(value) if isinstance(value, datetime) else value,
        }
        return json_response(body)
    if column.kind is ColumnKind.LOOKUP:
        raise invalid_query(f"Use '{column.name}/$ref' to change the lookup '{name}'.")
    value = None if request.method == "DELETE" else request.json_object().get("value")
    changes = writer.parse(table, {name: value}, creating=False)
    writer.update(table, row.values[table.primary_id], changes)
    return empty_response(204)


def _write_reference(
    writer: RecordWriter, request: ApiRequest, table: Table, row: StoredRow, navigation: str
) -> Response:
    if request.method == "DELETE":
        column, _ = table.navigation[navigation]
        changes = Changes(lookups={column.name: None})
    elif request.method == "PUT":
        reference = request.json_object().get("@odata.id")
        changes = writer.parse(table, {f"{navigation}@odata.bind": reference}, creating=False)
    else:
        raise ApiError(405, "", f"The method {request.method} is not allowed on a reference.")
    writer.update(table, row.values[table.primary_id], changes)
    return empty_response(204)
