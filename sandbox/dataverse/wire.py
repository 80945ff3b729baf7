"""One Web API request as the emulator's handlers see it, and the responses they build.

The same `ApiRequest` comes from a Starlette request or from one part of a `$batch` body, so
every operation works alike in both places.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from starlette.responses import Response

from sandbox.dataverse.api_error import ApiError
from sandbox.dataverse.prefer import Preferences
from sandbox.errors import dataverse_error

__all__ = ["ApiRequest", "empty_response", "error_response", "json_response"]

JSON_MEDIA_TYPE: Final = "application/json; odata.metadata=minimal"
ODATA_VERSION: Final = {"OData-Version": "4.0"}


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """A Web API request.

    Attributes:
        method: upper-case HTTP method.
        path: resource path after the service root, percent-decoded (`accounts(<guid>)`).
        query: decoded query parameters in order.
        headers: lower-case header name -> value (repeated headers joined with `, `).
        body: the raw body.
        service_root: absolute URL of the service root, ending in `/api/data/v9.2/`.
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]
    body: bytes
    service_root: str
    preferences: Preferences = field(init=False)

    def __post_init__(self) -> None:
        prefer = self.headers.get("prefer", "")
        object.__setattr__(self, "preferences", Preferences.parse([prefer]))

    def param(self, name: str) -> str | None:
        """Return the last value of a query parameter, if present."""
        found = None
        for key, value in self.query:
            if key == name:
                found = value
        return found

    def header(self, name: str) -> str | None:
        """Return a header value; `If-None-Match: null` (a caching workaround) reads as absent."""
        value = self.headers.get(name.lower())
        return None if value is None or value.strip().lower() == "null" else value.strip()

    def json_object(self) -> dict[str, Any]:
        """Decode the body as a JSON object.

        Raises:
            ApiError: the body is empty, not JSON, or not an object.
        """
        try:
            decoded = json.loads(self.body or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ApiError(400, "", f"Invalid JSON. {error}") from None
        if not isinstance(decoded, dict):
            raise ApiError(400, "", "The request body must be a JSON object.")
        return decoded


def json_response(
    payload: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """Return a JSON response as Dataverse sends it (`odata.metadata=minimal`)."""
    content = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return Response(
        content.encode("utf-8"),
        status,
        {**ODATA_VERSION, **(headers or {})},
        media_type=JSON_MEDIA_TYPE,
    )


def empty_response(status: int = 204, headers: Mapping[str, str] | None = None) -> Response:
    """Return a response without a body (`204 No Content`, `304 Not Modified`)."""
    return Response(None, status, {**ODATA_VERSION, **(headers or {})})


def error_response(error: ApiError) -> Response:
    """Return Dataverse's error body for an `ApiError`."""
    return dataverse_error(error.status, error.code, error.message)
