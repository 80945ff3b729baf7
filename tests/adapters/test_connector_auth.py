"""The token providers and BearerTokenAuth, with msal talking to a fake or to the sandbox."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import httpx
import pytest
import requests
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.auth import TokenIssuer, create_token_app
from sandbox.server import LoopbackServers, ServedApp
from sync.connectors.auth import BearerTokenAuth, MsalTokenProvider, StaticTokenProvider
from sync.errors import AuthError, ConfigError

TENANT = "contoso.onmicrosoft.com"
AUTHORITY_HOST = "https://login.example.test"
SCOPE = "https://api.businesscentral.dynamics.com/.default"
OTHER_SCOPE = "https://contoso.crm.dynamics.com/.default"
SECRET = "s3cret-value-never-logged"


class ManualClock:  # implements Clock
    def __init__(self) -> None:
        self.current = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@dataclass
class FakeResponse:
    status_code: int
    body: dict[str, object]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return json.dumps(self.body)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(f"{self.status_code}")


@dataclass
class FakeEntra:
    """Answers msal's discovery GET and token POSTs; the http_client msal is given."""

    expires_in: int = 3599
    refusal: dict[str, object] | None = None
    unreachable: bool = False
    token_forms: list[dict[str, str]] = field(default_factory=list)

    def get(self, url: str, **_: object) -> FakeResponse:
        if self.unreachable:
            raise requests.ConnectionError("Name or service not known")
        assert url == f"{AUTHORITY_HOST}/{TENANT}/v2.0/.well-known/openid-configuration"
        return FakeResponse(
            200,
            {
                "token_endpoint": f"{AUTHORITY_HOST}/{TENANT}/oauth2/v2.0/token",
                "authorization_endpoint": f"{AUTHORITY_HOST}/{TENANT}/oauth2/v2.0/authorize",
                "issuer": f"{AUTHORITY_HOST}/{TENANT}/v2.0",
            },
        )

    def post(self, url: str, data: object = None, **_: object) -> FakeResponse:
        assert url.endswith("/oauth2/v2.0/token")
        raw = dict(parse_qsl(data)) if isinstance(data, str) else dict(data or {})
        form = {
            name: value.decode() if isinstance(value, bytes) else str(value)
            for name, value in raw.items()
        }
        self.token_forms.append(form)
        if self.refusal is not None:
            return FakeResponse(401, self.refusal)
        token = f"token-{len(self.token_forms)}"
        return FakeResponse(
            200, {"token_type": "Bearer", "expires_in": self.expires_in, "access_token": token}
        )


def rsa_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encoded = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return encoded.decode()


def msal_provider(
    entra: FakeEntra, clock: ManualClock | None = None, **options
) -> MsalTokenProvider:
    credential = options or {"client_secret": SECRET}
    return MsalTokenProvider(
        tenant_id=TENANT,
        client_id="app-1",
        authority_host=AUTHORITY_HOST,
        http_client=entra,
        clock=clock or ManualClock(),
        **credential,
    )


async def test_token_served_from_memory_when_asked_twice():
    entra = FakeEntra()
    provider = msal_provider(entra)

    first = await provider.get_token(SCOPE)
    second = await provider.get_token(SCOPE)

    assert first == second == "token-1"
    assert len(entra.token_forms) == 1
    assert entra.token_forms[0]["client_secret"] == SECRET
    assert entra.token_forms[0]["scope"] == SCOPE


async def test_token_served_from_msal_cache_when_memory_copy_is_due():
    # msal measures time with time.time(); only our clock jumps, so msal's copy is still young.
    entra, clock = FakeEntra(), ManualClock()
    provider = msal_provider(entra, clock)
    first = await provider.get_token(SCOPE)
    clock.advance(3599 - 200)

    second = await provider.get_token(SCOPE)

    assert second == first
    assert len(entra.token_forms) == 1


async def test_token_fetched_anew_when_msal_copy_expires_within_margin():
    entra, clock = FakeEntra(expires_in=500), ManualClock()
    provider = MsalTokenProvider(
        tenant_id=TENANT,
        client_id="app-1",
        client_secret=SECRET,
        authority_host=AUTHORITY_HOST,
        http_client=entra,
        refresh_margin_seconds=600,
        clock=clock,
    )
    first = await provider.get_token(SCOPE)
    clock.advance(251)  # past half the lifetime: due here, still "fresh" in msal's cache

    second = await provider.get_token(SCOPE)

    assert (first, second) == ("token-1", "token-2")


async def test_token_kept_per_scope_when_two_scopes_are_used():
    entra = FakeEntra()
    provider = msal_provider(entra)

    tokens = {await provider.get_token(SCOPE), await provider.get_token(OTHER_SCOPE)}
    tokens.add(await provider.get_token(SCOPE))

    assert tokens == {"token-1", "token-2"}
    assert [form["scope"] for form in entra.token_forms] == [SCOPE, OTHER_SCOPE]


async def test_token_fetched_anew_when_invalidated():
    entra = FakeEntra()
    provider = msal_provider(entra)
    first = await provider.get_token(SCOPE)
    other = await provider.get_token(OTHER_SCOPE)

    provider.invalidate(SCOPE)

    assert await provider.get_token(SCOPE) != first
    assert await provider.get_token(OTHER_SCOPE) == other
    assert len(entra.token_forms) == 3


async def test_one_refresh_shared_when_many_callers_ask_at_once():
    entra = FakeEntra()
    provider = msal_provider(entra)

    tokens = await asyncio.gather(*(provider.get_token(SCOPE) for _ in range(20)))

    assert set(tokens) == {"token-1"}
    assert len(entra.token_forms) == 1


async def test_auth_error_names_aadsts_code_without_secret_when_entra_refuses():
    refusal = {
        "error": "invalid_client",
        "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1",
        "error_codes": [7000215],
    }
    provider = msal_provider(FakeEntra(refusal=refusal))

    with pytest.raises(AuthError) as raised:
        await provider.get_token(SCOPE)

    message = str(raised.value)
    assert "invalid_client" in message
    assert "AADSTS7000215" in message
    assert "Trace ID" not in message
    assert SECRET not in message


async def test_auth_error_raised_when_entra_is_unreachable():
    provider = msal_provider(FakeEntra(unreachable=True))

    with pytest.raises(AuthError, match="ConnectionError") as raised:
        await provider.get_token(SCOPE)

    assert SECRET not in str(raised.value)


async def test_client_assertion_sent_when_certificate_is_the_credential():
    key_pem = rsa_key_pem()
    entra = FakeEntra()
    provider = msal_provider(
        entra,
        certificate_pem=key_pem,
        certificate_thumbprint="A1B2C3D4E5F60718293A4B5C6D7E8F9001122334",
    )

    assert await provider.get_token(SCOPE) == "token-1"
    form = entra.token_forms[0]
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert form["client_assertion"].count(".") == 2
    assert "client_secret" not in form


@pytest.mark.parametrize(
    "credential",
    [
        {},
        {"client_secret": SECRET, "certificate_pem": "pem", "certificate_thumbprint": "ab"},
        {"certificate_pem": "pem"},
        {"certificate_pem": "not a key", "certificate_thumbprint": "ab"},
    ],
    ids=["none", "both", "certificate without thumbprint", "unreadable key"],
)
def test_provider_refused_when_credential_is_not_exactly_one(credential):
    with pytest.raises(ConfigError):
        MsalTokenProvider(tenant_id=TENANT, client_id="app-1", **credential)


async def test_static_provider_issues_again_only_when_invalidated():
    issued: list[str] = []

    def issue(scope: str) -> str:
        issued.append(scope)
        return f"static-{len(issued)}"

    provider = StaticTokenProvider(issue)
    first, again = await provider.get_token(SCOPE), await provider.get_token(SCOPE)
    provider.invalidate(SCOPE)

    assert (first, again, await provider.get_token(SCOPE)) == ("static-1", "static-1", "static-2")


def token_checking_app(valid: set[str]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return httpx.Response(200 if token in valid else 401, json={"token": token})

    return answer


async def test_request_retried_once_with_fresh_token_when_service_answers_401():
    tokens = iter(["stale", "fresh"])
    auth = BearerTokenAuth(StaticTokenProvider(lambda _scope: next(tokens)), SCOPE)
    transport = httpx.MockTransport(token_checking_app({"fresh"}))
    async with httpx.AsyncClient(transport=transport, auth=auth) as client:
        response = await client.post("https://bc.test/items", json={"a": 1})

    assert response.status_code == 200
    assert response.json() == {"token": "fresh"}


async def test_401_returned_after_one_retry_when_fresh_token_is_refused_too():
    sent: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Authorization"])
        return httpx.Response(401)

    issued = iter(["one", "two", "three"])
    auth = BearerTokenAuth(StaticTokenProvider(lambda _scope: next(issued)), SCOPE)
    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse), auth=auth) as client:
        response = await client.get("https://bc.test/items")

    assert response.status_code == 401
    assert sent == ["Bearer one", "Bearer two"]


def test_sync_client_refused_when_bearer_auth_needs_async_provider():
    auth = BearerTokenAuth(StaticTokenProvider(lambda _scope: "t"), SCOPE)
    with (
        httpx.Client(
            transport=httpx.MockTransport(lambda _r: httpx.Response(200)), auth=auth
        ) as client,
        pytest.raises(RuntimeError, match="AsyncClient"),
    ):
        client.get("https://bc.test/items")


def verified_session(ca_file: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE would replace our CA
    session.verify = ca_file
    return session


async def test_token_issued_then_cached_when_provider_uses_sandbox_token_endpoint_over_tls():
    authority_ca = trustme.CA()
    certificate = authority_ca.issue_cert("127.0.0.1")
    issuer = TokenIssuer(clients={"app-1": SECRET})
    with (
        certificate.private_key_and_cert_chain_pem.tempfile() as server_pem,
        authority_ca.cert_pem.tempfile() as ca_pem,
    ):
        served = ServedApp(create_token_app(issuer), certfile=server_pem)
        # The session closes before the server stops, so no idle connection delays the stop.
        async with LoopbackServers({"token": served}) as servers:
            with verified_session(ca_pem) as session:
                provider = MsalTokenProvider(
                    tenant_id=TENANT,
                    client_id="app-1",
                    client_secret=SECRET,
                    authority_host=f"https://127.0.0.1:{servers.ports['token']}",
                    http_client=session,
                )
                first = await provider.get_token(SCOPE)
                second = await provider.get_token(SCOPE)

    issued = issuer.lookup(first)
    assert issued is not None
    assert (issued.client_id, issued.scope) == ("app-1", SCOPE)
    assert second == first


async def test_auth_error_raised_when_sandbox_token_endpoint_refuses_secret():
    authority_ca = trustme.CA()
    certificate = authority_ca.issue_cert("127.0.0.1")
    with (
        certificate.private_key_and_cert_chain_pem.tempfile() as server_pem,
        authority_ca.cert_pem.tempfile() as ca_pem,
    ):
        issuer = TokenIssuer(clients={"app-1": "other"})
        served = ServedApp(create_token_app(issuer), certfile=server_pem)
        async with LoopbackServers({"token": served}) as servers:
            with verified_session(ca_pem) as session:
                provider = MsalTokenProvider(
                    tenant_id=TENANT,
                    client_id="app-1",
                    client_secret=SECRET,
                    authority_host=f"https://127.0.0.1:{servers.ports['token']}",
                    http_client=session,
                )
                with pytest.raises(AuthError, match="AADSTS7000215") as raised:
                    await provider.get_token(SCOPE)

    assert SECRET not in str(raised.value)
