"""Settings of the Business Central emulator, including the behaviours the docs leave open."""

from __future__ import annotations

from dataclasses import dataclass

MAX_PAGE_SIZE = 20_000
MAX_BATCH_REQUESTS = 100


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
