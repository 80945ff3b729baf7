"""``GET /api/health``: anonymous liveness answer for load balancers and deployment checks."""

from __future__ import annotations

import json

import azure.functions as func

from sync import __version__

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves __init__ unannotated


@blueprint.function_name("health")
@blueprint.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def health(req: func.HttpRequest) -> func.HttpResponse:  # noqa: ARG001 - bound by the host
    """Answer that the app is up, with its version; reads no settings and no secrets."""
    body = {"status": "ok", "version": __version__}
    return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json")
