"""The OpenAPI 2.0 (Swagger) document of the HTTP API, for Power Automate custom connectors.

Custom connectors import Swagger 2.0 only, so the document is built here from the route table
(``openapi_routes``) and the pydantic models of requests and answers, whose JSON Schema is
narrowed to what Swagger 2.0 knows (``nullable`` becomes ``x-nullable``, unions become free
values). Long operations carry ``x-ms-long-running-operation`` and document the 202 answer
with ``Location`` and ``Retry-After``, which Power Automate follows by itself. Security is a
function key in the ``x-functions-key`` header; the signed status link, health and this
document need none.

``GET /api/openapi.json`` (``openapi``) serves it with the caller's host filled in;
``openapi.json`` at the repository root is the same document with a placeholder host
(``python -m sync.entrypoints.openapi_builder > openapi.json`` writes it; a test keeps it
current).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel

from sync import __version__
from sync.entrypoints.api_views import ErrorView, RunResultView
from sync.entrypoints.openapi_routes import (
    MAPPING_DOCUMENT,
    MAPPING_FILE,
    OPENAPI_DOCUMENT,
    ROUTES,
    Parameter,
    Payload,
    Route,
)

PLACEHOLDER_HOST = "your-function-app.azurewebsites.net"
Schema = dict[str, Any]

_FREE_FORM: dict[str, Schema] = {
    MAPPING_DOCUMENT: {
        "type": "object",
        "description": "A table mapping as in a mapping file (see GET mappings/{name}).",
        "additionalProperties": True,
    },
    MAPPING_FILE: {
        "type": "object",
        "description": "A mapping file: format, version and mappings.",
        "required": ["format", "version", "mappings"],
        "properties": {
            "format": {"type": "string", "enum": ["bc-dataverse-sync/mappings"]},
            "version": {"type": "integer", "enum": [1]},
            "mappings": {"type": "array", "items": {"$ref": f"#/definitions/{MAPPING_DOCUMENT}"}},
        },
    },
    OPENAPI_DOCUMENT: {"type": "object", "additionalProperties": True},
}
_IDEMPOTENCY_KEY = Parameter(
    "Idempotency-Key", "header", "Repeat a request with the same key to get the first answer"
)
_COMPANY = Parameter("company", "query", "BC company id; needed when several are configured")
_ERRORS = {
    400: "Malformed request: bad JSON, an unknown field, an id that is not a GUID",
    401: "The status link expired",
    403: "The status link's signature does not match",
    404: "Unknown company, mapping, record or run",
    409: "The mapping is running, or the record is coupled already",
    422: "A valid request the data cannot satisfy (e.g. an unsound mapping)",
    500: "A failure on our side; the answer gives a correlation id to report",
}


def build_document(host: str = PLACEHOLDER_HOST) -> dict[str, Any]:
    """The whole document, for ``host``."""
    definitions: dict[str, Schema] = dict(_FREE_FORM)
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method] = _operation(route, definitions)
    return {
        "swagger": "2.0",
        "info": {
            "title": "BC Dataverse Sync",
            "description": "Keep Business Central and Dataverse in sync: run syncs, couple "
            "records, read run history and manage mappings.",
            "version": __version__,
        },
        "host": host,
        "basePath": "/api",
        "schemes": ["https"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "securityDefinitions": {
            "apiKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"}
        },
        "security": [{"apiKey": []}],
        "paths": paths,
        "definitions": dict(sorted(definitions.items())),
    }


def _operation(route: Route, definitions: dict[str, Schema]) -> dict[str, Any]:
    parameters = [_parameter(p) for p in route.parameters]
    if not route.anonymous:
        parameters.append(_parameter(_COMPANY))
    if route.method != "get":
        parameters.append(_parameter(_IDEMPOTENCY_KEY))
    if route.body is not None:
        schema = _schema(route.body, definitions, mode="validation")
        parameters.append({"in": "body", "name": "body", "required": False, "schema": schema})
    operation: dict[str, Any] = {
        "operationId": _pascal(route.function),
        "summary": route.summary,
        "description": route.description,
        "parameters": parameters,
        "responses": _responses(route, definitions),
    }
    if route.anonymous:
        operation["security"] = []
    if route.long_running:
        operation["x-ms-long-running-operation"] = True
    return operation


def _responses(route: Route, definitions: dict[str, Schema]) -> dict[str, Any]:
    status, payload = route.ok
    ok: dict[str, Any] = {"description": "Done" if status != 202 else "Accepted"}  # noqa: PLR2004
    if payload is not None:
        ok["schema"] = _schema(payload, definitions, mode="serialization")
    if route.long_running:
        ok["headers"] = {
            "Location": {"type": "string", "description": "Signed status link to poll"},
            "Retry-After": {"type": "integer", "description": "Seconds to wait between polls"},
        }
    responses: dict[str, Any] = {str(status): ok}
    if route.long_running:
        plan = _schema(RunResultView, definitions, mode="serialization")
        responses["200"] = {"description": "Dry run: the plan", "schema": plan}
    error = _schema(ErrorView, definitions, mode="serialization")
    for code in (*route.errors, 500) if route.errors else ():
        responses[str(code)] = {"description": _ERRORS[code], "schema": error}
    return responses


def _parameter(parameter: Parameter) -> dict[str, Any]:
    described: dict[str, Any] = {
        "name": parameter.name,
        "in": parameter.where,
        "description": parameter.description,
        "required": parameter.required,
        "type": parameter.kind,
        "x-ms-summary": parameter.name,
    }
    if parameter.where == "header" or parameter.name in ("exp", "sig"):
        described["x-ms-visibility"] = "advanced"
    return described


def _schema(payload: Payload, definitions: dict[str, Schema], *, mode: str) -> Schema:
    if isinstance(payload, str):
        return {"$ref": f"#/definitions/{payload}"}
    return _register(payload, definitions, mode=mode)


def _register(model: type[BaseModel], definitions: dict[str, Schema], *, mode: str) -> Schema:
    schema = model.model_json_schema(
        by_alias=True,
        ref_template="#/definitions/{model}",
        mode="validation" if mode == "validation" else "serialization",
    )
    for name, definition in schema.pop("$defs", {}).items():
        definitions[name] = to_swagger(definition)
    definitions[model.__name__] = {"title": model.__name__, **to_swagger(schema)}
    return {"$ref": f"#/definitions/{model.__name__}"}


def to_swagger(schema: Schema) -> Schema:
    """Narrow a JSON Schema (draft 2020-12, as pydantic writes it) to Swagger 2.0's dialect."""
    narrowed: Schema = {}
    for key, value in schema.items():
        if key == "properties":  # names of properties, not keywords: keep every one
            narrowed[key] = {name: to_swagger(sub) for name, sub in value.items()}
        elif key not in ("examples", "const", "title", "anyOf", "oneOf"):
            narrowed[key] = _narrow(value)
    if "const" in schema:
        narrowed["enum"] = [schema["const"]]
    variants: list[Schema] = schema.get("anyOf") or schema.get("oneOf") or []
    concrete = [to_swagger(v) for v in variants if v != {"type": "null"}]
    if len(concrete) == 1:
        narrowed = {**concrete[0], **narrowed}
    if len(concrete) < len(variants):
        narrowed["x-nullable"] = True
    if "$ref" in narrowed and len(narrowed) > 1:
        # Swagger 2.0 ignores siblings of $ref; keep the reference alone.
        narrowed = {"$ref": narrowed["$ref"]}
    if "default" in narrowed and narrowed["default"] is None:
        del narrowed["default"]
    return narrowed


def _narrow(value: object) -> object:
    if isinstance(value, list):
        return [_narrow(item) for item in value]
    if isinstance(value, dict):
        return to_swagger(value)
    return value


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


if __name__ == "__main__":
    sys.stdout.write(json.dumps(build_document(), indent=2) + "\n")
