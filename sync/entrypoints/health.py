"""``GET /api/health``: anonymous; is the app up, and can it reach the store and both services?

Answers 200 whenever the app itself runs, so an instance health check never recycles an
instance because Business Central is down; ``status`` says ``ok`` or ``degraded`` and
``checks`` says what failed. No setting value, secret or URL is ever part of the answer.

This module only registers the route; ``health_check`` runs the checks.
"""

from __future__ import annotations

import json

import azure.functions as func

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves __init__ unannotated


@blueprint.function_name("health")
@blueprint.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def health(req: func.HttpRequest) -> func.HttpResponse:  # noqa: ARG001 - bound by the host
    """Answer the app's version and whether the store, BC and Dataverse answer."""
    # Imported on the first call: the settings and views behind it would slow every cold start.
    from sync.entrypoints.health_check import check_health  # noqa: PLC0415

    view = await check_health()
    body = json.dumps(view.to_json())
    return func.HttpResponse(body, status_code=200, mimetype="application/json")
