"""OData literals and date-times as both services write them in URLs and payloads."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime


def quote_literal(value: str) -> str:
    """Quote a string as an OData literal, doubling embedded single quotes.

    The result is one literal whatever ``value`` holds, so a value can never end the literal
    and add conditions to a filter. Pass the filter through ``params`` (httpx encodes ``&``,
    ``#`` and ``+``); never paste it into a URL by hand.

    Examples:
        >>> quote_literal("O'Brien")
        "'O''Brien'"

    Args:
        value: Any text, e.g. a customer number or a name.

    Returns:
        The quoted literal, e.g. ``'O''Brien'``.
    """
    return "'" + value.replace("'", "''") + "'"


def in_chunks(ids: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    """Split ids into consecutive chunks of at most ``size``, keeping their order.

    Fetch-by-ids filters (``id eq 'a' or id eq 'b' ...``) grow with the number of ids; chunks
    keep each URL well under the services' length limits.

    Args:
        ids: The ids to split.
        size: The largest chunk, at least 1.

    Yields:
        Slices of ``ids``; none when ``ids`` is empty.

    Raises:
        ValueError: ``size`` is below 1.
    """
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def parse_datetime(text: str) -> datetime:
    """Read an OData ``Edm.DateTimeOffset`` as an aware UTC datetime.

    Business Central writes milliseconds (``2024-05-01T08:00:00.123Z``), Dataverse whole
    seconds (``2024-05-01T08:00:00Z``); an explicit offset is converted to UTC.

    Args:
        text: The value as the service sent it.

    Returns:
        The instant in UTC.

    Raises:
        ValueError: The text is no ISO 8601 date-time, or has no offset (its zone is unknown).
    """
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        raise ValueError(f"date-time without a UTC offset: {text!r}")
    return moment.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """Write an aware datetime as a UTC literal with milliseconds, for ``$filter``.

    Examples:
        >>> format_datetime(datetime(2024, 5, 1, 8, 0, tzinfo=UTC))
        '2024-05-01T08:00:00.000Z'

    Args:
        value: An aware datetime in any zone.

    Returns:
        ``YYYY-MM-DDTHH:MM:SS.mmmZ``; microseconds are truncated to milliseconds.

    Raises:
        ValueError: ``value`` is naive.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("format_datetime needs an aware datetime")
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
