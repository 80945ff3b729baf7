from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sync.connectors.retry import RetryPolicy, parse_retry_after

NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def middle() -> float:
    return 0.5  # the draw that makes the jitter zero


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 60.0), (500, 60.0)],
    ids=["first", "second", "third", "fourth", "capped", "far beyond the cap"],
)
def test_backoff_doubles_up_to_max_delay_when_no_retry_after(attempt, expected):
    assert RetryPolicy().backoff(attempt, draw=middle) == expected


@pytest.mark.parametrize(("draw", "expected"), [(0.0, 0.8), (0.999999, 1.2)], ids=["low", "high"])
def test_backoff_spreads_by_jitter_share_when_draw_varies(draw, expected):
    delay = RetryPolicy(base_delay=1.0, jitter=0.2).backoff(1, draw=lambda: draw)

    assert delay == pytest.approx(expected, abs=1e-5)


def test_next_delay_is_retry_after_exactly_when_service_sent_one():
    policy = RetryPolicy(max_delay=1.0)

    assert policy.next_delay(1, waited=0.0, retry_after=37.0) == 37.0


def test_next_delay_gives_up_when_attempts_are_spent():
    policy = RetryPolicy(max_attempts=3)

    assert policy.next_delay(2, waited=0.0, draw=middle) == 1.0
    assert policy.next_delay(3, waited=0.0, draw=middle) is None


@pytest.mark.parametrize(
    ("waited", "retry_after", "expected"),
    [(0.0, 10.0, 10.0), (5.0, 5.0, 5.0), (5.0, 5.5, None), (0.0, 11.0, None)],
    ids=["fits", "fills the budget", "overshoots after waits", "overshoots alone"],
)
def test_next_delay_stays_within_total_budget_when_waits_add_up(waited, retry_after, expected):
    policy = RetryPolicy(total_budget=10.0)

    assert policy.next_delay(1, waited=waited, retry_after=retry_after) == expected


@pytest.mark.parametrize(
    "fields",
    [{"max_attempts": 0}, {"base_delay": -1.0}, {"total_budget": -1.0}, {"jitter": 1.5}],
    ids=["no attempts", "negative delay", "negative budget", "jitter above one"],
)
def test_policy_refused_when_bounds_make_no_sense(fields):
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**fields)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        (" 0 ", 0.0),
        ("1.5", 1.5),
        ("Wed, 01 May 2024 08:00:30 GMT", 30.0),
        ("Wed, 01 May 2024 07:59:00 GMT", 0.0),
        ("Wed, 01 May 2024 08:00:05 -0000", 5.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-3", None),
        ("nan", None),
        ("inf", None),
    ],
    ids=[
        "seconds",
        "zero with spaces",
        "fraction",
        "http date",
        "date in the past",
        "date without zone",
        "absent",
        "empty",
        "garbage",
        "negative",
        "not a number",
        "infinite",
    ],
)
def test_retry_after_read_as_seconds_when_header_is_given(header, expected):
    assert parse_retry_after(header, now=NOW) == expected
