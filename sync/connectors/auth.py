"""Bearer tokens for Business Central and Dataverse: where they come from and how they are sent.

``MsalTokenProvider`` gets app-only tokens with the client-credentials flow (a client secret or
a certificate); ``StaticTokenProvider`` wraps any ``scope -> token`` callable (the in-process
sandbox's ``TokenIssuer``). ``BearerTokenAuth`` puts the token on each httpx request.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
import msal
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sync.clock import SystemClock
from sync.errors import AuthError, ConfigError
from sync.ports import Clock


class TokenProvider(Protocol):
    """Where access tokens come from.

    Contract: ``get_token`` answers from a cache while the token has more than a safety margin
    to live, and concurrent callers for one scope share one refresh. ``invalidate`` forgets a
    token the service refused, so the next ``get_token`` fetches a new one.
    """

    async def get_token(self, scope: str) -> str:
        """A valid access token for ``scope`` (e.g. ``https://x.crm.dynamics.com/.default``).

        Raises:
            AuthError: No token could be obtained.
        """
        ...

    def invalidate(self, scope: str) -> None:
        """Forget the cached token of ``scope``."""
        ...


class StaticTokenProvider:  # implements TokenProvider
    """Tokens from a callable, cached per scope until invalidated.

    Example (in-process sandbox)::

        provider = StaticTokenProvider(partial(apps.token_issuer.issue, "sandbox-client"))

    Args:
        issue: Returns a token for a scope.
    """

    def __init__(self, issue: Callable[[str], str]) -> None:
        self._issue = issue
        self._tokens: dict[str, str] = {}

    async def get_token(self, scope: str) -> str:
        """The cached token of ``scope``, issuing one on first use or after ``invalidate``."""
        token = self._tokens.get(scope)
        if token is None:
            token = self._tokens[scope] = self._issue(scope)
        return token

    def invalidate(self, scope: str) -> None:
        """Forget the token of ``scope``."""
        self._tokens.pop(scope, None)


@dataclass(frozen=True, slots=True)
class _CachedToken:
    value: str
    refresh_at: datetime


class MsalTokenProvider:  # implements TokenProvider
    """App-only tokens from Microsoft Entra through msal's client-credentials flow.

    msal is synchronous and fetches the authority's discovery document in its constructor, so
    the application is built on first use and every msal call runs in a worker thread. Tokens
    are kept per scope in memory too: the hot path returns them without a thread hop until
    ``refresh_margin_seconds`` before expiry (or half the lifetime, for short-lived tokens).

    Args:
        tenant_id: The Entra tenant id or domain.
        client_id: The app registration's client id.
        client_secret: A client secret; or give the certificate instead.
        certificate_pem: The PEM private key of the app's certificate.
        certificate_thumbprint: The certificate's SHA-1 thumbprint (hex).
        authority_host: The login host, e.g. a sovereign cloud's or a local emulator's.
        http_client: An object with requests' ``get``/``post`` for msal (tests); None: msal's.
        refresh_margin_seconds: How long before expiry a token is replaced.
        clock: The time source; the system clock by default.

    Raises:
        ConfigError: Not exactly one credential, or a certificate without its thumbprint.
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str | None = None,
        certificate_pem: str | None = None,
        certificate_thumbprint: str | None = None,
        authority_host: str = "https://login.microsoftonline.com",
        http_client: object | None = None,
        refresh_margin_seconds: float = 300,
        clock: Clock | None = None,
    ) -> None:
        self._credential = _client_credential(
            client_secret, certificate_pem, certificate_thumbprint
        )
        self._client_id = client_id
        self._authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self._http_client = http_client
        self._margin = timedelta(seconds=refresh_margin_seconds)
        self._clock: Clock = clock or SystemClock()
        self._application: msal.ConfidentialClientApplication | None = None
        self._building = threading.Lock()
        self._tokens: dict[str, _CachedToken] = {}
        self._refreshing: dict[str, asyncio.Lock] = {}

    async def get_token(self, scope: str) -> str:
        """A token for ``scope`` from memory, or from msal when it is due for refresh.

        Raises:
            AuthError: Entra refused (the message names the AADSTS error), or was unreachable.
        """
        cached = self._fresh_token(scope)
        if cached is not None:
            return cached
        async with self._refreshing.setdefault(scope, asyncio.Lock()):
            cached = self._fresh_token(scope)  # another caller may have refreshed meanwhile
            if cached is not None:
                return cached
            token = await asyncio.to_thread(self._acquire, scope)
            self._tokens[scope] = token
            return token.value

    def invalidate(self, scope: str) -> None:
        """Forget the token of ``scope`` here and in msal's cache."""
        self._tokens.pop(scope, None)
        if self._application is not None:
            _forget_msal_tokens(self._application, scope)

    def _fresh_token(self, scope: str) -> str | None:
        cached = self._tokens.get(scope)
        if cached is None or self._clock.now() >= cached.refresh_at:
            return None
        return cached.value

    def _acquire(self, scope: str) -> _CachedToken:
        application = self._application_for_thread()
        token = self._ask_msal(application, scope)
        if token is None:  # msal's cached token lives shorter than our margin: fetch anew
            _forget_msal_tokens(application, scope)
            token = self._ask_msal(application, scope)
        if token is None:
            raise AuthError(f"Entra issued a token for {scope} that expires too soon to use")
        return token

    def _ask_msal(
        self, application: msal.ConfidentialClientApplication, scope: str
    ) -> _CachedToken | None:
        try:
            result: dict[str, Any] = application.acquire_token_for_client([scope])
        except (ValueError, OSError) as exc:  # requests' errors are OSErrors
            raise AuthError(f"Could not reach Entra for {scope}: {type(exc).__name__}") from exc
        if "access_token" not in result:
            raise AuthError(_describe_refusal(result, scope))
        lifetime = timedelta(seconds=float(result.get("expires_in", 0)))
        if lifetime <= timedelta(0):
            return None
        margin = min(self._margin, lifetime / 2)
        from_cache = result.get("token_source") == "cache"
        if from_cache and lifetime <= self._margin:
            return None
        return _CachedToken(str(result["access_token"]), self._clock.now() + lifetime - margin)

    def _application_for_thread(self) -> msal.ConfidentialClientApplication:
        with self._building:
            if self._application is None:
                self._application = self._build_application()
            return self._application

    def _build_application(self) -> msal.ConfidentialClientApplication:
        options: dict[str, Any] = {"instance_discovery": False}
        if self._http_client is not None:
            options["http_client"] = self._http_client
        try:
            return msal.ConfidentialClientApplication(
                self._client_id,
                client_credential=self._credential,
                authority=self._authority,
                **options,
            )
        except (ValueError, OSError) as exc:
            raise AuthError(
                f"Could not set up sign-in at {self._authority}: {type(exc).__name__}: "
                f"{_first_line(str(exc))}"
            ) from exc


def _client_credential(
    secret: str | None, certificate_pem: str | None, thumbprint: str | None
) -> str | dict[str, str]:
    if (secret is None) == (certificate_pem is None):
        raise ConfigError("Give exactly one of client_secret and certificate_pem")
    if secret is not None:
        return secret
    if not thumbprint:
        raise ConfigError("certificate_pem needs certificate_thumbprint")
    pem = str(certificate_pem)
    _require_rsa_key(pem)
    return {"private_key": pem, "thumbprint": thumbprint}


def _require_rsa_key(pem: str) -> None:
    # msal signs the client assertion with RS256 only when asked for a token; a bad key is a
    # configuration mistake, so it is refused here, without echoing the key.
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):  # unreadable, or encrypted with a password
        raise ConfigError("certificate_pem holds no readable unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError("certificate_pem must hold an RSA private key (Entra signs with RS256)")


def _forget_msal_tokens(application: msal.ConfidentialClientApplication, scope: str) -> None:
    cache = application.token_cache
    for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN, target=[scope])):
        cache.remove_at(entry)


def _describe_refusal(result: dict[str, Any], scope: str) -> str:
    error = str(result.get("error") or "unknown_error")
    description = _first_line(str(result.get("error_description") or ""))
    return f"Entra refused a token for {scope}: {error}" + (
        f" ({description})" if description else ""
    )


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


class BearerTokenAuth(httpx.Auth):
    """Sends ``Authorization: Bearer <token>``; after a 401 retries once with a fresh token.

    Args:
        provider: Where tokens come from.
        scope: The scope to ask for, e.g. ``https://api.businesscentral.dynamics.com/.default``.
    """

    requires_request_body = True  # a request retried after a 401 must be sent whole again

    def __init__(self, provider: TokenProvider, scope: str) -> None:
        self._provider = provider
        self._scope = scope

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Add the token; on a 401 invalidate it and send the request once more."""
        request.headers["Authorization"] = f"Bearer {await self._provider.get_token(self._scope)}"
        response = yield request
        if response.status_code != httpx.codes.UNAUTHORIZED:
            return
        self._provider.invalidate(self._scope)
        request.headers["Authorization"] = f"Bearer {await self._provider.get_token(self._scope)}"
        yield request

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Refuse synchronous clients: the token providers are async."""
        raise RuntimeError("BearerTokenAuth works with httpx.AsyncClient only")
        yield request  # pragma: no cover - makes this a generator, as httpx expects
