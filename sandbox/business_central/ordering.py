"""Sort keys for `$orderby` and for the keyset paging that backs `@odata.nextLink`.

Every ordering ends with the record id, so two rows never tie and a page boundary is one exact
point in the order: the next page starts right after the last row sent, whatever happened to the
table in between.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

SortKey = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class OrderTerm:
    """One `$orderby` term, such as `displayName desc`."""

    field: str
    descending: bool = False


class _Descending:
    """Wraps a sortable value so that it sorts in reverse, inside an otherwise ascending tuple."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:  # noqa: ANN401 - any sortable scalar
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)


def _sortable(value: Any) -> Any:  # noqa: ANN401 - any JSON scalar
    # SQL Server collations in BC compare text case-insensitively; None never occurs in BC data
    # but must not break comparisons if a caller sends it.
    if isinstance(value, str):
        return value.casefold()
    if value is None:
        return ""
    return value


def sort_key(values: Mapping[str, Any], terms: Sequence[OrderTerm], record_id: str) -> SortKey:
    """Build the total-order key of one row for the given `$orderby` terms.

    Args:
        values: the row's field values.
        terms: the `$orderby` terms; may be empty.
        record_id: the row's id, the final tie-breaker.

    Returns:
        A tuple that compares like the requested order.
    """
    parts: list[Any] = []
    for term in terms:
        value = _sortable(values.get(term.field))
        parts.append(_Descending(value) if term.descending else value)
    parts.append(record_id)
    return tuple(parts)


class SortedIndex:
    """A list of sort keys kept in order, for the primary key of one table.

    Inserts and removals are a binary search and a memmove, cheap at 100k rows, so the default
    order never needs a full re-sort.
    """

    def __init__(self, keys: Iterable[SortKey] = ()) -> None:
        """Build the index from keys in any order."""
        self.keys: list[SortKey] = sorted(keys)

    def add(self, key: SortKey) -> None:
        """Insert one key at its place."""
        insort(self.keys, key)

    def discard(self, key: SortKey) -> None:
        """Remove one key if present."""
        position = bisect_left(self.keys, key)
        if position < len(self.keys) and self.keys[position] == key:
            del self.keys[position]
