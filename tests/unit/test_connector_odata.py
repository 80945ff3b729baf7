from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.odata_filter import parse_filter
from sync.connectors.odata import format_datetime, in_chunks, parse_datetime, quote_literal


@pytest.mark.parametrize(
    ("value", "expected"),
    [("O'Brien", "'O''Brien'"), ("", "''"), ("'", "''''"), ("plain", "'plain'")],
    ids=["embedded quote", "empty", "only a quote", "plain"],
)
def test_literal_quoted_with_doubled_quotes_when_value_has_quotes(value, expected):
    assert quote_literal(value) == expected


@given(st.text())
def test_quoted_value_never_widens_filter_when_it_holds_odata_syntax(value):
    expression = parse_filter(f"number eq {quote_literal(value)} and blocked eq false")

    assert expression.fields() == {"number", "blocked"}
    assert expression.matches({"number": value, "blocked": False})
    assert not expression.matches({"number": value + "x", "blocked": False})
    assert not expression.matches({"number": value, "blocked": True})


@pytest.mark.parametrize(
    "value",
    ["x' or 1 eq 1 or number eq 'y", "' or true or '", "x') or (true"],
    ids=["or clause", "bare true", "parenthesis"],
)
def test_injection_attempt_matches_only_itself_when_quoted(value):
    expression = parse_filter(f"number eq {quote_literal(value)}")

    assert not expression.matches({"number": "C00010"})
    assert expression.matches({"number": value})


@pytest.mark.parametrize(
    ("ids", "size", "expected"),
    [
        (["a", "b", "c", "d", "e"], 2, [["a", "b"], ["c", "d"], ["e"]]),
        (["a", "b"], 5, [["a", "b"]]),
        ([], 3, []),
    ],
    ids=["uneven", "one chunk", "no ids"],
)
def test_ids_split_in_order_when_chunked(ids, size, expected):
    assert [list(chunk) for chunk in in_chunks(ids, size)] == expected


def test_chunking_refused_when_size_is_zero():
    with pytest.raises(ValueError, match="at least 1"):
        list(in_chunks(["a"], 0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T08:00:00.123Z", datetime(2024, 5, 1, 8, 0, 0, 123000, tzinfo=UTC)),
        ("2024-05-01T08:00:00Z", datetime(2024, 5, 1, 8, 0, tzinfo=UTC)),
        ("2024-05-01T10:00:00+02:00", datetime(2024, 5, 1, 8, 0, tzinfo=UTC)),
        ("2024-05-01T08:00:00.1234567Z", datetime(2024, 5, 1, 8, 0, 0, 123456, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
    ],
    ids=["bc milliseconds", "dataverse seconds", "offset", "seven digits", "bc blank date"],
)
def test_datetime_read_as_aware_utc_when_service_writes_it(text, expected):
    parsed = parse_datetime(text)

    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text", ["2024-05-01T08:00:00", "yesterday", ""], ids=["naive", "word", "empty"]
)
def test_datetime_refused_when_text_has_no_zone_or_is_no_date(text):
    with pytest.raises(ValueError):  # noqa: PT011 - fromisoformat's messages vary
        parse_datetime(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2024, 5, 1, 8, 0, tzinfo=UTC), "2024-05-01T08:00:00.000Z"),
        (datetime(2024, 5, 1, 8, 0, 0, 123999, tzinfo=UTC), "2024-05-01T08:00:00.123Z"),
        (
            datetime(2024, 5, 1, 10, 0, tzinfo=timezone(timedelta(hours=2))),
            "2024-05-01T08:00:00.000Z",
        ),
    ],
    ids=["whole second", "microseconds truncated", "other zone"],
)
def test_datetime_written_as_utc_milliseconds_when_formatted(value, expected):
    assert format_datetime(value) == expected


def test_formatting_refused_when_datetime_is_naive():
    with pytest.raises(ValueError, match="aware"):
        format_datetime(datetime(2024, 5, 1, 8, 0))  # noqa: DTZ001 - the case under test


def test_datetime_survives_round_trip_when_formatted_then_parsed():
    moment = datetime(2024, 5, 1, 8, 0, 0, 123000, tzinfo=UTC)

    assert parse_datetime(format_datetime(moment)) == moment
