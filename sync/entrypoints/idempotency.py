"""``Idempotency-Key``: a repeated request gets the first answer instead of a second effect.

The key is reserved before the work starts and completed with the answer that went out (any
status below 500). A repeat with the same key and the same request gets that answer again,
with ``Idempotent-Replayed: true``; while the first is still being answered it gets 409; the
same key with a *different* request gets 422. A failure on our side releases the key, so a
retry does the work. Keys are kept for ``SYNC_API__IDEMPOTENCY_SECONDS`` (a day by default).
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import azure.functions as func

from sync.entrypoints.api_call import ApiAnswer, ApiCall, Operation, guarded
from sync.entrypoints.api_error import ApiError
from sync.models.idempotency import StoredResponse

_MAX_KEY = 255


async def answer_once(call: ApiCall, key: str, operation: Operation) -> ApiAnswer:
    """Answer the request once per key; see the module docstring.

    Raises:
        ApiError: 400 for an unusable key, 409 while the first request runs, 422 for a key
            reused with another request.
    """
    if not key or len(key) > _MAX_KEY or not key.isprintable():
        raise ApiError(400, "invalid_idempotency_key", "Idempotency-Key: 1-255 printable chars")
    dependencies = await call.dependencies()
    store = dependencies.idempotency
    now = dependencies.engine.clock.now()
    record = StoredResponse(
        key=key,
        fingerprint=request_fingerprint(call.req),
        expires_at=now + timedelta(seconds=dependencies.api.idempotency_seconds),
    )
    stored = await store.reserve_key(record)
    if stored is not None:
        return _replay(stored, record.fingerprint)
    completed = False
    try:
        result = await guarded(call, operation)
        if result.status < 500:  # noqa: PLR2004 - our own failures may be retried
            body = "" if result.body is None else json.dumps(result.body, ensure_ascii=False)
            update = {"status": result.status, "body": body, "headers": result.headers}
            await store.complete_key(record.model_copy(update=update))
            completed = True
        return result
    finally:
        if not completed:
            await store.release_key(key)


def _replay(stored: StoredResponse, fingerprint: str) -> ApiAnswer:
    if stored.fingerprint != fingerprint:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was used with a different request; use a new key.",
        )
    if not stored.completed or stored.status is None:
        raise ApiError(
            409,
            "request_in_progress",
            "A request with this Idempotency-Key is still being answered; repeat it shortly.",
            headers={"Retry-After": "2"},
        )
    body = json.loads(stored.body) if stored.body else None
    return ApiAnswer(stored.status, body, {**stored.headers, "Idempotent-Replayed": "true"})


def request_fingerprint(req: func.HttpRequest) -> str:
    """A digest of what a request asks: method, path, query (but the key) and body."""
    # The function key may come as ?code=; it says who calls, not what is asked.
    query = sorted((k, v) for k, v in req.params.items() if k != "code")
    parts = [req.method.upper(), req.url.split("?")[0].lower(), json.dumps(query)]
    digest = hashlib.sha256("\n".join(parts).encode())
    digest.update(b"\n" + req.get_body())
    return digest.hexdigest()
