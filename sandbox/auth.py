"""A fake Microsoft Entra token endpoint, and the bearer check in front of both emulators.

The token app answers the two calls msal makes for the client-credentials flow:

- `GET /{tenant}/v2.0/.well-known/openid-configuration`: discovery, whose `token_endpoint`
  points back at this server (same scheme and host as the request);
- `POST /{tenant}/oauth2/v2.0/token` with a form body `grant_type=client_credentials`,
  `client_id`, `scope=<resource>/.default` and either `client_secret` (or HTTP Basic) or a
  `client_assertion` JWT (certificate credential; its signature is not checked here). Answer:

      {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": "..."}

  or an AADSTS-style error such as `{"error": "invalid_client", "error_description":
  "AADSTS7000215: Invalid client secret provided. ...", "error_codes": [7000215], ...}`.

Tokens are opaque random strings; the `TokenIssuer` remembers the client (the "user" the service
protection limits count per), the audience (the scope without `/.default`) and the expiry.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox import Clock, is_control_plane
from sandbox.errors import UNAUTHORIZED, ServiceName, service_error

CLIENT_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_DEFAULT_SCOPE_SUFFIX: Final = "/.default"
_RESERVED_SCOPES: Final = frozenset({"openid", "profile", "offline_access"})


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """What the issuer remembers about one access token.

    Attributes:
        client_id: the application (client) id it was issued to: the service "user".
        scope: the requested scope, e.g. `https://api.businesscentral.dynamics.com/.default`.
        audience: the scope without `/.default`, lower-cased, without a trailing slash.
        expires_at: expiry instant on the issuer's clock.
    """

    client_id: str
    scope: str
    audience: str
    expires_at: float


def audience_of(scope_or_url: str) -> str:
    """Return the normalised audience of a scope (`https://x/.default`) or resource URL."""
    resource = scope_or_url.removesuffix(_DEFAULT_SCOPE_SUFFIX)
    return resource.rstrip("/").lower()


class TokenIssuer:
    """Issues opaque bearer tokens and tells who holds them.

    Args:
        clients: client id -> client secret. `None` accepts any client and any credential.
        lifetime_seconds: `expires_in` of issued tokens.
        clock: epoch seconds; inject a fake to expire tokens in tests.
    """

    def __init__(
        self,
        *,
        clients: Mapping[str, str] | None = None,
        lifetime_seconds: int = 3599,
        clock: Clock = time.time,
    ) -> None:
        self.lifetime_seconds = lifetime_seconds
        self.clock = clock
        self._clients = dict(clients) if clients is not None else None
        self._tokens: dict[str, IssuedToken] = {}
        self._sweep_at = 1024

    def knows_client(self, client_id: str) -> bool:
        """Return True when `client_id` is registered (always, without a client list)."""
        return self._clients is None or client_id in self._clients

    def secret_matches(self, client_id: str, secret: str) -> bool:
        """Return True when `secret` is the registered secret of `client_id`."""
        if self._clients is None:
            return True
        expected = self._clients.get(client_id)
        return expected is not None and secrets.compare_digest(expected, secret)

    def issue(self, client_id: str, scope: str) -> str:
        """Issue a token for `client_id` and `scope` without checking credentials.

        Args:
            client_id: the application id; it becomes the token's user.
            scope: e.g. `https://api.businesscentral.dynamics.com/.default`.

        Returns:
            The opaque access token.
        """
        now = self.clock()
        self._forget_expired(now)
        token = secrets.token_urlsafe(32)
        self._tokens[token] = IssuedToken(
            client_id, scope, audience_of(scope), now + self.lifetime_seconds
        )
        return token

    def lookup(self, token: str) -> IssuedToken | None:
        """Return what was issued as `token`, expired or not; None for an unknown token."""
        return self._tokens.get(token)

    def subject_of(self, token: str) -> str | None:
        """Return the client id holding `token`, or None for an unknown token."""
        issued = self._tokens.get(token)
        return issued.client_id if issued is not None else None

    def _forget_expired(self, now: float) -> None:
        # Amortised: sweep when the table has doubled. Tokens expired less than an hour ago are
        # kept so that they still answer "expired", not "invalid".
        if len(self._tokens) < self._sweep_at:
            return
        self._tokens = {
            token: issued
            for token, issued in self._tokens.items()
            if issued.expires_at > now - 3600
        }
        self._sweep_at = max(1024, 2 * len(self._tokens))


def bearer_token(scope: Scope) -> str | None:
    """Return the token of an `Authorization: Bearer <token>` request header, if any."""
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


class BearerAuth:
    """ASGI middleware answering 401 for a missing, unknown, expired or misdirected token.

    Args:
        app: the emulator app behind it.
        issuer: the issuer whose tokens are valid.
        audience: accepted audience(s): resource URLs or scopes, e.g.
            `https://api.businesscentral.dynamics.com`.
        service: whose error shape the 401 takes.
        accept_own_origin: also accept a token whose audience is the request's own
            `scheme://host`, as Dataverse scopes are `<environment URL>/.default`.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        issuer: TokenIssuer,
        audience: str | Collection[str],
        service: ServiceName = "dataverse",
        accept_own_origin: bool = False,
    ) -> None:
        self.app = app
        self._issuer = issuer
        audiences = [audience] if isinstance(audience, str) else list(audience)
        self._audiences = frozenset(audience_of(item) for item in audiences)
        self._service: ServiceName = service
        self._accept_own_origin = accept_own_origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_control_plane(scope):
            await self.app(scope, receive, send)
            return
        problem = self._problem(scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        challenge = f'Bearer error="invalid_token", error_description="{problem}"'
        response = service_error(
            self._service, UNAUTHORIZED, message=problem, headers={"WWW-Authenticate": challenge}
        )
        await response(scope, receive, send)

    def _problem(self, scope: Scope) -> str | None:
        token = bearer_token(scope)
        if token is None:
            return "The request has no bearer token."
        issued = self._issuer.lookup(token)
        if issued is None:
            return "The access token is invalid."
        if issued.expires_at <= self._issuer.clock():
            return "The access token has expired."
        if issued.audience in self._audiences or (
            self._accept_own_origin and issued.audience == _origin_of(scope)
        ):
            return None
        return f"The access token audience {issued.audience!r} is not valid for this resource."


def _origin_of(scope: Scope) -> str:
    host = next(
        (value.decode("latin-1") for name, value in scope.get("headers", ()) if name == b"host"), ""
    )
    return audience_of(f"{scope.get('scheme', 'http')}://{host}")


class _TokenRefusal(Exception):  # noqa: N818 - a refusal, handled where raised, not an error
    """Ends a token request with an AADSTS error."""

    def __init__(self, status: int, error: str, number: int, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.number, self.description = status, error, number, description


def _aadsts_response(refusal: _TokenRefusal, base_url: str) -> JSONResponse:
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    timestamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    description = (
        f"AADSTS{refusal.number}: {refusal.description}\r\nTrace ID: {trace_id}"
        f"\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}"
    )
    body = {
        "error": refusal.error,
        "error_description": description,
        "error_codes": [refusal.number],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"{base_url}/error?code={refusal.number}",
    }
    return JSONResponse(body, status_code=refusal.status, headers=_NO_STORE)


_NO_STORE: Final = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}


class _TokenEndpoint:
    def __init__(self, issuer: TokenIssuer) -> None:
        self._issuer = issuer

    async def openid_configuration(self, request: Request) -> JSONResponse:
        base, tenant = _base_url(request), request.path_params["tenant"]
        return JSONResponse(
            {
                "issuer": f"{base}/{tenant}/v2.0",
                "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
                "end_session_endpoint": f"{base}/{tenant}/oauth2/v2.0/logout",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
            }
        )

    async def token(self, request: Request) -> JSONResponse:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        _add_basic_credentials(form, request.headers.get("authorization", ""))
        try:
            client_id, scope = self._authenticate(form, request.path_params["tenant"])
        except _TokenRefusal as refusal:
            return _aadsts_response(refusal, _base_url(request))
        lifetime = self._issuer.lifetime_seconds
        body = {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": self._issuer.issue(client_id, scope),
        }
        return JSONResponse(body, headers=_NO_STORE)

    def _authenticate(self, form: dict[str, str], tenant: str) -> tuple[str, str]:
        grant_type = form.get("grant_type", "")
        if grant_type != "client_credentials":
            raise _TokenRefusal(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant_type}'.",
            )
        for required in ("client_id", "scope"):
            if not form.get(required):
                raise _TokenRefusal(
                    400,
                    "invalid_request",
                    900144,
                    f"The request body must contain the following parameter: '{required}'.",
                )
        client_id = form["client_id"]
        if not self._issuer.knows_client(client_id):
            raise _TokenRefusal(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in "
                f"the directory '{tenant}'.",
            )
        self._check_credential(form, client_id)
        return client_id, _single_resource_scope(form["scope"])

    def _check_credential(self, form: dict[str, str], client_id: str) -> None:
        if "client_secret" in form:
            if not self._issuer.secret_matches(client_id, form["client_secret"]):
                raise _TokenRefusal(
                    401,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being "
                    "sent in the request is the client secret value, not the "
                    f"client secret ID, for a secret added to app '{client_id}'.",
                )
            return
        if form.get("client_assertion_type") == CLIENT_ASSERTION_TYPE and form.get(
            "client_assertion"
        ):
            self._check_assertion(form["client_assertion"], client_id)
            return
        raise _TokenRefusal(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the "
            "following parameter: 'client_assertion' or 'client_secret'.",
        )

    def _check_assertion(self, assertion: str, client_id: str) -> None:
        # The signature cannot be checked without the app's certificate: only the claims are.
        claims = _jwt_claims(assertion)
        if claims is None:
            raise _TokenRefusal(401, "invalid_client", 50027, "JWT token is invalid or malformed.")
        expires = claims.get("exp")
        if (
            claims.get("sub") != client_id
            or claims.get("iss") != client_id
            or not isinstance(expires, int | float)
            or expires <= self._issuer.clock()
            or not str(claims.get("aud", "")).endswith("/oauth2/v2.0/token")
        ):
            raise _TokenRefusal(
                401,
                "invalid_client",
                700027,
                "Client assertion failed validation: check iss, sub, aud and exp.",
            )


def _base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _add_basic_credentials(form: dict[str, str], authorization: str) -> None:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return
    try:
        client_id, _, secret = base64.b64decode(encoded).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return
    form.setdefault("client_id", client_id)
    form.setdefault("client_secret", secret)


def _single_resource_scope(scope: str) -> str:
    requested = [item for item in scope.split() if item not in _RESERVED_SCOPES]
    if len(requested) != 1:
        raise _TokenRefusal(
            400,
            "invalid_scope",
            70011,
            "The provided value for the input "
            f"parameter 'scope' is not valid. The scope {scope} is not valid.",
        )
    if not requested[0].endswith(_DEFAULT_SCOPE_SUFFIX):
        raise _TokenRefusal(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {requested[0]} is not valid. Client "
            "credential flows must have a scope value with /.default suffixed "
            "to the resource identifier (application ID URI).",
        )
    return requested[0]


def _jwt_claims(assertion: str) -> dict[str, object] | None:
    parts = assertion.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def create_token_app(issuer: TokenIssuer) -> Starlette:
    """Build the fake Entra app: openid-configuration discovery and the token endpoint.

    Args:
        issuer: issues the tokens and knows the registered clients.

    Returns:
        An ASGI app serving `/{tenant}/v2.0/.well-known/openid-configuration` and
        `/{tenant}/oauth2/v2.0/token`; authority URL: `<base>/{tenant}`.
    """
    endpoint = _TokenEndpoint(issuer)
    return Starlette(
        routes=[
            Route(
                "/{tenant}/v2.0/.well-known/openid-configuration",
                endpoint.openid_configuration,
                methods=["GET"],
            ),
            Route("/{tenant}/oauth2/v2.0/token", endpoint.token, methods=["POST"]),
        ]
    )
