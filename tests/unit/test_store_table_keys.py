"""Key escaping, long texts, entity size and error translation for Azure Table Storage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.data.tables import EdmType, EntityProperty

from sync.errors import ConcurrencyError, StoreError
from sync.store.table_entity import (
    azure_errors,
    check_entity_size,
    int_value,
    put_text,
    read_datetime,
    read_int,
    read_text,
)
from sync.store.table_keys import escape_key, join_key, unescape_key

FORBIDDEN_IN_KEYS = set("/\\#?") | {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]}


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        "a/b\\c#d?e",
        "pipe|and~tilde",
        "~7C looks escaped",
        "tab\tnew\nline\x00\x7f\x9f",
        "ünïcødé 客户 😀 'quotes' %2F",
        "".join(chr(c) for c in range(0xA0)),
    ],
    ids=["plain", "forbidden", "separator", "escape-lookalike", "controls", "unicode", "ascii"],
)
def test_key_round_trips_without_forbidden_characters_when_escaped(text: str) -> None:
    key = escape_key(text)

    assert unescape_key(key) == text
    assert not FORBIDDEN_IN_KEYS & set(key)
    assert "|" not in key


def test_joined_keys_differ_when_separator_moves_between_parts() -> None:
    assert join_key("a|b", "c") != join_key("a", "b|c")
    assert join_key("a|b", "c").split("|") == [escape_key("a|b"), "c"]


@pytest.mark.parametrize(
    "text",
    ["", "short", "a" * 32_000, "a" * 32_001, "ü" * 50_000, "😀" * 40_000, "x" * 100_000],
    ids=["empty", "short", "one-ascii-part", "two-ascii-parts", "umlauts", "emoji", "long"],
)
def test_text_round_trips_in_parts_under_64_kib_when_long(text: str) -> None:
    entity: dict[str, object] = {}

    put_text(entity, "Message", text)

    assert read_text(entity, "Message") == text
    assert all(len(str(part).encode("utf-16-le")) <= 64 * 1024 for part in entity.values())


def test_text_reads_none_when_never_stored() -> None:
    entity: dict[str, object] = {}
    put_text(entity, "Message", None)

    assert entity == {}
    assert read_text(entity, "Message") is None


def test_int_wrapped_as_int64_when_beyond_int32() -> None:
    small, large = int_value(2**31 - 1), int_value(2**31)

    assert small == 2**31 - 1
    assert isinstance(large, EntityProperty)
    assert large.edm_type is EdmType.INT64
    assert read_int({"n": large}, "n") == 2**31
    assert read_int({}, "n", default=7) == 7


def test_datetime_read_as_utc_when_stored_with_another_offset() -> None:
    stored = datetime(2024, 5, 1, 10, 0, tzinfo=timezone(timedelta(hours=2)))

    read = read_datetime({"At": stored}, "At")

    assert read == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert read is not None
    assert read.tzinfo is UTC


def test_store_error_when_entity_exceeds_one_mib() -> None:
    entity: dict[str, object] = {"PartitionKey": "p", "RowKey": "r"}
    put_text(entity, "Json", "x" * 600_000)

    with pytest.raises(StoreError, match="1 MiB"):
        check_entity_size(entity, "the mapping set")


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ResourceModifiedError("412 precondition failed"), ConcurrencyError),
        (ResourceNotFoundError("404"), StoreError),
        (HttpResponseError("500 server busy"), StoreError),
        (ServiceRequestError("connection refused"), StoreError),
    ],
    ids=["etag-mismatch", "not-found", "server-error", "unreachable"],
)
def test_azure_error_translated_when_raised_inside_boundary(
    raised: Exception, expected: type[StoreError]
) -> None:
    with pytest.raises(expected, match="save watermark") as caught, azure_errors("save watermark"):
        raise raised

    assert caught.value.__cause__ is raised
