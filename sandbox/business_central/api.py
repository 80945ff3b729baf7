"""Resource handlers of the API v2.0, free of the web framework so `$batch` reuses them as is.

A request names its resource relative to the API root, as in a `$batch` item:

    companies(2f5c...)/customers?$filter=number eq 'C00010'
    customers(9a1e...)?company=CRONUS USA, Inc.      (company as query option or header)
    companies(2f5c...)/customers(9a1e...)/contactsInformation     (see contact_information)
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sandbox.business_central import contact_information
from sandbox.business_central.api_error import ApiError, bad_request
from sandbox.business_central.contact_information import (
    NAVIGATION,
    ContactInformation,
    RowQuery,
    parse_expand,
)
from sandbox.business_central.query import parse_query, parse_select, read_page
from sandbox.business_central.schema import COMPANY_ENTITIES, STANDARD_API
from sandbox.errors import bc_error

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sandbox.business_central.config import EmulatorConfig
    from sandbox.business_central.service import BusinessCentralService
    from sandbox.business_central.store import EntityTable, StoredRecord

ODATA_JSON = "application/json; odata.metadata=minimal"
INVALID_BODY: Any = object()
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_$][\w$]*)(?:\((?P<key>[^()]*)\))?$")
_MAXPAGESIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)
_CONTINUATION_OPTIONS = frozenset({"$skiptoken", "$top", "$skip"})
_VALUE_SAFE = ",'()$:"


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One API call, from HTTP or from a `$batch` item.

    Attributes:
        method: the HTTP method, upper case.
        resource: the path under the API root, e.g. `companies(<id>)/customers(<id>)`.
        query: query options by name (first value wins).
        headers: headers with lower-case names.
        body: the decoded JSON body; None when absent, INVALID_BODY when it was not JSON.
        api_root: the absolute URL of the API root, e.g. `http://bc.test/v2.0/t/prod/api/v2.0`.
        api: STANDARD_API or CUSTOM_API; decides which entity sets exist.
        query_pairs: the query options in their original order, for the nextLink.
    """

    method: str
    resource: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: object
    api_root: str
    api: str
    query_pairs: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class ApiResponse:
    """The answer to one API call.

    Attributes:
        status: the HTTP status.
        headers: response headers (Content-Type is added by the caller when a body exists).
        payload: a JSON body as data, or None.
        text: a JSON body already rendered (collection pages), or None.
        writes: records written, for the simulated per-record server cost.
    """

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    payload: dict[str, Any] | None = None
    text: str | None = None
    writes: int = 0

    def body_text(self) -> str | None:
        """Return the body as JSON text, or None when there is no body."""
        if self.text is not None:
            return self.text
        if self.payload is None:
            return None
        return json.dumps(self.payload, ensure_ascii=False, separators=(",", ":"))

    def body_value(self) -> Any:  # noqa: ANN401 - any JSON value
        """Return the body as data, or None when there is no body."""
        return json.loads(self.text) if self.text is not None else self.payload


@dataclass(frozen=True, slots=True)
class Target:
    """What a resource path points at: a company's entity set, or a record of it.

    `navigation` names a navigation of the record (`customers(<id>)/contactsInformation`).
    """

    company_id: str | None
    entity_set: str
    record_id: str | None
    navigation: str | None = None


def error_response(error: ApiError) -> ApiResponse:
    """Turn a refusal into BC's error body (with the trailing correlation id)."""
    rendered = bc_error(error.status, error.code, error.message)
    return ApiResponse(error.status, payload=json.loads(bytes(rendered.body)))


def dispatch(service: BusinessCentralService, request: ApiRequest) -> ApiResponse:
    """Answer one API call (anything but `$batch`), refusals included."""
    try:
        target = resolve_target(service, request)
        if target.company_id is None:
            return _companies(service, request, target)
        if NAVIGATION in (target.navigation, target.entity_set):
            return _contact_information(service, request, target)
        table = service.table(target.company_id, target.entity_set)
        if target.record_id is None:
            return _collection(service, request, table, target)
        return _entity(service, request, table, target)
    except ApiError as error:
        return error_response(error)


def resolve_target(service: BusinessCentralService, request: ApiRequest) -> Target:
    """Parse the resource path, resolving the company from the path, `?company=` or header.

    Raises:
        ApiError: unknown segment, malformed key, or unknown company.
    """
    parts = [_parse_segment(s) for s in request.resource.strip("/").split("/")]
    name, key = parts[0]
    if name.startswith("$"):
        # $metadata and other service documents are not emulated.
        raise _not_found_segment(name)
    if name == "companies":
        if len(parts) == 1:
            return Target(None, "companies", key)
        if key is None:
            raise _not_found_segment(parts[1][0])
        company_id = service.resolve_company(key)
        parts = parts[1:]
    else:
        reference = request.query.get("company") or request.headers.get("company") or ""
        company_id = service.resolve_company(reference)
    navigation = _navigation(parts, request.api)
    if len(parts) != (1 if navigation is None else 2):
        raise _not_found_segment(parts[1][0])
    name, key = parts[0]
    if (name, key, request.api) == (NAVIGATION, None, STANDARD_API):
        return Target(company_id, name, None)
    schema = COMPANY_ENTITIES.get(name)
    if schema is None or schema.api != request.api:
        raise _not_found_segment(name)
    return Target(company_id, name, key, navigation)


def _navigation(parts: list[tuple[str, str | None]], api: str) -> str | None:
    # Only a customer or vendor has a navigation the emulator serves.
    if len(parts) != 2 or parts[1] != (NAVIGATION, None) or api != STANDARD_API:
        return None
    name, key = parts[0]
    return NAVIGATION if key is not None and name in ("customers", "vendors") else None


def _parse_segment(segment: str) -> tuple[str, str | None]:
    match = _SEGMENT.match(segment)
    if match is None:
        raise _not_found_segment(segment)
    key = match.group("key")
    if key is None:
        return match.group("name"), None
    try:
        return match.group("name"), str(uuid.UUID(key.strip("'")))
    except ValueError:
        raise ApiError(400, "BadRequest_NotFound", "Bad Request - Error in query syntax.") from None


def _not_found_segment(name: str) -> ApiError:
    return ApiError(
        404, "BadRequest_ResourceNotFound", f"Resource not found for the segment '{name}'."
    )


def _not_allowed(method: str, entity_set: str, edm_type: str) -> ApiError:
    return ApiError(
        405,
        "BadRequest_MethodNotAllowed",
        f"'{method}' requests for '{entity_set}' of EdmType '{edm_type}' are not allowed within "
        "Microsoft Dynamics NAV OData web services.",
    )


def _companies(service: BusinessCentralService, request: ApiRequest, target: Target) -> ApiResponse:
    if request.method != "GET":
        edm_type = "EntitySet" if target.record_id is None else "Entity"
        raise _not_allowed(request.method, "companies", edm_type)
    context = f"{request.api_root}/$metadata#companies"
    table = service.store.companies
    if target.record_id is None:
        return _page(service.config, request, table, context)
    record = service.find(table, target.record_id)
    return _single(request, table, record, context)


def _collection(
    service: BusinessCentralService, request: ApiRequest, table: EntityTable, target: Target
) -> ApiResponse:
    context = f"{request.api_root}/$metadata#companies({target.company_id})/{target.entity_set}"
    if request.method == "GET":
        expansion = _expansion(service, request, table, str(target.company_id))
        return _page(service.config, request, table, context, expansion)
    if request.method == "POST":
        record = service.insert(str(target.company_id), target.entity_set, _body(request))
        response = _single(request, table, record, context, status=201)
        location = f"{request.api_root}/companies({target.company_id})/{target.entity_set}"
        response.headers["Location"] = f"{location}({record.id})"
        response.writes = 1
        return response
    raise _not_allowed(request.method, target.entity_set, "EntitySet")


def _entity(
    service: BusinessCentralService, request: ApiRequest, table: EntityTable, target: Target
) -> ApiResponse:
    company_id, entity_set = str(target.company_id), target.entity_set
    record_id = str(target.record_id)
    context = f"{request.api_root}/$metadata#companies({company_id})/{entity_set}"
    if_match = request.headers.get("if-match")
    if request.method == "GET":
        expansion = _expansion(service, request, table, company_id)
        return _single(request, table, service.find(table, record_id), context, expansion)
    if request.method == "PATCH":
        record = service.modify(company_id, entity_set, record_id, _body(request), if_match)
        response = _single(request, table, record, context)
        response.writes = 1
        return response
    if request.method == "DELETE":
        service.remove(company_id, entity_set, record_id, if_match)
        return ApiResponse(204, writes=1)
    raise _not_allowed(request.method, entity_set, "Entity")


def _body(request: ApiRequest) -> object:
    if request.body is INVALID_BODY or request.body is None:
        raise bad_request("Invalid Request Body")
    return request.body


def _page(
    config: EmulatorConfig,
    request: ApiRequest,
    table: EntityTable,
    context: str,
    expansion: _Expansion | None = None,
) -> ApiResponse:
    options = request.query
    if expansion is not None:  # served here; the collection query knows no navigation
        options = {name: value for name, value in options.items() if name != "$expand"}
    query = parse_query(table.schema, options)
    page_size, applied = page_size_for(config, request.headers.get("prefer"))
    page = read_page(table, query, page_size, request.query.get("$skiptoken"))
    if query.select is not None:
        context += f"({','.join(query.select)})"
    parts = ['{"@odata.context":', json.dumps(context), ',"value":[']
    parts.append(",".join(_row_json(row, query.select, expansion) for row in page.rows))
    parts.append("]")
    if page.next_token is not None:
        parts.extend((',"@odata.nextLink":', json.dumps(_next_link(request, page.next_token))))
    parts.append("}")
    headers = {"Preference-Applied": f"odata.maxpagesize={page_size}"} if applied else {}
    return ApiResponse(200, headers=headers, text="".join(parts))


def page_size_for(config: EmulatorConfig, prefer: str | None) -> tuple[int, bool]:
    """Return the page size for a `Prefer` header and whether the preference was applied.

    Raises:
        ApiError: `odata.maxpagesize` above the maximum, when `oversized_page_status` is set.
    """
    match = _MAXPAGESIZE.search(prefer or "")
    requested = int(match.group(1)) if match else 0
    if requested <= 0:
        return config.default_page_size, False
    if requested > config.max_page_size:
        if config.oversized_page_status is not None:
            raise ApiError(
                config.oversized_page_status,
                "BadRequest",
                f"The requested page size {requested} exceeds the maximum page size of "
                f"{config.max_page_size} entities.",
            )
        return config.max_page_size, True
    return requested, True


def _single(
    request: ApiRequest,
    table: EntityTable,
    record: StoredRecord,
    context: str,
    expansion: _Expansion | None = None,
    *,
    status: int = 200,
) -> ApiResponse:
    select = parse_select(table.schema, request.query.get("$select", ""))
    if select is not None:
        context += f"({','.join(select)})"
    row = _row_json(record, select, expansion)
    text = '{"@odata.context":' + json.dumps(context + "/$entity") + "," + row[1:]
    return ApiResponse(status, headers={"ETag": record.etag}, text=text)


def _row_json(
    record: StoredRecord, select: tuple[str, ...] | None, expansion: _Expansion | None = None
) -> str:
    if select is None and expansion is None:
        return record.to_json()
    values = record.values
    chosen = {"@odata.etag": record.etag, **{name: values[name] for name in select or values}}
    if expansion is not None:
        chosen[NAVIGATION] = expansion.rows(record.id)
    return json.dumps(chosen, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class _Expansion:
    """`$expand=contactsInformation(...)` of one customers or vendors read."""

    information: ContactInformation
    entity_set: str
    query: RowQuery

    def rows(self, record_id: str) -> list[dict[str, Any]]:
        return self.query.apply(self.information.rows(self.entity_set, record_id))


def _expansion(
    service: BusinessCentralService, request: ApiRequest, table: EntityTable, company_id: str
) -> _Expansion | None:
    schema = table.schema
    query = parse_expand(schema.entity_set, schema.entity_type, request.query.get("$expand", ""))
    if query is None:
        return None
    return _Expansion(ContactInformation(service, company_id), schema.entity_set, query)


def _contact_information(
    service: BusinessCentralService, request: ApiRequest, target: Target
) -> ApiResponse:
    company_id = str(target.company_id)
    if request.method != "GET":
        edm_type = "EntitySet" if target.navigation is None else "Entity"
        raise _not_allowed(request.method, NAVIGATION, edm_type)
    information = ContactInformation(service, company_id)
    path = f"companies({company_id})"
    if target.navigation is None:
        rows = information.company_rows(request.query.get("$filter", ""))
    else:
        service.find(service.table(company_id, target.entity_set), str(target.record_id))
        path += f"/{target.entity_set}({target.record_id})"
        query = contact_information.row_query(
            request.query.get("$filter", ""), request.query.get("$select", "")
        )
        rows = query.apply(information.rows(target.entity_set, str(target.record_id)))
    context = f"{request.api_root}/$metadata#{path}/{NAVIGATION}"
    return ApiResponse(200, payload={"@odata.context": context, "value": rows})


def _next_link(request: ApiRequest, token: str) -> str:
    kept = [(k, v) for k, v in request.query_pairs if k not in _CONTINUATION_OPTIONS]
    kept.append(("$skiptoken", token))
    query = "&".join(f"{quote(k, safe='$')}={quote(v, safe=_VALUE_SAFE)}" for k, v in kept)
    return f"{request.api_root}/{request.resource.strip('/')}?{query}"
