"""Webhook subscriptions and notifications of the BC emulator (api-contracts B6)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from sandbox.business_central import create_app
from sandbox.business_central.webhook_delivery import HttpxWebhookTransport, WebhookReply

API = "/v2.0/tenant-1/production/api/v2.0"
CUSTOM = "/v2.0/tenant-1/production/api/bcsync/integration/v1.0"
HOOK = "https://receiver.test/hook"
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
CORRELATION = re.compile(r"  CorrelationId:  [0-9a-f-]{36}\.$")
ITEM_FIELDS = (
    "subscriptionId",
    "clientState",
    "expirationDateTime",
    "resource",
    "changeType",
    "lastModifiedDateTime",
)
SUPPORTED = [
    "bcsync/integration/v1.0/shippingAgents",
    "v2.0/currencies",
    "v2.0/customers",
    "v2.0/paymentTerms",
    "v2.0/shipmentMethods",
    "v2.0/vendors",
]


class ManualClock:
    """UTC time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class Receiver:
    """A subscriber: answers handshakes per `handshake`, notifications with `statuses` in turn."""

    def __init__(self) -> None:
        self.handshake: str | int = "echo"
        self.statuses: list[int] = []
        self.validations: list[str] = []
        self.posts: list[tuple[str, dict]] = []

    async def __call__(self, url: str, payload) -> WebhookReply:
        if payload is None:
            self.validations.append(url)
            token = parse_qs(urlsplit(url).query)["validationToken"][0]
            if self.handshake == "echo":
                return WebhookReply(200, token)
            if self.handshake == "wrong token":
                return WebhookReply(200, "something else")
            return WebhookReply(int(self.handshake))
        self.posts.append((url, payload))
        return WebhookReply(self.statuses.pop(0) if self.statuses else 200)

    def items(self) -> list[dict]:
        return [item for _url, payload in self.posts for item in payload["value"]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def client(clock, receiver):
    app = create_app(seed=3, records=4, clock=clock, webhook_transport=receiver)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bc.test"
    ) as http:
        http.app = app
        yield http


@pytest.fixture
def company_id(client) -> str:
    return client.app.state.bc.company_ids()[0]


@pytest.fixture
def webhooks(client):
    return client.app.state.bc_webhooks


async def subscribe(client, company_id, entity_set="customers", **body) -> httpx.Response:
    payload = {
        "notificationUrl": HOOK,
        "resource": f"/api/v2.0/companies({company_id})/{entity_set}",
        "clientState": "s3cret",
        **body,
    }
    return await client.post(f"{API}/subscriptions", json=payload)


def assert_bc_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert CORRELATION.search(response.json()["error"]["message"])


async def test_subscription_created_with_contract_fields_when_handshake_echoes_token(
    client, company_id, receiver
):
    response = await subscribe(client, company_id)

    assert response.status_code == 201, response.text
    body = response.json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["subscriptionId"])
    assert body["notificationUrl"] == HOOK
    assert body["resource"] == f"/api/v2.0/companies({company_id})/customers"
    assert body["clientState"] == "s3cret"
    assert body["lastModifiedDateTime"] == "2025-03-01T12:00:00Z"
    assert body["expirationDateTime"] == "2025-03-04T12:00:00Z"
    assert re.fullmatch(r"[0-9a-f-]{36}", body["userId"])
    assert isinstance(body["timestamp"], int)
    assert body["@odata.etag"] == response.headers["ETag"]
    assert body["@odata.etag"].startswith('W/"')
    assert {"systemCreatedAt", "systemModifiedBy"} <= body.keys()
    assert response.headers["Location"].endswith(f"/subscriptions('{body['subscriptionId']}')")
    [validation] = receiver.validations
    assert validation.startswith(f"{HOOK}?validationToken=")


@pytest.mark.parametrize("handshake", ["wrong token", 500, 0], ids=["wrong token", "500", "none"])
async def test_subscription_refused_with_400_when_handshake_fails(
    client, company_id, receiver, webhooks, handshake
):
    receiver.handshake = handshake

    response = await subscribe(client, company_id)

    assert_bc_error(response, 400, "BadRequest")
    assert webhooks.subscriptions() == []


@pytest.mark.parametrize(
    "resource",
    [
        "http://bc.test/v2.0/tenant-1/production/api/v2.0/companies({company})/customers",
        "api/v2.0/companies({company})/customers",
        "companies({company})/customers",
    ],
    ids=["absolute", "without leading slash", "relative to api root"],
)
async def test_notifications_name_canonical_resource_when_subscribed_with_any_form(
    client, company_id, receiver, webhooks, resource
):
    created = await subscribe(client, company_id, resource=resource.format(company=company_id))
    customer = (await client.post(f"{API}/companies({company_id})/customers", json={})).json()

    await webhooks.flush()

    assert created.status_code == 201, created.text
    [item] = receiver.items()
    assert item["resource"] == f"api/v2.0/companies({company_id})/customers({customer['id']})"


@pytest.mark.parametrize(
    ("path", "resource"),
    [
        (API, "/api/v2.0/companies({company})/contacts"),
        (API, "/api/v2.0/companies({company})/salespeoplePurchasers"),
        (API, "/api/v2.0/companies({company})/items"),
        (API, "/api/bcsync/integration/v1.0/companies({company})/shippingAgents"),
        (API, "/api/v2.0/companies({company})/customers(1b5b4fd1-1e35-4b4c-8cb8-0f6d1f2e2c11)"),
    ],
    ids=["contacts", "salespeople", "unknown set", "custom set on v2 endpoint", "single record"],
)
async def test_subscription_refused_with_400_when_resource_has_no_webhooks(
    client, company_id, receiver, path, resource
):
    body = {"notificationUrl": HOOK, "resource": resource.format(company=company_id)}

    response = await client.post(f"{path}/subscriptions", json=body)

    assert_bc_error(response, 400, "BadRequest")
    assert receiver.validations == []


async def test_custom_api_subscription_notifies_custom_resource_when_agent_changes(
    client, company_id, receiver, webhooks
):
    resource = f"/api/bcsync/integration/v1.0/companies({company_id})/shippingAgents"
    created = await client.post(
        f"{CUSTOM}/subscriptions", json={"notificationUrl": HOOK, "resource": resource}
    )
    agent = client.app.state.bc.all(company_id, "shippingAgents")[0]
    client.app.state.bc.edit(company_id, "shippingAgents", agent["id"], {"name": "Renamed"})

    await webhooks.flush()

    assert created.status_code == 201, created.text
    [item] = receiver.items()
    assert item["resource"] == f"{resource[1:]}({agent['id']})"


@pytest.mark.parametrize(
    ("length", "status"), [(2048, 201), (2049, 400)], ids=["2048 chars", "2049 chars"]
)
async def test_client_state_checked_against_2048_characters_when_subscribing(
    client, company_id, length, status
):
    response = await subscribe(client, company_id, clientState="x" * length)

    assert response.status_code == status
    if status == 400:
        assert_bc_error(response, 400, "Application_StringExceededLength")


async def test_subscription_listed_and_read_by_quoted_id_when_created(client, company_id):
    created = (await subscribe(client, company_id)).json()

    listed = await client.get(f"{API}/subscriptions")
    single = await client.get(f"{API}/subscriptions('{created['subscriptionId']}')")
    missing = await client.get(f"{API}/subscriptions('0123456789abcdef0123456789abcdef')")

    assert [row["subscriptionId"] for row in listed.json()["value"]] == [created["subscriptionId"]]
    assert single.json()["expirationDateTime"] == created["expirationDateTime"]
    assert_bc_error(missing, 404, "Internal_RecordNotFound")


async def test_expiry_reset_to_three_days_when_renewed_with_if_match(
    client, company_id, clock, receiver
):
    created = (await subscribe(client, company_id)).json()
    clock.advance(days=2)
    url = f"{API}/subscriptions('{created['subscriptionId']}')"

    renewed = await client.patch(
        url, json={"clientState": "rotated"}, headers={"If-Match": created["@odata.etag"]}
    )

    assert renewed.status_code == 200, renewed.text
    body = renewed.json()
    assert body["expirationDateTime"] == "2025-03-06T12:00:00Z"
    assert body["lastModifiedDateTime"] == "2025-03-03T12:00:00Z"
    assert body["clientState"] == "rotated"
    assert body["@odata.etag"] != created["@odata.etag"]
    assert len(receiver.validations) == 2  # the handshake is repeated on renewal


@pytest.mark.parametrize(
    ("if_match", "expected"),
    [(None, (400, "BadRequest_InvalidToken")), ('W/"stale"', (409, "Request_EntityChanged"))],
    ids=["missing", "stale"],
)
@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_change_refused_when_if_match_missing_or_stale(
    client, company_id, method, if_match, expected
):
    created = (await subscribe(client, company_id)).json()
    headers = {} if if_match is None else {"If-Match": if_match}

    response = await client.request(
        method, f"{API}/subscriptions('{created['subscriptionId']}')", headers=headers, json={}
    )

    assert_bc_error(response, *expected)


async def test_expiry_kept_when_renewal_handshake_fails(client, company_id, clock, receiver):
    created = (await subscribe(client, company_id)).json()
    clock.advance(days=1)
    receiver.handshake = 404
    url = f"{API}/subscriptions('{created['subscriptionId']}')"

    refused = await client.patch(url, json={}, headers={"If-Match": created["@odata.etag"]})

    assert_bc_error(refused, 400, "BadRequest")
    assert (await client.get(url)).json()["expirationDateTime"] == "2025-03-04T12:00:00Z"


async def test_subscription_gone_when_deleted_with_if_match(client, company_id):
    created = (await subscribe(client, company_id)).json()
    url = f"{API}/subscriptions('{created['subscriptionId']}')"

    deleted = await client.delete(url, headers={"If-Match": created["@odata.etag"]})

    assert deleted.status_code == 204
    assert (await client.get(url)).status_code == 404


async def test_subscription_refused_when_200_already_exist(client, company_id, webhooks):
    statuses = [(await subscribe(client, company_id)).status_code for _ in range(200)]

    refused = await subscribe(client, company_id)

    assert statuses == [201] * 200
    assert_bc_error(refused, 400, "BadRequest")
    assert "200" in refused.json()["error"]["message"]
    assert len(webhooks.subscriptions()) == 200


@pytest.mark.parametrize(
    ("query", "expected"),
    [("", SUPPORTED), ("?$filter=resource eq 'v2.0/c*'", ["v2.0/currencies", "v2.0/customers"])],
    ids=["all", "filtered"],
)
async def test_supported_resources_listed_without_contacts_when_runtime_api_read(
    client, company_id, query, expected
):
    runtime = "/v2.0/tenant-1/production/api/microsoft/runtime/beta"

    response = await client.get(
        f"{runtime}/companies({company_id})/webhookSupportedResources{query}"
    )

    assert response.status_code == 200, response.text
    assert [row["resource"] for row in response.json()["value"]] == expected


async def test_one_post_per_url_after_30_seconds_when_records_created_updated_and_deleted(
    client, company_id, clock, receiver, webhooks
):
    created = (await subscribe(client, company_id)).json()
    service = client.app.state.bc
    new = (await client.post(f"{API}/companies({company_id})/customers", json={})).json()
    clock.advance(seconds=5)
    edited = (
        await client.patch(
            f"/_sandbox/bc/companies({company_id})/customers({new['id']})",
            json={"displayName": "Renamed by a user"},
        )
    ).json()
    clock.advance(seconds=5)
    gone = service.all(company_id, "customers")[0]["id"]
    service.delete(company_id, "customers", gone)

    early = await webhooks.deliver_due(START + timedelta(seconds=29))
    due = await webhooks.deliver_due(START + timedelta(seconds=30))

    assert early == []
    assert [(attempt.url, attempt.status, attempt.verdict) for attempt in due] == [
        (HOOK, 200, "delivered")
    ]
    base = f"api/v2.0/companies({company_id})/customers"
    shown = [
        (item["resource"], item["changeType"], item["lastModifiedDateTime"])
        for item in receiver.items()
    ]
    assert shown == [
        (f"{base}({new['id']})", "created", "2025-03-01T12:00:00.000Z"),
        (f"{base}({new['id']})", "updated", edited["lastModifiedDateTime"]),
        (f"{base}({gone})", "deleted", "2025-03-01T12:00:10.000Z"),
    ]
    assert {tuple(item) for item in receiver.items()} == {ITEM_FIELDS}
    assert {(item["subscriptionId"], item["clientState"]) for item in receiver.items()} == {
        (created["subscriptionId"], "s3cret")
    }
    assert receiver.items()[0]["expirationDateTime"] == "2025-03-04T12:00:00Z"


async def test_updates_of_one_record_merge_into_one_item_when_in_one_window(
    client, company_id, clock, receiver, webhooks
):
    await subscribe(client, company_id)
    service = client.app.state.bc
    record_id = service.all(company_id, "customers")[0]["id"]
    for second in range(3):
        clock.advance(seconds=1)
        service.edit(company_id, "customers", record_id, {"displayName": f"Name {second}"})

    await webhooks.flush()

    [item] = receiver.items()
    assert (item["changeType"], item["lastModifiedDateTime"]) == (
        "updated",
        "2025-03-01T12:00:03.000Z",
    )


async def test_subscriptions_of_one_url_share_one_post_when_both_tables_change(
    client, company_id, receiver, webhooks
):
    customers = (await subscribe(client, company_id)).json()
    vendors = (await subscribe(client, company_id, "vendors")).json()
    service = client.app.state.bc
    service.seed(company_id, "vendors", 1)
    service.seed(company_id, "customers", 1)

    await webhooks.flush()

    [(_url, payload)] = receiver.posts
    assert [item["subscriptionId"] for item in payload["value"]] == [
        customers["subscriptionId"],
        vendors["subscriptionId"],
    ]


@pytest.mark.parametrize(
    ("count", "expected_types"),
    [(1000, {"created"}), (1001, {"collection"})],
    ids=["1000 changes", "1001 changes"],
)
async def test_collection_sent_only_when_more_than_1000_records_change(
    client, company_id, receiver, count, expected_types
):
    await subscribe(client, company_id)
    client.app.state.bc.seed(company_id, "customers", count)

    await client.app.state.bc_webhooks.flush()

    items = receiver.items()
    assert {item["changeType"] for item in items} == expected_types
    if count > 1000:
        [item] = items
        assert item["resource"] == (
            f"api/v2.0/companies({company_id})/customers"
            "?$filter=lastModifiedDateTime%20gt%202025-03-01T11:59:59.950Z"
        )
    else:
        assert len(items) == 1000


async def test_collection_has_no_filter_when_a_record_was_deleted_in_window(
    client, company_id, receiver, webhooks
):
    await subscribe(client, company_id)
    service = client.app.state.bc
    service.delete(company_id, "customers", service.all(company_id, "customers")[0]["id"])
    service.seed(company_id, "customers", 1000)

    await webhooks.flush()

    [item] = receiver.items()
    assert item["changeType"] == "collection"
    assert item["resource"] == f"api/v2.0/companies({company_id})/customers"


async def test_nothing_sent_when_subscription_expired(
    client, company_id, clock, receiver, webhooks
):
    await subscribe(client, company_id)
    clock.advance(days=3, seconds=1)
    client.app.state.bc.seed(company_id, "customers", 1)

    attempts = await webhooks.flush()

    assert attempts == []
    assert receiver.posts == []
    assert webhooks.subscriptions() == []


@pytest.mark.parametrize(
    ("second_body", "expected"),
    [({}, ([201, 201], 2)), ({"currencyCode": "NOPE"}, ([201, 400], 0))],
    ids=["batch committed", "batch rolled back"],
)
async def test_snapshot_batch_notifies_only_when_committed(
    client, company_id, receiver, second_body, expected
):
    await subscribe(client, company_id)
    requests = [
        {"id": str(n), "method": "POST", "url": f"companies({company_id})/customers", "body": body}
        for n, body in enumerate([{}, second_body])
    ]

    answer = await client.post(
        f"{API}/$batch", json={"requests": requests}, headers={"Isolation": "snapshot"}
    )
    await client.app.state.bc_webhooks.flush()

    statuses, items = expected
    assert [response["status"] for response in answer.json()["responses"]] == statuses
    assert len(receiver.items()) == items


@pytest.mark.parametrize("status", [408, 429, 500, 503, 0], ids=lambda s: f"status {s}")
async def test_delivery_retried_after_backoff_when_subscriber_answers_retryable_status(
    client, company_id, clock, receiver, status
):
    webhooks = client.app.state.bc_webhooks
    await subscribe(client, company_id)
    service = client.app.state.bc
    service.seed(company_id, "customers", 1)
    receiver.statuses = [status]
    first = await webhooks.deliver_due(clock.advance(seconds=30))
    service.seed(company_id, "customers", 1)  # joins the retry

    too_early = await webhooks.deliver_due(clock.advance(seconds=59))
    retried = await webhooks.deliver_due(clock.advance(seconds=1))

    assert [attempt.verdict for attempt in first] == ["retry"]
    assert too_early == []
    assert [attempt.verdict for attempt in retried] == ["delivered"]
    assert len(retried[0].payload["value"]) == 2
    assert len(webhooks.subscriptions()) == 1


@pytest.mark.parametrize("status", [400, 401, 404, 410, 302], ids=lambda s: f"status {s}")
async def test_subscriptions_of_url_deleted_when_subscriber_answers_other_failure(
    client, company_id, receiver, webhooks, status
):
    await subscribe(client, company_id)
    await subscribe(client, company_id, "vendors")
    client.app.state.bc.seed(company_id, "customers", 1)
    receiver.statuses = [status]

    [attempt] = await webhooks.flush()
    client.app.state.bc.seed(company_id, "customers", 1)
    later = await webhooks.flush()

    assert attempt.verdict == "rejected"
    assert webhooks.subscriptions() == []
    assert later == []


async def test_retries_stop_and_subscription_deleted_when_failing_for_36_hours(
    client, company_id, clock, receiver, webhooks
):
    await subscribe(client, company_id)
    client.app.state.bc.seed(company_id, "customers", 1)
    receiver.statuses = [503] * 20
    clock.advance(seconds=30)
    first_failure = clock.now
    attempts = []
    while webhooks.subscriptions() and len(attempts) < 20:
        for attempt in await webhooks.deliver_due(clock.now):
            attempts.append(((clock.now - first_failure).total_seconds(), attempt.verdict))
        clock.advance(seconds=60)

    assert [offset for offset, _verdict in attempts] == [0, 60, 120, 720, 6720, 66720, 126720]
    assert [verdict for _offset, verdict in attempts] == ["retry"] * 6 + ["gave_up"]
    assert attempts[-1][0] < 36 * 3600
    assert webhooks.subscriptions() == []


async def test_waiting_notifications_sent_at_once_when_control_plane_flushes(
    client, company_id, receiver
):
    await subscribe(client, company_id)
    client.app.state.bc.seed(company_id, "customers", 1)

    flushed = await client.post("/_sandbox/bc/webhooks/flush")

    assert flushed.json() == {
        "value": [{"notificationUrl": HOOK, "status": 200, "verdict": "delivered"}]
    }
    assert len(receiver.items()) == 1


async def test_subscriptions_dropped_when_control_plane_resets(client, company_id, webhooks):
    await subscribe(client, company_id)

    await client.post("/_sandbox/bc/reset", json={"seed": 3, "records": 2})

    assert webhooks.subscriptions() == []


async def test_in_process_receiver_gets_handshake_and_notification_when_httpx_transport_used(
    clock,
):
    received: list[dict] = []

    async def hook(request: Request) -> Response:
        token = request.query_params.get("validationToken")
        if token is not None:
            return PlainTextResponse(token)
        assert request.headers["x-ms-correlation-id"]
        received.append(await request.json())
        return Response(status_code=202)

    receiver_app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    receiver_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=receiver_app), base_url="http://engine.test"
    )
    app = create_app(
        seed=1, records=2, clock=clock, webhook_transport=HttpxWebhookTransport(receiver_client)
    )
    async with (
        receiver_client,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bc.test"
        ) as client,
    ):
        company_id = app.state.bc.company_ids()[0]
        body = {
            "notificationUrl": "http://engine.test/hook",
            "resource": f"companies({company_id})/vendors",
        }
        created = await client.post(f"{API}/subscriptions", json=body)
        app.state.bc.seed(company_id, "vendors", 1)
        [attempt] = await app.state.bc_webhooks.flush()

    assert created.status_code == 201, created.text
    assert attempt.status == 202
    assert [item["changeType"] for item in received[0]["value"]] == ["created"]
