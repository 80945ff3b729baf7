"""Request counters per method, endpoint kind and status, for tests and benchmarks.

`RequestCounter` wraps an emulator (outermost, so it sees throttled and faulted requests too) and
serves its own control endpoints:

- `GET /_sandbox/counters`:

      {"total": 3,
       "by_endpoint": {"GET customers": 2, "POST $batch": 1},
       "by_status": {"200": 2, "429": 1},
       "entries": [{"method": "GET", "kind": "customers", "status": "200", "count": 2}, ...]}

- `POST /_sandbox/counters/reset`: 204, every count back to zero.

The endpoint kind is the last path segment without its key (`customers`, `accounts`, `$batch`,
`$metadata`), `<set>/<name>` for bound actions and `$count`/`$ref`/`$value`
(`accounts/UpsertMultiple`), `$root` for a service document. A request that got no response
(dropped, abandoned) has the status `no_response`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox import CONTROL_PLANE_PREFIX, is_control_plane

COUNTERS_PATH: Final = f"{CONTROL_PLANE_PREFIX}/counters"
NO_RESPONSE: Final = "no_response"

_KEY: Final = re.compile(r"\((?:'(?:[^']|'')*'|[^()'])*\)")
_VERSION: Final = re.compile(r"v\d+(?:\.\d+)*")
_SUFFIXES: Final = frozenset({"$count", "$ref", "$value"})

CounterKey = tuple[str, str, str]
"""(method, endpoint kind, status) where status is e.g. `"200"` or `"no_response"`."""


def endpoint_kind(path: str) -> str:
    """Name the endpoint of a request path, e.g. `customers` for `.../companies(1)/customers(2)`.

    Args:
        path: the URL path, without query string.

    Returns:
        The endpoint kind as described in the module docstring.
    """
    segments = [segment for segment in _KEY.sub("", path).split("/") if segment]
    if not segments:
        return "/"
    last = segments[-1]
    if _VERSION.fullmatch(last):
        return "$root"
    previous = segments[-2] if len(segments) > 1 and not _VERSION.fullmatch(segments[-2]) else ""
    if "." in last and not last.startswith("."):
        last = last.rsplit(".", 1)[1]  # Microsoft.Dynamics.CRM.UpsertMultiple -> UpsertMultiple
        return f"{previous}/{last}" if previous else last
    if last in _SUFFIXES and previous:
        return f"{previous}/{last}"
    return last


@dataclass(frozen=True, slots=True)
class CounterSnapshot:
    """Counts at one instant.

    Attributes:
        counts: (method, endpoint kind, status) -> number of requests.
    """

    counts: Mapping[CounterKey, int]

    @property
    def total(self) -> int:
        """Number of requests counted."""
        return sum(self.counts.values())

    def count(
        self, *, method: str | None = None, kind: str | None = None, status: int | str | None = None
    ) -> int:
        """Return the number of requests matching every criterion given.

        Args:
            method: e.g. `GET`.
            kind: endpoint kind, e.g. `customers` or `$batch`.
            status: e.g. `429` or `"no_response"`.
        """
        wanted = (method, kind, None if status is None else str(status))
        return sum(
            number
            for key, number in self.counts.items()
            if all(want is None or want == part for want, part in zip(wanted, key, strict=True))
        )

    def to_json(self) -> dict[str, object]:
        """Return the JSON document served at `GET /_sandbox/counters`."""
        by_endpoint: Counter[str] = Counter()
        by_status: Counter[str] = Counter()
        for (method, kind, status), number in self.counts.items():
            by_endpoint[f"{method} {kind}"] += number
            by_status[status] += number
        entries = [
            {"method": method, "kind": kind, "status": status, "count": number}
            for (method, kind, status), number in sorted(self.counts.items())
        ]
        return {
            "total": self.total,
            "by_endpoint": dict(sorted(by_endpoint.items())),
            "by_status": dict(sorted(by_status.items())),
            "entries": entries,
        }


class RequestCounter:
    """ASGI middleware counting requests, and serving `/_sandbox/counters`.

    Args:
        app: the app whose requests are counted (control-plane requests are not).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._counts: Counter[CounterKey] = Counter()

    def snapshot(self) -> CounterSnapshot:
        """Return a copy of the counts so far."""
        return CounterSnapshot(dict(self._counts))

    def reset(self) -> None:
        """Set every count back to zero."""
        self._counts.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        control = self._control_response(scope)
        if control is not None:
            await control(scope, receive, send)
            return
        if is_control_plane(scope):
            await self.app(scope, receive, send)
            return
        status = NO_RESPONSE

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            self._counts[(scope["method"], endpoint_kind(scope["path"]), status)] += 1

    def _control_response(self, scope: Scope) -> Response | None:
        path, method = scope["path"].rstrip("/"), scope["method"]
        if path == COUNTERS_PATH and method == "GET":
            return JSONResponse(self.snapshot().to_json())
        if path == f"{COUNTERS_PATH}/reset" and method == "POST":
            self.reset()
            return Response(status_code=204)
        return None
