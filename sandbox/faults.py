"""Deterministic fault injection: 5xx answers, timeouts and dropped connections.

Each API request whose path matches draws one number from a generator seeded with `seed`, so a
given sequence of requests meets the same faults on every run:

- `drop_rate`: the connection closes without a response. In-process the app raises
  `ConnectionDropped`, an `httpx.RemoteProtocolError`, which `httpx.ASGITransport` hands to the
  client as the transport error a real disconnect gives; over uvicorn (see
  `sandbox.server.LoopbackServers`) the socket is closed without an answer.
- `timeout_rate`: the server waits `timeout_seconds`, then answers 504 (`gateway_timeout`), or
  never answers until the client goes away (`hang`; in-process that means forever).
- `error_rate`: 503 or 502 (even odds) in the service's error shape, with `Retry-After: 1`.

Control-plane paths (`/_sandbox/...`) are never faulted.
"""

from __future__ import annotations

import asyncio
import fnmatch
import random
from collections.abc import Sequence
from typing import Final, Literal

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox import Sleep, is_control_plane
from sandbox.errors import (
    BAD_GATEWAY,
    GATEWAY_TIMEOUT,
    SERVICE_UNAVAILABLE,
    ServiceName,
    service_error,
)

TimeoutMode = Literal["gateway_timeout", "hang"]

_RETRY_AFTER: Final = {"Retry-After": "1"}


class ConnectionDropped(httpx.RemoteProtocolError):
    """The injected loss of a connection, raised instead of sending any response."""


class FaultInjection:
    """ASGI middleware failing a seeded, reproducible share of requests.

    Args:
        app: the emulator app.
        error_rate: share of requests answered 503 or 502.
        timeout_rate: share of requests that time out (see `timeout_mode`).
        drop_rate: share of requests whose connection is dropped.
        seed: seeds the draw; the same seed and request order give the same faults.
        paths: glob patterns (`fnmatch`, case-sensitive) of the paths to fault, e.g.
            `["*/$batch", "*/customers*"]`; None faults every API path.
        service: whose error shape the 5xx bodies take.
        timeout_seconds: how long a `gateway_timeout` waits before its 504.
        timeout_mode: `gateway_timeout` (wait, then 504) or `hang` (wait for the client to leave).
        sleep: the wait, `asyncio.sleep` unless a test injects one.

    Raises:
        ValueError: a rate outside 0..1, or rates adding up to more than 1.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        error_rate: float = 0.0,
        timeout_rate: float = 0.0,
        drop_rate: float = 0.0,
        seed: int = 0,
        paths: Sequence[str] | None = None,
        service: ServiceName = "business_central",
        timeout_seconds: float = 30.0,
        timeout_mode: TimeoutMode = "gateway_timeout",
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        rates = (drop_rate, timeout_rate, error_rate)
        if any(not 0 <= rate <= 1 for rate in rates) or sum(rates) > 1:
            raise ValueError(f"fault rates must be within 0..1 and add up to at most 1: {rates}")
        self.app = app
        self._drop_below = drop_rate
        self._timeout_below = drop_rate + timeout_rate
        self._error_below = drop_rate + timeout_rate + error_rate
        self._random = random.Random(seed)
        self._paths = tuple(paths) if paths is not None else None
        self._service: ServiceName = service
        self._timeout_seconds, self._timeout_mode, self._sleep = (
            timeout_seconds,
            timeout_mode,
            sleep,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._applies_to(scope):
            await self.app(scope, receive, send)
            return
        roll = self._random.random()
        if roll < self._drop_below:
            raise ConnectionDropped("Server disconnected without sending a response.")
        if roll < self._timeout_below:
            await self._time_out(scope, receive, send)
            return
        if roll < self._error_below:
            fault = SERVICE_UNAVAILABLE if self._random.random() < 0.5 else BAD_GATEWAY
            response = service_error(self._service, fault, headers=_RETRY_AFTER)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _applies_to(self, scope: Scope) -> bool:
        if scope["type"] != "http" or is_control_plane(scope):
            return False
        if self._paths is None:
            return True
        path: str = scope["path"]
        return any(fnmatch.fnmatchcase(path, pattern) for pattern in self._paths)

    async def _time_out(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._timeout_mode == "hang":
            while (await receive())["type"] != "http.disconnect":
                pass
            return
        await self._sleep(self._timeout_seconds)
        await service_error(self._service, GATEWAY_TIMEOUT)(scope, receive, send)
