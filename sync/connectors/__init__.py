"""The only code that talks to Business Central and Dataverse: httpx and msal adapters.

The shared core used by both connectors:

- ``auth``: token providers (msal, static) and ``BearerTokenAuth`` for httpx;
- ``service_client``: ``ServiceClient``, one pooled client per service and scope, with
  timeouts, adaptive concurrency (``limiter``), retries (``retry``), ``accounting`` and error
  translation (``service_error``);
- ``paging``: ``NextLinkPaginator``, streaming ``@odata.nextLink`` pages;
- ``odata``: literal quoting, id chunks and date-times.
"""

from __future__ import annotations

from sync.connectors.accounting import RequestAccounting, RequestKind
from sync.connectors.auth import (
    BearerTokenAuth,
    MsalTokenProvider,
    StaticTokenProvider,
    TokenProvider,
)
from sync.connectors.limiter import CONCURRENCY_CEILING, AdaptiveLimiter
from sync.connectors.odata import format_datetime, in_chunks, parse_datetime, quote_literal
from sync.connectors.paging import NextLinkPaginator
from sync.connectors.retry import RetryPolicy
from sync.connectors.service_client import Service, ServiceClient
from sync.connectors.service_error import (
    ServiceErrorDetail,
    read_error_payload,
    read_error_response,
)

__all__ = [
    "CONCURRENCY_CEILING",
    "AdaptiveLimiter",
    "BearerTokenAuth",
    "MsalTokenProvider",
    "NextLinkPaginator",
    "RequestAccounting",
    "RequestKind",
    "RetryPolicy",
    "Service",
    "ServiceClient",
    "ServiceErrorDetail",
    "StaticTokenProvider",
    "TokenProvider",
    "format_datetime",
    "in_chunks",
    "parse_datetime",
    "quote_literal",
    "read_error_payload",
    "read_error_response",
]
