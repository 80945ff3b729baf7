"""When to send a failed request again, and how long to wait first.

Pure arithmetic, no I/O: the service client asks ``RetryPolicy.next_delay`` after each failed
attempt and sleeps for the answer, or gives up on ``None``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

TRANSIENT_STATUSES: Final = frozenset({429, 502, 503, 504})
"""Statuses worth retrying: throttled, bad gateway, unavailable, gateway timeout."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds and pacing of retries.

    A ``Retry-After`` from the service is honoured exactly; without one the wait grows
    exponentially (``base_delay * 2**(attempt - 1)``, at most ``max_delay``) and is spread by
    ``±jitter`` (a share of the wait) so that clients throttled together do not return together.
    The sum of all waits of one request stays within ``total_budget`` seconds.

    Attributes:
        max_attempts: Sends of one request, the first included.
        base_delay: Seconds before the first retry without ``Retry-After``.
        max_delay: Cap of one backoff wait (``Retry-After`` is not capped, only budgeted).
        total_budget: Cap of the sum of waits of one request.
        jitter: Share of each backoff wait drawn at random, 0 for none.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 60.0
    total_budget: float = 300.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.total_budget) < 0:
            raise ValueError("delays and budget must not be negative")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def backoff(self, attempt: int, *, draw: Callable[[], float] = random.random) -> float:
        """The wait after failed attempt number ``attempt`` (1-based) without ``Retry-After``.

        Args:
            attempt: How many sends have failed so far.
            draw: A source of numbers in ``[0, 1)``; tests pass a constant.

        Returns:
            Seconds, at most ``max_delay``.
        """
        exponential = self.base_delay * 2.0 ** min(attempt - 1, 62)
        spread = 1.0 + self.jitter * (2.0 * draw() - 1.0)
        return min(self.max_delay, exponential * spread)

    def next_delay(
        self,
        attempt: int,
        *,
        waited: float,
        retry_after: float | None = None,
        draw: Callable[[], float] = random.random,
    ) -> float | None:
        """Whether to retry after failed attempt ``attempt``, and the wait before it.

        Args:
            attempt: How many sends have failed so far (1 after the first).
            waited: Seconds already spent waiting between sends of this request.
            retry_after: The service's ``Retry-After`` in seconds, if it sent one.
            draw: A source of numbers in ``[0, 1)`` for the jitter.

        Returns:
            Seconds to wait before the next send, or None when the attempts or the budget are
            spent (the caller gives up).
        """
        if attempt >= self.max_attempts:
            return None
        delay = retry_after if retry_after is not None else self.backoff(attempt, draw=draw)
        if waited + delay > self.total_budget:
            return None
        return delay


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Read a ``Retry-After`` header: delay seconds or an HTTP date.

    Args:
        value: The header, e.g. ``"7"`` or ``"Wed, 01 May 2024 08:00:07 GMT"``; None if absent.
        now: The instant the date is measured from (the response's ``Date`` when it has one).

    Returns:
        Seconds to wait (0 for a date in the past), or None when absent or unreadable.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until(text, now)
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _seconds_until(http_date: str, now: datetime) -> float | None:
    try:
        moment = parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # "-0000": RFC 9110 dates are GMT all the same
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())
