"""Webhook subscriptions of the BC emulator (api-contracts B6), and what feeds their notifications.

Endpoints, under the API root of the standard API or of a custom API:

    POST   subscriptions            {"notificationUrl", "resource", "clientState"}  -> 201
    GET    subscriptions | subscriptions('<id>')
    PATCH  subscriptions('<id>')    If-Match; renews for 3 days                    -> 200
    DELETE subscriptions('<id>')    If-Match                                        -> 204
    GET    api/microsoft/runtime/beta/companies(<id>)/webhookSupportedResources

Creating and renewing first call `notificationUrl?validationToken=<token>` (POST, no body); the
subscriber must answer 200 with the token as the body, or the request fails with 400.
`resource` may be absolute, `/api/v2.0/companies(<id>)/customers`, or relative to the API
root (`companies(<id>)/customers`). Notifications name it `api/v2.0/companies(<id>)/customers`.

Every committed write of a subscribed table (API, `$batch`, control-plane "user" edits) is
queued; `webhook_delivery` coalesces and sends them. Tests drive time with
`await app.state.bc_webhooks.deliver_due(now=...)` or `flush()`; a served app also sends what is
due from a background task. Unconfirmed, hence chosen here: the codes and messages of refused
subscriptions (400 `BadRequest`), and one list showing the subscriptions of every API.
"""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from sandbox.business_central.api import INVALID_BODY, ApiRequest, ApiResponse, error_response
from sandbox.business_central.api_error import ApiError, bad_request
from sandbox.business_central.schema import COMPANY_ENTITIES, CUSTOM_API, STANDARD_API
from sandbox.business_central.store import format_timestamp
from sandbox.business_central.webhook_delivery import (
    DeliveryAttempt,
    WebhookDispatcher,
    WebhookTransport,
    validate_endpoint,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from sandbox.business_central.service import BusinessCentralService
    from sandbox.business_central.store import RecordChange

RUNTIME_API: Final = "runtime"
"""`ApiRequest.api` of `api/microsoft/runtime/beta`, home of `webhookSupportedResources`."""

CUSTOM_API_ROOT: Final = "bcsync/integration/v1.0"
"""How `webhookSupportedResources` names the custom API (any publisher/group is served)."""

_WEBHOOK_ENTITY_SET_NAMES = """accounts companyInformation countriesRegions currencies
    customerPaymentJournals customers dimensions employees generalLedgerEntries itemCategories items
    journals paymentMethods paymentTerms purchaseInvoices salesCreditMemos salesInvoices salesOrders
    salesQuotes shipmentMethods unitsOfMeasure vendors"""
WEBHOOK_ENTITY_SETS: Final = frozenset(_WEBHOOK_ENTITY_SET_NAMES.split())
"""Standard v2.0 entity sets with webhooks (contract B6); contacts and salespeople lack them."""

SERVICE_USER_ID: Final = str(uuid.uuid5(uuid.NAMESPACE_URL, "sandbox/business-central/s2s"))
"""The `userId` of every subscription: the emulator has a single (service-principal) user."""

_SUBSCRIPTIONS = re.compile(r"^subscriptions(?:\((?P<key>[^()]*)\))?$")
_SUPPORTED = re.compile(r"^companies\((?P<company>[^()]+)\)/webhookSupportedResources$")
_RESOURCE = re.compile(
    r"^(?:.*?/)?(?:api/(?P<root>v2\.0|[^/]+/[^/]+/v1\.0)/)?"
    r"companies\((?P<company>[^()/]+)\)/(?P<entity_set>[A-Za-z]\w*)$"
)
_RESOURCE_FILTER = re.compile(r"^\s*resource\s+eq\s+'(?P<pattern>[^']*)'\s*$")
_MISSING_IF_MATCH = (
    "Could not validate the client concurrency token required by the service. "
    "Please provide a valid token in the client request."
)


def is_webhook_resource(resource: str) -> bool:
    """Return True for paths the subscriptions endpoint answers (`subscriptions[('<id>')]`)."""
    return _SUBSCRIPTIONS.match(resource.strip("/")) is not None


def _seconds(moment: datetime) -> str:
    # Subscription dates are shown to the second, as in BC's examples ("2021-10-15T12:32:35Z").
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z"


@dataclass(slots=True)
class Subscription:
    """One webhook subscription.

    Attributes:
        subscription_id: 32 hex digits, as BC's ids.
        notification_url: where notifications (and handshakes) go.
        resource: the subscribed resource as the client gave it.
        resource_path: its canonical form, `api/v2.0/companies(<id>)/customers`.
        company_id: the subscribed company.
        entity_set: the subscribed entity set.
        client_state: echoed in every notification.
        created_at: when it was created.
        modified_at: when it was last created or renewed.
        expires_at: when it stops receiving notifications.
        timestamp: BC's row version, bumped by each write.
    """

    subscription_id: str
    notification_url: str
    resource: str
    resource_path: str
    company_id: str
    entity_set: str
    client_state: str
    created_at: datetime
    modified_at: datetime
    expires_at: datetime
    timestamp: int

    @property
    def etag(self) -> str:
        """Return the weak etag of this version (it changes with `timestamp`)."""
        digits = f"{self.timestamp}"
        token = base64.b64encode(f"'{len(digits)};{digits};'".encode()).decode()
        return f'W/"{token}"'

    def to_payload(self) -> dict[str, Any]:
        """Return the subscription as the API shows it."""
        return {
            "@odata.etag": self.etag,
            "subscriptionId": self.subscription_id,
            "notificationUrl": self.notification_url,
            "resource": self.resource,
            "timestamp": self.timestamp,
            "userId": SERVICE_USER_ID,
            "lastModifiedDateTime": _seconds(self.modified_at),
            "clientState": self.client_state,
            "expirationDateTime": _seconds(self.expires_at),
            "systemCreatedAt": format_timestamp(self.created_at),
            "systemCreatedBy": SERVICE_USER_ID,
            "systemModifiedAt": format_timestamp(self.modified_at),
            "systemModifiedBy": SERVICE_USER_ID,
        }

    def notification_fields(self) -> dict[str, str]:
        """Return the fields every notification item of this subscription starts with."""
        return {
            "subscriptionId": self.subscription_id,
            "clientState": self.client_state,
            "expirationDateTime": _seconds(self.expires_at),
        }


class BusinessCentralWebhooks:
    """Subscriptions and their notifications; `app.state.bc_webhooks` of the emulator.

    Args:
        service: the emulator whose writes are watched.
        transport: how the subscriber is called (handshakes and notifications); swap it later
            through `dispatcher.transport`.
        clock: the current UTC time, for expiry, windows and retries.
    """

    def __init__(
        self,
        service: BusinessCentralService,
        transport: WebhookTransport,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self._service, self._clock = service, clock
        self._config = service.config.webhooks
        self._subscriptions: dict[str, Subscription] = {}
        self._row_version = 0
        self.dispatcher = WebhookDispatcher(
            self._config, transport, self._subscriptions, clock=clock
        )
        service.add_change_listener(self.record_change)

    def subscriptions(self) -> list[dict[str, Any]]:
        """Return the subscriptions as the API shows them."""
        return [subscription.to_payload() for subscription in self._subscriptions.values()]

    def record_change(self, change: RecordChange) -> None:
        """Queue a committed write for every live subscription to its table."""
        if not self._subscriptions:
            return
        now = self._clock()
        table = (change.company_id, change.entity_set)
        for subscription in self._subscriptions.values():
            live = subscription.expires_at >= now
            if live and (subscription.company_id, subscription.entity_set) == table:
                self.dispatcher.enqueue(subscription, change, now)

    async def deliver_due(self, now: datetime | None = None) -> list[DeliveryAttempt]:
        """Send the notifications due at `now` (default: the clock); see WebhookDispatcher."""
        return await self.dispatcher.deliver_due(now)

    async def flush(self, now: datetime | None = None) -> list[DeliveryAttempt]:
        """Send every waiting notification, as if all windows and retry waits had passed."""
        return await self.dispatcher.flush(now)

    async def run(self) -> None:
        """Send what is due, periodically, until cancelled (the served app's background task)."""
        await self.dispatcher.run()

    def reset(self) -> None:
        """Drop every subscription and waiting notification."""
        self._subscriptions.clear()
        self.dispatcher.clear()

    async def answer(self, request: ApiRequest) -> ApiResponse:
        """Answer a subscriptions or `webhookSupportedResources` request, refusals included."""
        try:
            if request.api == RUNTIME_API:
                return self._supported_resources(request)
            match = _SUBSCRIPTIONS.match(request.resource.strip("/"))
            key = match.group("key") if match else None
            if key is None:
                return await self._collection(request)
            subscription = self._find(key.strip("'"))
            if request.method == "GET":
                return _single(request, subscription)
            if request.method == "PATCH":
                return await self._renew(request, subscription)
            if request.method == "DELETE":
                self._check_if_match(subscription, request.headers.get("if-match"))
                del self._subscriptions[subscription.subscription_id]
                self.dispatcher.forget(subscription.subscription_id)
                return ApiResponse(204)
            raise _not_allowed(request.method, "Entity")
        except ApiError as error:
            return error_response(error)

    async def _collection(self, request: ApiRequest) -> ApiResponse:
        if request.method == "GET":
            listed = {"value": self.subscriptions()}
            context = f"{request.api_root}/$metadata#subscriptions"
            return ApiResponse(200, payload={"@odata.context": context, **listed})
        if request.method != "POST":
            raise _not_allowed(request.method, "EntitySet")
        body = _body(request, required=True)
        url = _notification_url(body.get("notificationUrl"))
        resource_path, company_id, entity_set = self._target(request, body.get("resource"))
        client_state = self._client_state(body.get("clientState", ""))
        self._check_room()
        await self._handshake(url)
        self._check_room()  # others may have subscribed during the handshake
        now = self._clock()
        subscription = Subscription(
            subscription_id=uuid.uuid4().hex,
            notification_url=url,
            resource=str(body["resource"]),
            resource_path=resource_path,
            company_id=company_id,
            entity_set=entity_set,
            client_state=client_state,
            created_at=now,
            modified_at=now,
            expires_at=now + timedelta(seconds=self._config.lifetime_seconds),
            timestamp=self._next_row_version(),
        )
        self._subscriptions[subscription.subscription_id] = subscription
        response = _single(request, subscription, status=201)
        key = subscription.subscription_id
        response.headers["Location"] = f"{request.api_root}/subscriptions('{key}')"
        return response

    async def _renew(self, request: ApiRequest, subscription: Subscription) -> ApiResponse:
        self._check_if_match(subscription, request.headers.get("if-match"))
        body = _body(request, required=False)
        url = _notification_url(body.get("notificationUrl", subscription.notification_url))
        if "resource" in body:
            resource_path = self._target(request, body["resource"])[0]
            if resource_path != subscription.resource_path:
                raise bad_request("The resource of a subscription cannot be changed.")
        client_state = self._client_state(body.get("clientState", subscription.client_state))
        await self._handshake(url)
        now = self._clock()
        subscription.notification_url, subscription.client_state = url, client_state
        subscription.modified_at = now
        subscription.expires_at = now + timedelta(seconds=self._config.lifetime_seconds)
        subscription.timestamp = self._next_row_version()
        self.dispatcher.moved(subscription, now)
        return _single(request, subscription)

    def _supported_resources(self, request: ApiRequest) -> ApiResponse:
        match = _SUPPORTED.match(request.resource.strip("/"))
        if match is None:
            raise ApiError(
                404, "BadRequest_ResourceNotFound", f"Resource not found for '{request.resource}'."
            )
        if request.method != "GET":
            raise _not_allowed(request.method, "EntitySet")
        company_id = self._service.resolve_company(match.group("company").strip("'{}"))
        names = [
            f"v2.0/{name}" if schema.api == STANDARD_API else f"{CUSTOM_API_ROOT}/{name}"
            for name, schema in COMPANY_ENTITIES.items()
            if schema.api == CUSTOM_API or name in WEBHOOK_ENTITY_SETS
        ]
        wanted = _resource_filter(request.query.get("$filter"))
        context = f"{request.api_root}/$metadata#companies({company_id})/webhookSupportedResources"
        value = [{"resource": name} for name in sorted(names) if wanted(name)]
        return ApiResponse(200, payload={"@odata.context": context, "value": value})

    def _find(self, key: str) -> Subscription:
        subscription = self._subscriptions.get(key)
        if subscription is None:
            raise ApiError(
                404,
                self._service.config.not_found_code,
                "The API Webhook Subscription does not exist. Identification fields and values: "
                f"Subscription Id='{key}'",
            )
        return subscription

    def _target(self, request: ApiRequest, resource: object) -> tuple[str, str, str]:
        """Return the canonical path, company id and entity set of a subscribable resource."""
        if not isinstance(resource, str) or not resource.strip():
            raise bad_request("The resource is required.", "BadRequest_RequiredParamNotProvided")
        match = _RESOURCE.match(resource.strip())
        endpoint_root = request.api_root.split("/api/", 1)[-1]
        root = (match.group("root") if match else None) or endpoint_root
        entity_set = match.group("entity_set") if match else ""
        schema = COMPANY_ENTITIES.get(entity_set)
        api = STANDARD_API if root == "v2.0" else CUSTOM_API
        supported = (
            match is not None
            and schema is not None
            and schema.api == api == request.api
            and (api == CUSTOM_API or entity_set in WEBHOOK_ENTITY_SETS)
        )
        if match is None or not supported:
            raise bad_request(f"The resource '{resource}' does not support webhook subscriptions.")
        company_id = self._service.resolve_company(match.group("company").strip("'{}"))
        return f"api/{root}/companies({company_id})/{entity_set}", company_id, entity_set

    def _client_state(self, value: object) -> str:
        if not isinstance(value, str):
            raise bad_request("clientState must be a string.")
        limit = self._config.max_client_state_length
        if len(value) > limit:
            message = f"The length of clientState is {len(value)}; at most {limit} are allowed."
            raise ApiError(400, "Application_StringExceededLength", message)
        return value

    def _check_room(self) -> None:
        self.dispatcher.delete_expired(self._clock())
        limit = self._config.max_subscriptions
        if len(self._subscriptions) >= limit:
            raise bad_request(f"The maximum number of subscriptions ({limit}) has been reached.")

    async def _handshake(self, url: str) -> None:
        timeout = self._config.handshake_timeout_seconds
        reply = await validate_endpoint(self.dispatcher.transport, url, timeout)
        if reply is None:
            return
        got = f"status {reply.status}" if reply.status else "no answer"
        raise bad_request(
            "The subscription could not be validated: the notification URL must answer the "
            f"validation request with status 200 and the validationToken as body ({got})."
        )

    def _check_if_match(self, subscription: Subscription, if_match: str | None) -> None:
        if if_match is None or not if_match.strip():
            raise ApiError(400, "BadRequest_InvalidToken", _MISSING_IF_MATCH)
        offered = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
        if "*" in offered or subscription.etag.removeprefix("W/") in offered:
            return
        status = self._service.config.stale_etag_status
        raise ApiError(
            status, "Request_EntityChanged", "Another user has already changed the record."
        )

    def _next_row_version(self) -> int:
        self._row_version += 1
        return self._row_version


def _body(request: ApiRequest, *, required: bool) -> Mapping[str, Any]:
    if request.body is None and not required:
        return {}
    if request.body is INVALID_BODY or not isinstance(request.body, dict):
        raise bad_request("Invalid Request Body")
    return request.body


def _notification_url(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad_request("The notificationUrl is required.", "BadRequest_RequiredParamNotProvided")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise bad_request(f"The notificationUrl '{value}' is not an absolute http(s) URL.")
    return value.strip()


def _resource_filter(expression: str | None) -> Callable[[str], bool]:
    if expression is None:
        return lambda _name: True
    match = _RESOURCE_FILTER.match(expression)
    if match is None:
        raise bad_request("Only $filter=resource eq '<value>' (with an optional * suffix) works.")
    pattern = match.group("pattern")
    if pattern.endswith("*"):
        return lambda name: name.startswith(pattern[:-1])
    return lambda name: name == pattern


def _single(request: ApiRequest, subscription: Subscription, status: int = 200) -> ApiResponse:
    context = f"{request.api_root}/$metadata#subscriptions/$entity"
    payload = {"@odata.context": context, **subscription.to_payload()}
    return ApiResponse(status, headers={"ETag": subscription.etag}, payload=payload)


def _not_allowed(method: str, edm_type: str) -> ApiError:
    return ApiError(
        405,
        "BadRequest_MethodNotAllowed",
        f"'{method}' requests for 'subscriptions' of EdmType '{edm_type}' are not allowed within "
        "Microsoft Dynamics NAV OData web services.",
    )
