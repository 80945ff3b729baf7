"""``GET /api/openapi.json``: the HTTP API's OpenAPI 2.0 document, for custom connectors.

This module only registers the route; ``openapi_builder`` builds the document from the route
table and the request and answer models.
"""

from __future__ import annotations

import json
import re

import azure.functions as func

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves __init__ unannotated


@blueprint.function_name("openapi_document")
@blueprint.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    """This API's OpenAPI 2.0 document, with the caller's host."""
    # Imported on the first call: the pydantic models it describes would slow every cold start.
    from sync.entrypoints.openapi_builder import PLACEHOLDER_HOST, build_document  # noqa: PLC0415

    host = re.sub(r"^https?://", "", req.url).split("/")[0] or PLACEHOLDER_HOST
    body = json.dumps(build_document(host), indent=2)
    return func.HttpResponse(body, status_code=200, mimetype="application/json")
