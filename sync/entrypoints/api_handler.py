"""Answer an HTTP API request: run its operation, and never let a trace reach the caller.

Every HTTP function is ``return await handle(req, operation)``. ``handle`` runs the operation,
turns ``ApiError`` and engine errors into the JSON error shape, replays ``Idempotency-Key``
requests, and is the app's one last-resort handler: anything unexpected is logged with the
correlation id and run id and answered 500 with a generic message.
"""

from __future__ import annotations

import json
import logging

import azure.functions as func

from sync.entrypoints.api_call import ApiAnswer, ApiCall, Operation, error_answer, guarded
from sync.entrypoints.api_error import ApiError, translate
from sync.entrypoints.idempotency import answer_once
from sync.errors import SyncError

log = logging.getLogger("sync").getChild("api")


async def handle(req: func.HttpRequest, operation: Operation) -> func.HttpResponse:
    """Answer a request with ``operation``; see the module docstring."""
    call = ApiCall(req)
    key = req.headers.get("Idempotency-Key")
    try:
        if key is not None and req.method.upper() != "GET":
            result = await answer_once(call, key, operation)
        else:
            result = await guarded(call, operation)
    except ApiError as error:
        result = error_answer(error)
    except SyncError as error:
        result = error_answer(translate(error))
    except Exception:  # the one last-resort handler: a caller never sees our trace
        log.exception(
            "request failed correlation_id=%s run_id=%s method=%s url=%s",
            call.correlation_id,
            call.run_id,
            req.method,
            req.url.split("?")[0],
        )
        message = f"Something failed on our side; quote {call.correlation_id} when reporting it."
        result = error_answer(ApiError(500, "internal_error", message))
    return to_response(result, call.correlation_id)


def to_response(result: ApiAnswer, correlation_id: str) -> func.HttpResponse:
    """The HTTP response of an answer."""
    headers = {**result.headers, "x-correlation-id": correlation_id}
    if result.body is None:
        return func.HttpResponse(status_code=result.status, headers=headers)
    text = json.dumps(result.body, ensure_ascii=False)
    return func.HttpResponse(
        text, status_code=result.status, headers=headers, mimetype="application/json"
    )
