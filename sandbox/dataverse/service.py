"""Routes Web API requests to the operations, for direct requests and `$batch` parts alike.

Recognised resources under `/api/data/v9.2/`::

    <entityset>                                   GET (query, change tracking), POST (create)
    <entityset>/$count                            GET
    <entityset>/Microsoft.Dynamics.CRM.<Message>  POST (Create|Update|Upsert)Multiple
    <entityset>(<key>)                            GET, PATCH (update/upsert), DELETE
    <entityset>(<key>)/<property>[/$ref]          GET, PUT, DELETE
    $batch                                        POST multipart/mixed
    EntityDefinitions[...]                        GET
    $metadata[?annotations=true]                  GET (minimal CSDL)
    WhoAmI                                        GET
    organizations                                 GET (the organization and its base currency)
"""

from __future__ import annotations

from starlette.responses import Response

from sandbox.dataverse.api_error import ApiError
from sandbox.dataverse.batch import run_batch
from sandbox.dataverse.bulk import BULK_MESSAGES, run_bulk_message
from sandbox.dataverse.change_tracking import count_changes, read_tracked
from sandbox.dataverse.metadata import csdl_document, read_metadata
from sandbox.dataverse.options import SandboxOptions
from sandbox.dataverse.query import count_matches, parse_collection_query, read_page
from sandbox.dataverse.record_writer import RecordWriter
from sandbox.dataverse.records import (
    create_row,
    delete_row,
    read_row,
    upsert_row,
    write_property,
)
from sandbox.dataverse.resource import Segment, parse_path
from sandbox.dataverse.store import Store
from sandbox.dataverse.tables import TABLES, Table, find_table
from sandbox.dataverse.wire import ApiRequest, error_response, json_response

__all__ = ["DataverseService"]

_BULK_PREFIX = "Microsoft.Dynamics.CRM."


def _not_allowed(method: str) -> ApiError:
    return ApiError(
        405, "0x80060888", f"The requested resource does not support http method '{method}'."
    )


def _not_found(name: str) -> ApiError:
    return ApiError(404, "0x80060888", f"Resource not found for the segment '{name}'.")


class DataverseService:
    """The Web API of one emulated environment.

    Args:
        store: the rows.
        options: behaviour switches and limits.
    """

    def __init__(self, store: Store, options: SandboxOptions) -> None:
        self.store = store
        self.options = options
        self.writer = RecordWriter(store, options)

    def handle(self, request: ApiRequest) -> Response:
        """Answer one request; errors come back as Dataverse error responses."""
        try:
            return self._route(request)
        except ApiError as error:
            return error_response(error)

    def _route(self, request: ApiRequest) -> Response:
        segments = parse_path(request.path)
        head = segments[0].name if segments else ""
        if head == "$batch":
            if request.method != "POST":
                raise _not_allowed(request.method)
            return run_batch(request, self.handle, self.store, self.options.batch_limit)
        if head in ("WhoAmI", "organizations", "EntityDefinitions", "", "$metadata"):
            if request.method != "GET":
                raise _not_allowed(request.method)
            return self._describe(request, head, segments)
        table = find_table(head)
        if table is None or table.entity_set != head:
            raise _not_found(head)
        if segments[0].key is not None:
            return self._route_row(request, table, segments)
        if len(segments) == 1:
            if request.method == "GET":
                return self._read_collection(request, table)
            if request.method == "POST":
                return create_row(self.writer, request, table)
            raise _not_allowed(request.method)
        return self._route_collection_action(request, table, segments[1].name)

    def _describe(self, request: ApiRequest, head: str, segments: list[Segment]) -> Response:
        root = request.service_root
        if head == "WhoAmI":
            organization = self.store.organization
            return json_response(
                {
                    "@odata.context": f"{root}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                    "BusinessUnitId": organization.business_unit_id,
                    "UserId": organization.caller_id,
                    "OrganizationId": organization.organization_id,
                }
            )
        if head == "organizations":
            # The one organization row; clients read its base currency from it.
            organization = self.store.organization
            return json_response(
                {
                    "@odata.context": f"{root}$metadata#organizations",
                    "value": [
                        {
                            "organizationid": organization.organization_id,
                            "_basecurrencyid_value": organization.base_currency_id,
                        }
                    ],
                }
            )
        tracking = {name: rows.tracking for name, rows in self.store.tables.items()}
        if head == "EntityDefinitions":
            return json_response(
                read_metadata(request, segments, tracking, self.options.alternate_keys)
            )
        if head == "$metadata":
            annotated = (request.param("annotations") or "").lower() == "true"
            return Response(
                csdl_document(tracking, annotations=annotated),
                200,
                {"OData-Version": "4.0"},
                media_type="application/xml",
            )
        entity_sets = [
            {"name": table.entity_set, "kind": "EntitySet", "url": table.entity_set}
            for table in TABLES.values()
        ]
        return json_response({"@odata.context": f"{root}$metadata", "value": entity_sets})

    def _route_row(self, request: ApiRequest, table: Table, segments: list[Segment]) -> Response:
        key = segments[0].key or ""
        if len(segments) > 1:
            if request.method not in ("GET", "PUT", "DELETE"):
                raise _not_allowed(request.method)
            return write_property(
                self.writer, request, table, key, [segment.name for segment in segments[1:]]
            )
        if request.method == "GET":
            return read_row(self.writer, request, table, key)
        if request.method == "PATCH":
            return upsert_row(self.writer, request, table, key)
        if request.method == "DELETE":
            return delete_row(self.writer, request, table, key)
        raise _not_allowed(request.method)

    def _route_collection_action(self, request: ApiRequest, table: Table, action: str) -> Response:
        if action == "$count":
            if request.method != "GET":
                raise _not_allowed(request.method)
            return self._count(request, table)
        message = action.removeprefix(_BULK_PREFIX)
        if action.startswith(_BULK_PREFIX) and message in BULK_MESSAGES:
            if request.method != "POST":
                raise _not_allowed(request.method)
            return run_bulk_message(self.writer, request, table, message)
        raise _not_found(action)

    def _read_collection(self, request: ApiRequest, table: Table) -> Response:
        query = parse_collection_query(table, request)
        resumed_tracking = query.cursor is not None and query.cursor.tracking
        if query.delta_token is not None or request.preferences.track_changes or resumed_tracking:
            tracked = read_tracked(self.store, request, table, query, self.options)
            if tracked is not None:
                return json_response(tracked[0], headers=tracked[1])
        body, headers = read_page(
            self.store,
            request,
            table,
            query,
            max_page_size=self.options.max_page_size,
            count_limit=self.options.count_limit,
        )
        return json_response(body, headers=headers)

    def _count(self, request: ApiRequest, table: Table) -> Response:
        token = request.param("$deltatoken")
        if token is not None:
            total = count_changes(self.store, table, token, self.options)
        else:
            query = parse_collection_query(table, request)
            limit = self.options.count_limit
            total = min(
                count_matches(self.store.table_rows(table.logical_name), query.filter, limit), limit
            )
        return Response(str(total), 200, {"OData-Version": "4.0"}, media_type="text/plain")
