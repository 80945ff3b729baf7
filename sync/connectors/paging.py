"""Server-driven paging: follow ``@odata.nextLink`` one page at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

import httpx

from sync.connectors.accounting import RequestKind
from sync.connectors.service_client import ServiceClient
from sync.connectors.service_error import describe_request
from sync.errors import PermanentConnectorError

NEXT_LINK: Final = "@odata.nextLink"


class NextLinkPaginator:
    """Walks the pages of an OData collection, holding one page at a time.

    Each page is the parsed JSON object, for example (trimmed)::

        {"@odata.context": "https://.../$metadata#customers",
         "value": [{"id": "5d1c...", "number": "10000", "displayName": "Adatum"}],
         "@odata.nextLink": "https://.../customers?$skiptoken=..."}

    The next page is requested only when the consumer asks for it, with the same headers as
    the first (``Prefer: odata.maxpagesize=N`` must be repeated on every page). The nextLink is
    followed verbatim (its query already holds the filter), only to the host of the client's
    base URL (the bearer token must not travel elsewhere), and never twice: a service that
    hands out a link again would loop forever. The last page may carry ``@odata.deltaLink``.

    Args:
        client: The service client the pages are read through.
        headers: Headers for every page.
    """

    def __init__(self, client: ServiceClient, *, headers: Mapping[str, str] | None = None) -> None:
        self._client = client
        self._headers = dict(headers or {})

    async def pages(
        self, url: str, params: Mapping[str, str] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield the pages of a collection, starting at ``url`` with ``params``.

        Args:
            url: The collection, relative to the client's base URL or absolute.
            params: The first request's query (``$filter``, ``$select``, ...).

        Yields:
            One parsed page per request.

        Raises:
            PermanentConnectorError: A page is not a JSON object, a nextLink repeats or points
                at another host.
            TransientConnectorError: A page could not be read after retries.
        """
        seen: set[str] = set()
        next_url: str | None = url
        page_params = params
        while next_url is not None:
            response = await self._client.request(
                "GET",
                next_url,
                kind=RequestKind.READ,
                idempotent=True,
                params=page_params,
                headers=self._headers,
            )
            page = self._parse(response)
            next_url = self._next_link(page, response, seen)
            page_params = None
            yield page

    def _parse(self, response: httpx.Response) -> dict[str, Any]:
        try:
            page = response.json()
        except ValueError as exc:
            raise self._error("The page is not JSON", response) from exc
        if not isinstance(page, dict):
            raise self._error("The page is not a JSON object", response)
        return page

    def _next_link(
        self, page: dict[str, Any], response: httpx.Response, seen: set[str]
    ) -> str | None:
        link = page.get(NEXT_LINK)
        if link is None:
            return None
        if not isinstance(link, str) or not link:
            raise self._error(f"{NEXT_LINK} is not a URL", response)
        if link in seen:
            raise self._error(f"{NEXT_LINK} repeats a page already read (paging loop)", response)
        if not self._on_service_host(link):
            raise self._error(f"{NEXT_LINK} points at another host", response)
        seen.add(link)
        return link

    def _on_service_host(self, link: str) -> bool:
        target = self._client.base_url.join(link)
        base = self._client.base_url
        return (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)

    def _error(self, message: str, response: httpx.Response) -> PermanentConnectorError:
        return PermanentConnectorError(
            message,
            service=self._client.service,
            code="PagingError",
            status=response.status_code,
            request=describe_request(response.request),
        )
