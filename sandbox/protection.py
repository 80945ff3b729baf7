"""Service-protection limits of Dataverse and Business Central, and latency, as ASGI middleware.

Limits count per user: the client id behind the bearer token (through `user_of_token`, usually
`TokenIssuer.subject_of`), the token itself when it is unknown, one shared user without one.
Windows slide on an injectable clock, so tests move time instead of sleeping.

Dataverse (contract A8), per user and 300-second sliding window:

| limit | default | 429 `error.code` | trips |
|---|---|---|---|
| requests | 6,000 | `0x80072322` | once exceeded: the 6,001st request is refused |
| execution time | 1,200,000 ms | `0x80072321` | once exceeded (running requests overshoot) |
| concurrent requests | 52 | `0x80072326` | at once |

Every Dataverse response carries `x-ms-dop-hint`; successful ones also the two
`x-ms-ratelimit-*-remaining-xrm-requests` debug headers.

Business Central (contract B7), per user: 6,000 requests per 300-second sliding window, then
429 `Application_TooManyRequests`; 5 requests run at once and up to 95 more wait in a FIFO queue,
a request arriving at a full queue, or with 100 connections (running plus waiting) open, gets
429; one waiting longer than the queue timeout gets 503; one running longer than the operation
timeout (8 minutes) is cancelled and gets 408. Both timeouts wait with the injectable `sleep`.
Whether BC sends `Retry-After` with a 429 is unconfirmed, hence `retry_after_on_429`; the code of
the 408 is unconfirmed too.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox import Clock, Sleep, is_control_plane
from sandbox.auth import bearer_token
from sandbox.errors import SERVICE_UNAVAILABLE, bc_error, dataverse_error, service_error

UserOfToken = Callable[[str], str | None]
"""Maps a bearer token to the user it belongs to (None when unknown)."""

ANONYMOUS_USER: Final = "anonymous"
_IMMEDIATE_RETRY_SECONDS: Final = 1  # concurrency and queue refusals clear as soon as one ends


class _SlidingWindow:
    """Amounts recorded at instants, summed over the last `seconds`."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._entries: deque[tuple[float, float]] = deque()
        self.total = 0.0

    def add(self, now: float, amount: float = 1.0) -> None:
        self._entries.append((now, amount))
        self.total += amount

    def slide(self, now: float) -> None:
        while self._entries and self._entries[0][0] <= now - self._seconds:
            self.total -= self._entries.popleft()[1]

    def seconds_until_at_most(self, limit: float, now: float) -> int:
        """Whole seconds (at least 1) until the window's total falls to `limit` or below."""
        remaining, ready_at = self.total, now
        for instant, amount in self._entries:
            if remaining <= limit:
                break
            remaining -= amount
            ready_at = instant + self._seconds
        return max(1, math.ceil(ready_at - now))


def user_of(scope: Scope, user_of_token: UserOfToken | None) -> str:
    """Return the key the limits are counted under for this request."""
    token = bearer_token(scope)
    if token is None:
        return ANONYMOUS_USER
    return (user_of_token(token) if user_of_token else None) or token


def _with_headers(send: Send, headers: Callable[[], dict[str, str]]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            response_headers = MutableHeaders(scope=message)
            for name, value in headers().items():
                response_headers[name] = value
        await send(message)

    return send_with_headers


def _passes_through(scope: Scope) -> bool:
    return scope["type"] != "http" or is_control_plane(scope)


@dataclass
class _DataverseUsage:
    requests: _SlidingWindow
    execution_ms: _SlidingWindow
    in_flight: int = 0


class DataverseProtection:
    """Dataverse service-protection limits (contract A8) as ASGI middleware.

    Args:
        app: the Dataverse emulator.
        max_requests: requests per user and window.
        max_execution_ms: combined execution milliseconds per user and window.
        max_concurrent: concurrent requests per user.
        window_seconds: length of the sliding window.
        dop_hint: value of the `x-ms-dop-hint` header (recommended parallelism).
        clock: seconds, monotonic; also measures execution time.
        user_of_token: maps a bearer token to its user, e.g. `TokenIssuer.subject_of`.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_requests: int = 6000,
        max_execution_ms: int = 1_200_000,
        max_concurrent: int = 52,
        window_seconds: float = 300,
        dop_hint: int = 4,
        clock: Clock = time.monotonic,
        user_of_token: UserOfToken | None = None,
    ) -> None:
        self.app = app
        self._max_requests, self._max_execution_ms = max_requests, max_execution_ms
        self._max_concurrent, self._window_seconds = max_concurrent, window_seconds
        self._dop_hint, self._clock, self._user_of_token = str(dop_hint), clock, user_of_token
        self._usage: dict[str, _DataverseUsage] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _passes_through(scope):
            await self.app(scope, receive, send)
            return
        usage = self._usage_of(user_of(scope, self._user_of_token))
        now = self._clock()
        usage.requests.slide(now)
        usage.execution_ms.slide(now)
        refusal = self._refusal(usage, now)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        usage.requests.add(now)
        usage.in_flight += 1
        try:
            await self.app(scope, receive, _with_headers(send, lambda: self._headers(usage)))
        finally:
            usage.in_flight -= 1
            finished = self._clock()
            usage.execution_ms.add(finished, (finished - now) * 1000)

    def _usage_of(self, user: str) -> _DataverseUsage:
        if user not in self._usage:
            self._usage[user] = _DataverseUsage(
                _SlidingWindow(self._window_seconds), _SlidingWindow(self._window_seconds)
            )
        return self._usage[user]

    def _headers(self, usage: _DataverseUsage) -> dict[str, str]:
        requests_left = max(0, self._max_requests - int(usage.requests.total))
        # Dataverse reports the execution time left in seconds, e.g. "1,199.46".
        seconds_left = max(0.0, self._max_execution_ms - usage.execution_ms.total) / 1000
        return {
            "x-ms-dop-hint": self._dop_hint,
            "x-ms-ratelimit-burst-remaining-xrm-requests": str(requests_left),
            "x-ms-ratelimit-time-remaining-xrm-requests": f"{seconds_left:,.2f}",
        }

    def _refusal(self, usage: _DataverseUsage, now: float) -> Response | None:
        window = f"{self._window_seconds:g}"
        if usage.in_flight >= self._max_concurrent:
            return self._throttled(
                "0x80072326",
                _IMMEDIATE_RETRY_SECONDS,
                f"Number of concurrent requests exceeded the limit of {self._max_concurrent}.",
            )
        if usage.requests.total >= self._max_requests:
            wait = usage.requests.seconds_until_at_most(self._max_requests - 1, now)
            return self._throttled(
                "0x80072322",
                wait,
                f"Number of requests exceeded the limit of "
                f"{self._max_requests} over time window of {window} seconds.",
            )
        if usage.execution_ms.total > self._max_execution_ms:
            wait = usage.execution_ms.seconds_until_at_most(self._max_execution_ms, now)
            return self._throttled(
                "0x80072321",
                wait,
                "Combined execution time of incoming requests exceeded limit of "
                f"{self._max_execution_ms:,} milliseconds over time window of {window} seconds. "
                "Decrease number of concurrent requests or reduce the duration of requests and "
                "try again later.",
            )
        return None

    def _throttled(self, code: str, retry_after: int, message: str) -> Response:
        return dataverse_error(
            429,
            code,
            message,
            headers={"Retry-After": str(retry_after), "x-ms-dop-hint": self._dop_hint},
        )


@dataclass
class _BusinessCentralUsage:
    requests: _SlidingWindow
    running: int = 0
    waiting: deque[asyncio.Future[None]] = field(default_factory=deque)


class BusinessCentralProtection:
    """Business Central per-user limits (contract B7) as ASGI middleware.

    Args:
        app: the Business Central emulator.
        max_requests: requests per user and window (admitted ones, queued included).
        window_seconds: length of the sliding window.
        max_concurrent: requests processed at once per user.
        max_queue: requests waiting per user beyond those; one more gets 429.
        max_connections: requests open per user, running plus waiting; one more gets 429.
        retry_after_on_429: send `Retry-After` with 429 (unconfirmed for BC).
        queue_timeout_seconds: a request waiting longer gets 503 (BC: 8 minutes).
        operation_timeout_seconds: a request running longer is cancelled with 408 (BC: 8 min).
        clock: seconds, monotonic, for the rate window.
        sleep: the wait behind both timeouts; a test injects one it controls.
        user_of_token: maps a bearer token to its user, e.g. `TokenIssuer.subject_of`.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_requests: int = 6000,
        window_seconds: float = 300,
        max_concurrent: int = 5,
        max_queue: int = 95,
        max_connections: int = 100,
        retry_after_on_429: bool = True,
        queue_timeout_seconds: float = 480,
        operation_timeout_seconds: float = 480,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        user_of_token: UserOfToken | None = None,
    ) -> None:
        self.app = app
        self._max_requests, self._window_seconds = max_requests, window_seconds
        self._max_concurrent, self._max_queue = max_concurrent, max_queue
        self._max_connections = max_connections
        self._retry_after_on_429 = retry_after_on_429
        self._queue_timeout_seconds = queue_timeout_seconds
        self._operation_timeout_seconds = operation_timeout_seconds
        self._clock, self._sleep, self._user_of_token = clock, sleep, user_of_token
        self._usage: dict[str, _BusinessCentralUsage] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _passes_through(scope):
            await self.app(scope, receive, send)
            return
        user = user_of(scope, self._user_of_token)
        usage = self._usage.setdefault(
            user, _BusinessCentralUsage(_SlidingWindow(self._window_seconds))
        )
        refusal = self._refusal(usage)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        usage.requests.add(self._clock())
        if not await self._acquire(usage):
            response = service_error(
                "business_central",
                SERVICE_UNAVAILABLE,
                message="The request timed out waiting in the queue.",
                headers={"Retry-After": str(_IMMEDIATE_RETRY_SECONDS)},
            )
            await response(scope, receive, send)
            return
        try:
            await self._run_within_operation_timeout(scope, receive, send)
        finally:
            self._release(usage)

    def _refusal(self, usage: _BusinessCentralUsage) -> Response | None:
        now = self._clock()
        usage.requests.slide(now)
        if usage.requests.total >= self._max_requests:
            wait = usage.requests.seconds_until_at_most(self._max_requests - 1, now)
            return self._too_many(int(usage.requests.total) + 1, self._max_requests, wait)
        connections = usage.running + len(usage.waiting)
        if connections >= self._max_connections:
            return self._too_many(connections + 1, self._max_connections, _IMMEDIATE_RETRY_SECONDS)
        if usage.running >= self._max_concurrent and len(usage.waiting) >= self._max_queue:
            return self._too_many(
                connections + 1, self._max_concurrent + self._max_queue, _IMMEDIATE_RETRY_SECONDS
            )
        return None

    async def _run_within_operation_timeout(
        self, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Run the request; past the operation timeout, cancel it and answer 408 instead."""
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        work = asyncio.ensure_future(self.app(scope, receive, tracking_send))
        timer = asyncio.ensure_future(self._sleep(self._operation_timeout_seconds))
        try:
            await asyncio.wait({work, timer}, return_when=asyncio.FIRST_COMPLETED)
            # A response already under way cannot change its status: it may finish.
            if work.done() or started:
                await work
                return
            work.cancel()
            await asyncio.wait({work})  # lets the request unwind; our own cancel still propagates
        finally:
            timer.cancel()
            work.cancel()
        await bc_error(
            408,
            "Internal_RequestTimeout",
            f"The operation did not complete within {self._operation_timeout_seconds:g} seconds "
            "and was cancelled.",
        )(scope, receive, send)

    def _too_many(self, actual: int, maximum: int, retry_after: int) -> Response:
        headers = {"Retry-After": str(retry_after)} if self._retry_after_on_429 else {}
        return bc_error(
            429,
            "Application_TooManyRequests",
            f"Too many requests reached. Actual ({actual}). Maximum ({maximum}).",
            headers=headers,
        )

    async def _acquire(self, usage: _BusinessCentralUsage) -> bool:
        """Take a processing slot, queueing FIFO if needed; False after the queue timeout."""
        if usage.running < self._max_concurrent:
            usage.running += 1
            return True
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        usage.waiting.append(turn)
        timer = asyncio.ensure_future(self._sleep(self._queue_timeout_seconds))
        try:
            await asyncio.wait({turn, timer}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            if self._settle_abandoned(usage, turn):
                self._release(usage)
            raise
        finally:
            timer.cancel()
        return self._settle_abandoned(usage, turn)

    def _settle_abandoned(self, usage: _BusinessCentralUsage, turn: asyncio.Future[None]) -> bool:
        # A slot handed over just as the waiter gave up still belongs to it.
        if turn.done():
            return True
        turn.cancel()
        usage.waiting.remove(turn)
        return False

    def _release(self, usage: _BusinessCentralUsage) -> None:
        # The slot passes straight to the oldest waiter, so `running` stays the same.
        while usage.waiting:
            turn = usage.waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        usage.running -= 1


class Latency:
    """ASGI middleware adding a fixed server time to every API request.

    Args:
        app: the app to slow down.
        per_request_seconds: delay before the request is handled; 0 disables it.
        sleep: the wait, `asyncio.sleep` unless a test injects one.
    """

    def __init__(
        self, app: ASGIApp, *, per_request_seconds: float, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.app = app
        self._seconds = per_request_seconds
        self._sleep = sleep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._seconds > 0 and not _passes_through(scope):
            await self._sleep(self._seconds)
        await self.app(scope, receive, send)
