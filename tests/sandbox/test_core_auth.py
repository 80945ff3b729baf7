from __future__ import annotations

import asyncio
import base64
import json

import httpx
import pytest
from starlette.responses import JSONResponse

from sandbox.auth import CLIENT_ASSERTION_TYPE, BearerAuth, TokenIssuer, create_token_app
from sandbox.server import LoopbackServers, ServedApp

TENANT = "contoso.onmicrosoft.com"
TOKEN_PATH = f"/{TENANT}/oauth2/v2.0/token"
BC_SCOPE = "https://api.businesscentral.dynamics.com/.default"
BC_AUDIENCE = "https://api.businesscentral.dynamics.com"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def issuer(clock: FakeClock | None = None) -> TokenIssuer:
    return TokenIssuer(
        clients={"app-1": "s3cret"}, lifetime_seconds=3599, clock=clock or FakeClock()
    )


def client_for(app, base_url: str = "https://login.sandbox") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


def form(**fields: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": "app-1", "scope": BC_SCOPE} | fields


def assertion(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


async def ok_app(scope, receive, send) -> None:
    await JSONResponse({"ok": True})(scope, receive, send)


async def test_token_endpoint_issues_bearer_token_when_secret_is_right():
    tokens = issuer()
    async with client_for(create_token_app(tokens)) as client:
        response = await client.post(TOKEN_PATH, data=form(client_secret="s3cret"))

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    issued = tokens.lookup(body["access_token"])
    assert issued is not None
    assert (issued.client_id, issued.audience) == ("app-1", BC_AUDIENCE)
    assert tokens.subject_of(body["access_token"]) == "app-1"
    assert response.headers["Cache-Control"].startswith("no-store")


async def test_token_endpoint_accepts_basic_credentials_when_sent_in_header():
    credentials = base64.b64encode(b"app-1:s3cret").decode()
    async with client_for(create_token_app(issuer())) as client:
        response = await client.post(
            TOKEN_PATH, data=form(client_id=""), headers={"Authorization": f"Basic {credentials}"}
        )

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("fields", "status", "error", "number"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client", 7000215),
        ({"client_id": "nobody", "client_secret": "s3cret"}, 400, "unauthorized_client", 700016),
        ({}, 401, "invalid_client", 7000218),
        (
            {"client_secret": "s3cret", "grant_type": "password"},
            400,
            "unsupported_grant_type",
            70003,
        ),
        ({"client_secret": "s3cret", "scope": ""}, 400, "invalid_request", 900144),
        (
            {"client_secret": "s3cret", "scope": "https://api.businesscentral.dynamics.com/read"},
            400,
            "invalid_scope",
            1002012,
        ),
        (
            {
                "client_secret": "s3cret",
                "scope": f"{BC_SCOPE} https://graph.microsoft.com/.default",
            },
            400,
            "invalid_scope",
            70011,
        ),
    ],
    ids=[
        "wrong secret",
        "unknown client",
        "no credential",
        "wrong grant",
        "no scope",
        "scope without .default",
        "two resources",
    ],
)
async def test_token_endpoint_answers_aadsts_error_when_request_is_refused(
    fields, status, error, number
):
    async with client_for(create_token_app(issuer())) as client:
        response = await client.post(TOKEN_PATH, data=form(**fields))

    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [number]
    assert body["error_description"].startswith(f"AADSTS{number}: ")
    assert "Trace ID: " in body["error_description"]
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        (
            {
                "iss": "app-1",
                "sub": "app-1",
                "exp": 1_700_000_600,
                "aud": f"https://login.sandbox{TOKEN_PATH}",
            },
            200,
        ),
        (
            {
                "iss": "app-1",
                "sub": "app-1",
                "exp": 1_600_000_000,
                "aud": f"https://login.sandbox{TOKEN_PATH}",
            },
            401,
        ),
        (
            {
                "iss": "other",
                "sub": "other",
                "exp": 1_700_000_600,
                "aud": f"https://login.sandbox{TOKEN_PATH}",
            },
            401,
        ),
    ],
    ids=["valid claims", "expired", "other subject"],
)
async def test_token_endpoint_checks_assertion_claims_when_certificate_credential_used(
    claims, status
):
    fields = form(client_assertion_type=CLIENT_ASSERTION_TYPE, client_assertion=assertion(claims))
    async with client_for(create_token_app(issuer())) as client:
        response = await client.post(TOKEN_PATH, data=fields)

    assert response.status_code == status


async def test_openid_configuration_points_back_at_this_server_when_fetched():
    async with client_for(create_token_app(issuer()), "https://127.0.0.1:8443") as client:
        response = await client.get(f"/{TENANT}/v2.0/.well-known/openid-configuration")

    document = response.json()
    assert response.status_code == 200
    assert document["token_endpoint"] == f"https://127.0.0.1:8443/{TENANT}/oauth2/v2.0/token"
    assert document["authorization_endpoint"] == (
        f"https://127.0.0.1:8443/{TENANT}/oauth2/v2.0/authorize"
    )
    assert document["issuer"] == f"https://127.0.0.1:8443/{TENANT}/v2.0"


@pytest.mark.parametrize(
    ("service", "code"),
    [("business_central", "Authentication_InvalidCredentials"), ("dataverse", "")],
    ids=["business central", "dataverse"],
)
@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({}, "no bearer token"),
        ({"Authorization": "Bearer forged"}, "invalid"),
        ({"Authorization": "Basic YTpi"}, "no bearer token"),
    ],
    ids=["missing", "unknown", "not bearer"],
)
async def test_bearer_auth_answers_401_in_service_shape_when_token_is_not_valid(
    service, code, headers, problem
):
    app = BearerAuth(ok_app, issuer=issuer(), audience=BC_AUDIENCE, service=service)
    async with client_for(app, "http://sandbox") as client:
        response = await client.get("/api/resource", headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert problem in response.json()["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


async def test_bearer_auth_answers_401_when_token_has_expired():
    clock = FakeClock()
    tokens = issuer(clock)
    token = tokens.issue("app-1", BC_SCOPE)
    app = BearerAuth(ok_app, issuer=tokens, audience=BC_AUDIENCE)
    async with client_for(app, "http://sandbox") as client:
        fresh = await client.get("/api", headers={"Authorization": f"Bearer {token}"})
        clock.now += 3599
        expired = await client.get("/api", headers={"Authorization": f"Bearer {token}"})

    assert fresh.status_code == 200
    assert expired.status_code == 401
    assert "expired" in expired.json()["error"]["message"]


async def test_bearer_auth_answers_401_when_token_is_for_another_audience():
    tokens = issuer()
    token = tokens.issue("app-1", "https://graph.microsoft.com/.default")
    app = BearerAuth(ok_app, issuer=tokens, audience=BC_SCOPE)
    async with client_for(app, "http://sandbox") as client:
        response = await client.get("/api", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert "audience" in response.json()["error"]["message"]


async def test_bearer_auth_accepts_own_origin_audience_when_enabled():
    tokens = issuer()
    token = tokens.issue("app-1", "http://dataverse.sandbox:8082/.default")
    headers = {"Authorization": f"Bearer {token}"}
    strict = BearerAuth(ok_app, issuer=tokens, audience="https://org.crm.dynamics.com")
    lenient = BearerAuth(
        ok_app, issuer=tokens, audience="https://org.crm.dynamics.com", accept_own_origin=True
    )

    async with client_for(strict, "http://dataverse.sandbox:8082") as client:
        refused = await client.get("/api/data/v9.2/accounts", headers=headers)
    async with client_for(lenient, "http://dataverse.sandbox:8082") as client:
        accepted = await client.get("/api/data/v9.2/accounts", headers=headers)

    assert (refused.status_code, accepted.status_code) == (401, 200)


async def test_bearer_auth_lets_control_plane_through_when_no_token():
    app = BearerAuth(ok_app, issuer=issuer(), audience=BC_AUDIENCE)
    async with client_for(app, "http://sandbox") as client:
        response = await client.get("/_sandbox/counters")

    assert response.status_code == 200


def acquire_twice(msal, requests, authority: str, ca_file: str) -> tuple[dict, dict]:
    # msal is synchronous: discovery happens in the constructor, so all of it runs in a thread.
    with requests.Session() as session:
        session.trust_env = False  # else REQUESTS_CA_BUNDLE would replace our CA
        session.verify = ca_file
        application = msal.ConfidentialClientApplication(
            "app-1",
            client_credential="s3cret",
            authority=authority,
            http_client=session,
            instance_discovery=False,
        )
        return (
            application.acquire_token_for_client([BC_SCOPE]),
            application.acquire_token_for_client([BC_SCOPE]),
        )


async def test_msal_acquires_then_caches_token_when_pointed_at_token_endpoint_over_tls():
    msal = pytest.importorskip("msal")
    requests = pytest.importorskip("requests")
    trustme = pytest.importorskip("trustme")

    authority_ca = trustme.CA()
    certificate = authority_ca.issue_cert("127.0.0.1")
    tokens = TokenIssuer(clients={"app-1": "s3cret"})
    with (
        certificate.private_key_and_cert_chain_pem.tempfile() as server_pem,
        authority_ca.cert_pem.tempfile() as ca_pem,
    ):
        served = ServedApp(create_token_app(tokens), certfile=server_pem)
        async with LoopbackServers({"token": served}) as servers:
            authority = f"https://127.0.0.1:{servers.ports['token']}/{TENANT}"
            first, second = await asyncio.to_thread(
                acquire_twice, msal, requests, authority, ca_pem
            )

    assert first["token_source"] == "identity_provider"
    assert tokens.lookup(first["access_token"]) is not None
    assert second["token_source"] == "cache"
    assert second["access_token"] == first["access_token"]
