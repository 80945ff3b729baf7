"""One HTTP client per service and scope: the only way connectors reach BC and Dataverse.

``ServiceClient.request`` adds what every call needs: timeouts, a bounded connection pool,
bearer auth, adaptive concurrency, retries of transient failures, request accounting, and the
translation of failures into ``sync.errors``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Final, Literal, Self

import httpx

from sync.connectors.accounting import RequestAccounting, RequestKind
from sync.connectors.limiter import CONCURRENCY_CEILING, AdaptiveLimiter
from sync.connectors.retry import TRANSIENT_STATUSES, RetryPolicy, parse_retry_after
from sync.connectors.service_error import describe_request, read_error_response
from sync.errors import AuthError, PermanentConnectorError, TransientConnectorError

Service = Literal["bc", "dataverse"]

DEFAULT_RETRY: Final = RetryPolicy()
CONNECT_TIMEOUT_SECONDS: Final = 10.0
DOP_HINT_HEADER: Final = "x-ms-dop-hint"

_THROTTLE_STATUSES: Final = frozenset({429, 503})  # 503: BC's request queue timed out
_NOT_MODIFIED: Final = 304
# The request never left this machine, so even a POST may be sent again.
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

_log = logging.getLogger("sync").getChild("connectors")


@dataclass(frozen=True, slots=True)
class _TransientFailure:
    error: TransientConnectorError
    cause: httpx.TransportError | None = None
    safe_to_repeat: bool = False  # the service cannot have acted on the request


class ServiceClient:
    """One ``httpx.AsyncClient`` per service and scope, with everything a call needs.

    Args:
        service: ``"bc"`` or ``"dataverse"``; named in errors, and Dataverse's
            ``x-ms-dop-hint`` sets the limiter's maximum.
        base_url: The API root, e.g. ``https://api.businesscentral.dynamics.com/v2.0/<tenant>/
            production/api/v2.0``; relative request URLs are resolved against it.
        auth: Usually a ``BearerTokenAuth``; None for none.
        limiter: Bounds the requests in flight; also sizes the connection pool.
        retry: Bounds and pacing of retries.
        transport: An httpx transport (``ASGITransport`` for the sandbox, ``MockTransport``).
        timeout: Seconds to wait for a pool connection, for sending, and for each read.
        sleep: The wait between attempts (tests inject one that returns at once).
    """

    def __init__(
        self,
        *,
        service: Service,
        base_url: str,
        auth: httpx.Auth | None,
        limiter: AdaptiveLimiter,
        retry: RetryPolicy = DEFAULT_RETRY,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 120.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.service: Service = service
        self.accounting = RequestAccounting()
        self._limiter = limiter
        self._retry = retry
        self._sleep = sleep
        # Dataverse may raise the maximum later (x-ms-dop-hint): size the pool for the ceiling.
        pool_size = max(limiter.maximum, CONCURRENCY_CEILING if service == "dataverse" else 1)
        self._http = httpx.AsyncClient(
            base_url=base_url,
            auth=auth,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT_SECONDS),
            limits=httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size),
            headers={"Accept": "application/json"},
            follow_redirects=False,
        )

    @property
    def base_url(self) -> httpx.URL:
        """The API root relative URLs are resolved against."""
        return self._http.base_url

    @property
    def limiter(self) -> AdaptiveLimiter:
        """The concurrency limiter of this client."""
        return self._limiter

    async def request(
        self,
        method: str,
        url: str,
        *,
        kind: RequestKind,
        idempotent: bool,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json: object = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send a request, retrying transient failures, and return the successful response.

        429s (and 503s with ``Retry-After``) are retried for any method, since the service did
        not act on the request. Other transient failures (502, 503, 504, timeouts, lost
        connections) are retried only when ``idempotent``: a POST that timed out may have been
        processed, so it is reported, not repeated.

        Args:
            method: ``GET``, ``POST``, ``PATCH``, ``PUT`` or ``DELETE``.
            url: Relative to ``base_url``, or absolute (an ``@odata.nextLink``).
            kind: How the request is counted.
            idempotent: Whether sending it twice has the effect of sending it once.
            params: Query parameters (httpx encodes them).
            headers: Extra headers, e.g. ``If-Match`` or ``Prefer``.
            json: A body to send as JSON.
            content: A body already encoded (e.g. a multipart ``$batch``).

        Returns:
            The 2xx or 304 response, read in full.

        Raises:
            TransientConnectorError: Retries exhausted or not allowed; ``retry_after`` is set
                when the service named a wait.
            PermanentConnectorError: Any other failure; ``code`` and message are the service's.
            AuthError: No token could be obtained, or it was refused even after a refresh.
        """
        self.accounting.record(kind)
        request = self._http.build_request(
            method, url, params=params, headers=headers, json=json, content=content
        )
        try:
            return await self._send_with_retries(request, idempotent=idempotent)
        except (TransientConnectorError, PermanentConnectorError, AuthError):
            self.accounting.record_failure()
            raise

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _send_with_retries(
        self, request: httpx.Request, *, idempotent: bool
    ) -> httpx.Response:
        waited, attempt = 0.0, 0
        while True:
            attempt += 1
            outcome = await self._send_once(request)
            if isinstance(outcome, httpx.Response):
                return outcome
            delay = None
            if idempotent or outcome.safe_to_repeat:
                delay = self._retry.next_delay(
                    attempt, waited=waited, retry_after=outcome.error.retry_after
                )
            if delay is None:
                raise outcome.error from outcome.cause
            _log.info(
                "retrying service=%s request=%s status=%s attempt=%s delay=%.2f",
                self.service,
                outcome.error.request,
                outcome.error.status,
                attempt,
                delay,
            )
            self.accounting.record_retry()
            waited += delay
            await self._sleep(delay)

    async def _send_once(self, request: httpx.Request) -> httpx.Response | _TransientFailure:
        # The slot is held for the exchange only, never across a retry's wait.
        async with self._limiter.slot():
            try:
                response = await self._http.send(request)
            except httpx.UnsupportedProtocol as exc:  # a misconfigured URL: no retry helps
                raise PermanentConnectorError(
                    "The URL's scheme is not http or https",
                    service=self.service,
                    request=describe_request(request),
                ) from exc
            except httpx.TransportError as exc:
                return self._transport_failure(exc, request)
            except httpx.RequestError as exc:  # undecodable bodies
                raise PermanentConnectorError(
                    f"{type(exc).__name__} from {self.service}",
                    service=self.service,
                    request=describe_request(request),
                ) from exc
            self._adapt_limiter(response)
        return self._judge(response)

    def _adapt_limiter(self, response: httpx.Response) -> None:
        if self.service == "dataverse":
            self._apply_dop_hint(response.headers.get(DOP_HINT_HEADER))
        if response.status_code in _THROTTLE_STATUSES:
            self.accounting.record_throttled()
            self._limiter.on_throttled()
        elif response.status_code < httpx.codes.INTERNAL_SERVER_ERROR:
            self._limiter.on_success()

    def _apply_dop_hint(self, hint: str | None) -> None:
        if hint is None or not hint.strip().isdigit():
            return
        parallelism = int(hint)
        if parallelism > 0 and parallelism != self._limiter.maximum:
            self._limiter.set_maximum(parallelism)

    def _judge(self, response: httpx.Response) -> httpx.Response | _TransientFailure:
        status = response.status_code
        if response.is_success or status == _NOT_MODIFIED:
            return response
        label = describe_request(response.request)
        detail = read_error_response(response)
        if status in TRANSIENT_STATUSES:
            retry_after = parse_retry_after(
                response.headers.get("Retry-After"), now=_server_time(response)
            )
            error = TransientConnectorError(
                detail.message,
                service=self.service,
                code=detail.code,
                status=status,
                request=label,
                retry_after=retry_after,
            )
            unprocessed = status == httpx.codes.TOO_MANY_REQUESTS or (
                status == httpx.codes.SERVICE_UNAVAILABLE and retry_after is not None
            )
            return _TransientFailure(error, safe_to_repeat=unprocessed)
        if status == httpx.codes.UNAUTHORIZED:
            raise AuthError(f"{self.service} refused the token for {label}: {detail.message}")
        raise PermanentConnectorError(
            detail.message, service=self.service, code=detail.code, status=status, request=label
        )

    def _transport_failure(
        self, exc: httpx.TransportError, request: httpx.Request
    ) -> _TransientFailure:
        what = "timed out" if isinstance(exc, httpx.TimeoutException) else "lost the connection"
        error = TransientConnectorError(
            f"The request to {self.service} {what} ({type(exc).__name__})",
            service=self.service,
            code=type(exc).__name__,
            request=describe_request(request),
        )
        return _TransientFailure(error, cause=exc, safe_to_repeat=isinstance(exc, _NOT_SENT))


def _server_time(response: httpx.Response) -> datetime:
    """The response's ``Date``, so a ``Retry-After`` date is not skewed by our clock."""
    date = response.headers.get("Date")
    if date is not None:
        try:
            moment = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment
    return datetime.now(UTC)
