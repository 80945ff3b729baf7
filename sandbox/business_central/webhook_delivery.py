"""Delivery of webhook notifications: coalescing, aggregation, transport, retries (contract B6).

Changes wait per subscription. All subscriptions sharing a notification URL go out together in
one POST once that URL's coalescing window (`delay_seconds` after its first waiting change) has
passed. The body, JSON without a byte order mark:

    {"value": [{"subscriptionId": "c670ea73cacb459bb51dc1740da2f1db",
                "clientState": "s3cret", "expirationDateTime": "2025-03-04T12:00:00Z",
                "resource": "api/v2.0/companies(<id>)/customers(<id>)",
                "changeType": "updated", "lastModifiedDateTime": "2025-03-01T12:00:05.250Z"}]}

Aggregation follows BC's base application (codeunit 6154 "API Webhook Notification Send"):
repeated updates of one record merge into one item, but a create followed by updates stays two
items; once a subscription holds more than `max_notifications` items they collapse into one
`collection` item, whose resource filters on `lastModifiedDateTime` 50 ms before the first change
(`...customers?$filter=lastModifiedDateTime%20gt%202025-03-01T11:59:59.950Z`), or has no filter
when a record was deleted, since a filter cannot show deletions.

A POST answered 2xx is delivered. 408, 429, 5xx or no answer at all is retried after BC's
backoff (1, 1, 10, 100, 1,000 minutes, the last repeating) until the next retry would fall more
than the retry horizon (36 h) after the first failure: then, and on any other status at once,
every subscription of that URL is deleted, as BC does. Expired subscriptions are deleted before
each delivery round and get nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import urlencode, urlsplit

import httpx

from sandbox.business_central.store import format_timestamp

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sandbox import Sleep
    from sandbox.business_central.config import WebhookConfig
    from sandbox.business_central.store import RecordChange
    from sandbox.business_central.webhooks import Subscription

NO_ANSWER: Final = 0
"""The status of a reply that never came (connection refused, timeout)."""

_COLLECTION_MARGIN = timedelta(milliseconds=50)  # BC's own margin for SQL/AL time rounding


@dataclass(frozen=True, slots=True)
class WebhookReply:
    """What the subscriber answered: its status (NO_ANSWER when none) and body text."""

    status: int
    text: str = ""


class WebhookTransport(Protocol):
    """Sends BC's outbound calls to a subscriber.

    `payload` None is the validation request: a POST without body to
    `notificationUrl?validationToken=<token>`. Otherwise `payload` is the notification body.
    Implementations return `WebhookReply(NO_ANSWER)` instead of raising on network errors.
    """

    async def __call__(self, url: str, payload: Mapping[str, Any] | None) -> WebhookReply:
        """POST to `url` and return the reply."""
        ...


class HttpxWebhookTransport:  # implements WebhookTransport
    """Posts with httpx, to a real URL or, given a client on `httpx.ASGITransport`, in-process.

    Args:
        client: the client to post with (not closed here); None opens one per call.
        timeout_seconds: the timeout of the per-call client.
    """

    def __init__(
        self, client: httpx.AsyncClient | None = None, *, timeout_seconds: float = 30.0
    ) -> None:
        self._client = client
        self._timeout_seconds = timeout_seconds

    async def __call__(self, url: str, payload: Mapping[str, Any] | None) -> WebhookReply:
        """POST to `url` as BC does, with correlation headers; network errors give NO_ANSWER."""
        try:
            if self._client is not None:
                return await _post(self._client, url, payload)
            async with httpx.AsyncClient(timeout=self._timeout_seconds) as client:
                return await _post(client, url, payload)
        except httpx.HTTPError:
            return WebhookReply(NO_ANSWER)


async def _post(
    client: httpx.AsyncClient, url: str, payload: Mapping[str, Any] | None
) -> WebhookReply:
    correlation = str(uuid.uuid4())
    headers = {"clientRequestId": correlation, "x-ms-correlation-id": correlation}
    if payload is None:
        response = await client.post(url, headers=headers)
    else:
        response = await client.post(url, json=payload, headers=headers)
    return WebhookReply(response.status_code, response.text)


async def call_subscriber(
    transport: WebhookTransport,
    url: str,
    payload: Mapping[str, Any] | None,
    timeout_seconds: float,
) -> WebhookReply:
    """Call the subscriber, treating a reply slower than `timeout_seconds` as none."""
    try:
        return await asyncio.wait_for(transport(url, payload), timeout_seconds)
    except TimeoutError:
        return WebhookReply(NO_ANSWER)


async def validate_endpoint(
    transport: WebhookTransport, url: str, timeout_seconds: float
) -> WebhookReply | None:
    """Run BC's handshake: POST `url?validationToken=<token>` without body.

    Returns:
        None when the subscriber answered 200 with the token as body, else its reply.
    """
    token = str(uuid.uuid4())
    separator = "&" if urlsplit(url).query else "?"
    validation_url = f"{url}{separator}{urlencode({'validationToken': token})}"
    reply = await call_subscriber(transport, validation_url, None, timeout_seconds)
    return None if reply.status == 200 and reply.text.strip() == token else reply


@dataclass(slots=True)
class _Item:
    record_id: str
    change_type: str
    last_modified: str


@dataclass(slots=True)
class _Collection:
    first_modified: str | None  # None once a record was deleted: no filter can show that
    last_modified: str


def _aggregate(changes: Sequence[RecordChange], limit: int) -> list[_Item] | _Collection:
    items: list[_Item] = []
    last_of: dict[str, _Item] = {}
    collection: _Collection | None = None
    for change in changes:
        deleted = change.change_type == "deleted"
        if collection is not None:
            collection.last_modified = change.last_modified
            if deleted:
                collection.first_modified = None
            continue
        previous = last_of.get(change.record_id)
        # Updates merge into the record's last item only if that is an update too (BC's rule).
        if previous is not None and previous.change_type == change.change_type == "updated":
            previous.last_modified = change.last_modified
            continue
        if len(items) >= limit:
            had_delete = deleted or any(item.change_type == "deleted" for item in items)
            first = None if had_delete else items[0].last_modified
            collection = _Collection(first, change.last_modified)
            continue
        item = _Item(change.record_id, change.change_type, change.last_modified)
        items.append(item)
        last_of[change.record_id] = item
    return items if collection is None else collection


def notification_items(
    subscription: Subscription, changes: Sequence[RecordChange], limit: int
) -> list[dict[str, Any]]:
    """Render one subscription's waiting changes as notification items, aggregated as BC does."""
    common = subscription.notification_fields()
    resource = subscription.resource_path
    aggregated = _aggregate(changes, limit)
    if isinstance(aggregated, _Collection):
        if aggregated.first_modified is not None:
            since = datetime.fromisoformat(aggregated.first_modified) - _COLLECTION_MARGIN
            resource += f"?$filter=lastModifiedDateTime%20gt%20{format_timestamp(since)}"
        aggregated = [_Item("", "collection", aggregated.last_modified)]
    return [
        {
            **common,
            "resource": f"{resource}({item.record_id})" if item.record_id else resource,
            "changeType": item.change_type,
            "lastModifiedDateTime": item.last_modified,
        }
        for item in aggregated
    ]


class Verdict(StrEnum):
    """What became of one POST to a notification URL."""

    DELIVERED = "delivered"
    RETRY = "retry"
    REJECTED = "rejected"
    GAVE_UP = "gave_up"


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One POST of notifications: where, what, the subscriber's status and the verdict."""

    url: str
    payload: dict[str, Any]
    status: int
    verdict: Verdict


@dataclass(slots=True)
class _Outbox:
    due_at: datetime
    attempts: int = 0
    first_failure_at: datetime | None = None


def _retryable(status: int) -> bool:
    return status in (NO_ANSWER, 408, 429) or 500 <= status <= 599


class WebhookDispatcher:
    """Holds waiting changes and sends them when due; deletes subscriptions BC would delete.

    Args:
        config: windows, limits and the retry schedule.
        transport: how subscribers are called.
        subscriptions: the live subscriptions by id, shared with their owner.
        clock: the current UTC time.
        sleep: the wait of the background loop.
    """

    def __init__(
        self,
        config: WebhookConfig,
        transport: WebhookTransport,
        subscriptions: dict[str, Subscription],
        *,
        clock: Callable[[], datetime],
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.transport = transport
        self._config, self._subscriptions = config, subscriptions
        self._clock, self._sleep = clock, sleep
        self._waiting: dict[str, list[RecordChange]] = {}
        self._outboxes: dict[str, _Outbox] = {}
        self._lock = asyncio.Lock()

    def enqueue(self, subscription: Subscription, change: RecordChange, now: datetime) -> None:
        """Queue a change for a subscription; the first one opens its URL's window."""
        self._waiting.setdefault(subscription.subscription_id, []).append(change)
        self._open_window(subscription.notification_url, now)

    def forget(self, subscription_id: str) -> None:
        """Drop what waits for a subscription that is gone."""
        self._waiting.pop(subscription_id, None)

    def moved(self, subscription: Subscription, now: datetime) -> None:
        """Make sure changes of a subscription whose URL changed still go out."""
        if self._waiting.get(subscription.subscription_id):
            self._open_window(subscription.notification_url, now)

    def clear(self) -> None:
        """Drop every waiting change and retry state."""
        self._waiting.clear()
        self._outboxes.clear()

    def delete_expired(self, now: datetime) -> None:
        """Delete the subscriptions that expired before `now`, as BC's job does each round."""
        for subscription in list(self._subscriptions.values()):
            if subscription.expires_at < now:
                self._delete(subscription.subscription_id)

    async def deliver_due(self, now: datetime | None = None) -> list[DeliveryAttempt]:
        """Send what is due at `now` (default: the clock): one POST per notification URL."""
        async with self._lock:
            moment = now or self._clock()
            self.delete_expired(moment)
            due = [url for url, box in self._outboxes.items() if box.due_at <= moment]
            attempts = [await self._deliver(url, moment) for url in due]
            return [attempt for attempt in attempts if attempt is not None]

    async def flush(self, now: datetime | None = None) -> list[DeliveryAttempt]:
        """Send everything waiting, as if every window and retry wait had passed by `now`."""
        moment = now or self._clock()
        for box in self._outboxes.values():
            box.due_at = min(box.due_at, moment)
        return await self.deliver_due(moment)

    async def run(self) -> None:
        """Deliver what is due every `poll_seconds`, until cancelled (the served app's task)."""
        while True:
            await self._sleep(self._config.poll_seconds)
            await self.deliver_due()

    def _open_window(self, url: str, now: datetime) -> None:
        if url not in self._outboxes:
            self._outboxes[url] = _Outbox(now + timedelta(seconds=self._config.delay_seconds))

    def _delete(self, subscription_id: str) -> None:
        self._subscriptions.pop(subscription_id, None)
        self.forget(subscription_id)

    async def _deliver(self, url: str, now: datetime) -> DeliveryAttempt | None:
        subscribers = self._subscribers(url)
        taken = {
            s.subscription_id: changes
            for s in subscribers
            if (changes := self._waiting.pop(s.subscription_id, None))
        }
        limit = self._config.max_notifications
        items = [
            item
            for s in subscribers
            if s.subscription_id in taken
            for item in notification_items(s, taken[s.subscription_id], limit)
        ]
        if not items:
            self._outboxes.pop(url, None)
            return None
        payload: dict[str, Any] = {"value": items}
        timeout = self._config.notification_timeout_seconds
        reply = await call_subscriber(self.transport, url, payload, timeout)
        verdict = self._settle(url, reply.status, now, taken)
        return DeliveryAttempt(url, payload, reply.status, verdict)

    def _settle(
        self, url: str, status: int, now: datetime, taken: dict[str, list[RecordChange]]
    ) -> Verdict:
        if 200 <= status <= 299:
            self._outboxes.pop(url, None)
            # Changes that arrived while the POST was under way open a new window.
            if any(self._waiting.get(s.subscription_id) for s in self._subscribers(url)):
                self._open_window(url, now)
            return Verdict.DELIVERED
        verdict = self._reschedule(url, now) if _retryable(status) else Verdict.REJECTED
        if verdict is Verdict.RETRY:
            for subscription_id, changes in taken.items():
                if subscription_id in self._subscriptions:
                    later = self._waiting.get(subscription_id, [])
                    self._waiting[subscription_id] = changes + later
            return verdict
        self._outboxes.pop(url, None)
        for subscription in self._subscribers(url):
            self._delete(subscription.subscription_id)
        return verdict

    def _reschedule(self, url: str, now: datetime) -> Verdict:
        # setdefault: a reset may have dropped the outbox while the POST was under way.
        box = self._outboxes.setdefault(url, _Outbox(now))
        box.attempts += 1
        first_failure = box.first_failure_at = box.first_failure_at or now
        delays = self._config.retry_delays_seconds
        next_at = now + timedelta(seconds=delays[min(box.attempts, len(delays)) - 1])
        if (next_at - first_failure).total_seconds() > self._config.retry_horizon_seconds:
            return Verdict.GAVE_UP
        box.due_at = next_at
        return Verdict.RETRY

    def _subscribers(self, url: str) -> list[Subscription]:
        return [s for s in self._subscriptions.values() if s.notification_url == url]
