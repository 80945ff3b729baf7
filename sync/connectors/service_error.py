"""The error bodies Business Central and Dataverse answer with, read into code and message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import httpx

_MESSAGE_LIMIT: Final = 2000  # an HTML error page must not flood a per-record error


@dataclass(frozen=True, slots=True)
class ServiceErrorDetail:
    """The ``code`` and ``message`` of one service error.

    Attributes:
        code: ``BadRequest_NotFound`` (BC), ``0x80040237`` (Dataverse), or ``""``.
        message: The service's human message, or the HTTP reason when it sent none.
    """

    code: str
    message: str


def read_error_payload(payload: object) -> ServiceErrorDetail | None:
    """Read ``{"error": {"code", "message"}}``, the shape both services use.

    Business Central::

        {"error": {"code": "BadRequest_NotFound",
                   "message": "Bad Request - Error in query syntax.  CorrelationId:  <guid>."}}

    Dataverse (``code`` may be ``""``; annotations beside it are ignored)::

        {"error": {"code": "0x80040237",
                   "message": "A record with matching key values already exists."}}

    Args:
        payload: A parsed JSON body, e.g. one response of a ``$batch``.

    Returns:
        The code and message, or None when the payload has no such error object.
    """
    if not isinstance(payload, dict):
        return None
    error = payload.get("error")
    if not isinstance(error, dict):
        return None
    code, message = error.get("code"), error.get("message")
    return ServiceErrorDetail(
        code=code if isinstance(code, str) else "",
        message=message[:_MESSAGE_LIMIT] if isinstance(message, str) else "",
    )


def read_error_response(response: httpx.Response) -> ServiceErrorDetail:
    """Read a failed response's error body, falling back to its status line.

    Args:
        response: A read (not streamed) response with a 4xx or 5xx status.

    Returns:
        The service's code and message; ``("", "503 Service Unavailable")`` for a body that is
        not the services' error JSON (a gateway's HTML page, an empty body).
    """
    try:
        detail = read_error_payload(response.json())
    except ValueError:  # not JSON (json.JSONDecodeError and UnicodeDecodeError are ValueErrors)
        detail = None
    status_line = f"{response.status_code} {response.reason_phrase}".strip()
    if detail is None:
        return ServiceErrorDetail(code="", message=status_line)
    return ServiceErrorDetail(code=detail.code, message=detail.message or status_line)


def describe_request(request: httpx.Request) -> str:
    """``"METHOD path"`` of a request, e.g. ``"PATCH /api/data/v9.2/accounts(1)"``.

    The query string is left out: it may be long, and it is no place for diagnostics.
    """
    return f"{request.method} {request.url.path}"
