"""HTTP routes of the control plane under `/_sandbox/dataverse/` (see `control` for the list).

Each route calls the matching `DataverseSandbox` method; invalid edits answer with Dataverse's
error body, so a test driving the emulator from another process sees the same messages.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.dataverse.api_error import ApiError
from sandbox.dataverse.control import DataverseSandbox
from sandbox.dataverse.wire import error_response

__all__ = ["ControlPlane"]

PREFIX: Final = "/_sandbox/dataverse"
Endpoint = Callable[[Request], Awaitable[Response]]


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        decoded = json.loads(raw or b"{}")
    except json.JSONDecodeError as error:
        raise ApiError(400, "", f"Invalid JSON. {error}") from None
    if not isinstance(decoded, dict):
        raise ApiError(400, "", "The request body must be a JSON object.")
    return decoded


def _answering_errors(endpoint: Endpoint) -> Endpoint:
    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ApiError as error:
            return error_response(error)

    return guarded


class ControlPlane:
    """The control-plane endpoints of one sandbox.

    Args:
        sandbox: the environment they drive.
    """

    def __init__(self, sandbox: DataverseSandbox) -> None:
        self._sandbox = sandbox

    def routes(self) -> list[BaseRoute]:
        """Return the Starlette routes, all under `/_sandbox/dataverse`."""
        endpoints: list[tuple[str, Endpoint, list[str]]] = [
            ("/reset", self.reset, ["POST"]),
            ("/tables/{table}/seed", self.seed, ["POST"]),
            ("/tables/{table}/rows", self.rows, ["GET", "POST"]),
            ("/tables/{table}/rows/{row_id}", self.row, ["GET", "PATCH", "DELETE"]),
            ("/tables/{table}/change-tracking", self.tracking, ["PUT"]),
            ("/clock", self.clock, ["POST"]),
            ("/organization", self.organization, ["GET"]),
        ]
        return [
            Route(f"{PREFIX}{path}", _answering_errors(endpoint), methods=methods)
            for path, endpoint, methods in endpoints
        ]

    async def reset(self, request: Request) -> Response:
        """`POST reset {"seed": 7, "records": 200}`: drop everything and seed again."""
        body = await _json_body(request)
        self._sandbox.reset(seed=body.get("seed"), records=body.get("records"))
        return JSONResponse({"seed": self._sandbox.seed_value, "records": self._sandbox.records})

    async def seed(self, request: Request) -> Response:
        """`POST tables/{table}/seed {"count": 10}` -> `{"ids": [...]}`."""
        count = int((await _json_body(request)).get("count", 1))
        return JSONResponse({"ids": self._sandbox.seed(request.path_params["table"], count)})

    async def rows(self, request: Request) -> Response:
        """`GET tables/{table}/rows` lists rows; `POST` creates one from a Web API body."""
        table = request.path_params["table"]
        if request.method == "POST":
            return JSONResponse(self._sandbox.create(table, await _json_body(request)), 201)
        return JSONResponse({"value": self._sandbox.all(table)})

    async def row(self, request: Request) -> Response:
        """`GET`, `PATCH` (edit as a user) or `DELETE` one row."""
        table, row_id = request.path_params["table"], request.path_params["row_id"]
        if request.method == "DELETE":
            self._sandbox.delete(table, row_id)
            return Response(status_code=204)
        if request.method == "PATCH":
            return JSONResponse(self._sandbox.edit(table, row_id, await _json_body(request)))
        found = self._sandbox.get(table, row_id)
        if found is None:
            raise ApiError(404, "0x80040217", f"{table} With Id = {row_id} Does Not Exist")
        return JSONResponse(found)

    async def tracking(self, request: Request) -> Response:
        """`PUT tables/{table}/change-tracking {"enabled": false}`."""
        enabled = bool((await _json_body(request)).get("enabled", True))
        self._sandbox.set_change_tracking(request.path_params["table"], enabled=enabled)
        return JSONResponse({"enabled": enabled})

    async def clock(self, request: Request) -> Response:
        """`POST clock {"advance_seconds": 3600}`: move the emulator's time forward."""
        seconds = float((await _json_body(request)).get("advance_seconds", 0))
        self._sandbox.advance_clock(timedelta(seconds=seconds))
        return JSONResponse(self._sandbox.describe_organization())

    async def organization(self, _: Request) -> Response:
        """`GET organization`: the organization, caller and base currency ids, and the time."""
        return JSONResponse(self._sandbox.describe_organization())
