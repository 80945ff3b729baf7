"""Settings of the Business Central emulator, including the behaviours the docs leave open."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_PAGE_SIZE = 20_000
MAX_BATCH_REQUESTS = 100
_DAY_SECONDS = 86_400.0


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """How webhook subscriptions and notifications behave (api-contracts B6).

    Attributes:
        delay_seconds: the coalescing window: notifications go out this long after the first
            change queued for a notification URL (BC online: 30 s).
        max_notifications: changes of one subscription in one window above which a single
            `collection` notification replaces them (BC online: 1,000).
        lifetime_seconds: how long a subscription lives unless renewed (BC online: 3 days).
        max_subscriptions: subscriptions per environment (BC online: 200).
        max_client_state_length: the longest `clientState` accepted (2,048 characters).
        retry_delays_seconds: waits before each retry of a failed delivery, the last one
            repeating; the default is BC's own schedule (1, 1, 10, 100, 1,000 minutes).
        retry_horizon_seconds: retries stop once the next one would fall later than this after
            the first failure (BC: 36 hours); then the subscriptions of that URL are deleted.
        handshake_timeout_seconds: how long the receiver may take to answer the handshake.
        notification_timeout_seconds: how long the receiver may take to accept a notification.
        poll_seconds: how often the background task (when served by uvicorn) sends what is due.
    """

    delay_seconds: float = 30.0
    max_notifications: int = 1_000
    lifetime_seconds: float = 3 * _DAY_SECONDS
    max_subscriptions: int = 200
    max_client_state_length: int = 2_048
    retry_delays_seconds: tuple[float, ...] = (60.0, 60.0, 600.0, 6_000.0, 60_000.0)
    retry_horizon_seconds: float = 1.5 * _DAY_SECONDS
    handshake_timeout_seconds: float = 5.0
    notification_timeout_seconds: float = 30.0
    poll_seconds: float = 1.0


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """How the emulator behaves where BC's behaviour is configurable or unconfirmed.

    Attributes:
        stale_etag_status: status of `Request_EntityChanged` (409 per BC docs; some clients
            report 412; unconfirmed).
        record_cost_seconds: simulated server time per record written (POST/PATCH/DELETE,
            batch items too), so benchmarks can model server cost.
        default_page_size: rows per page without `Prefer: odata.maxpagesize` (BC online: 20,000).
        max_page_size: the largest page BC serves (20,000 online).
        oversized_page_status: the status for `odata.maxpagesize` above `max_page_size`
            (413 per the operational-limits doc); None caps the page silently instead.
        accept_client_id: accept `id` (SystemId) in a POST body (unconfirmed for v2.0 pages;
            by default it is refused as read-only).
        blank_enum_literal: how a blank enum value (customer/vendor `blocked`) is serialised:
            `" "` as in the API reference, or `"_x0020_"`, the EDM-escaped member name some
            clients report (unconfirmed). Both are accepted on input.
        not_found_code: error code of a GET/PATCH/DELETE on a missing id.
        max_batch_requests: the most requests one `$batch` may hold (100 online).
        webhooks: subscriptions, coalescing and delivery retries.
    """

    stale_etag_status: int = 409
    record_cost_seconds: float = 0.0
    default_page_size: int = MAX_PAGE_SIZE
    max_page_size: int = MAX_PAGE_SIZE
    oversized_page_status: int | None = 413
    accept_client_id: bool = False
    blank_enum_literal: str = " "
    not_found_code: str = "Internal_RecordNotFound"
    max_batch_requests: int = MAX_BATCH_REQUESTS
    webhooks: WebhookConfig = field(default_factory=WebhookConfig)
