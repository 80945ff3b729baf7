"""Match-based coupling: pair an uncoupled record with the one uncoupled record that matches it.

Field mappings flagged ``match`` form criteria groups by priority (0 first, as in BC). A source
record is paired with a target record only when exactly one uncoupled target has equal values
in a group (text compared without case unless the field says otherwise); ambiguity couples
nothing, so a full sync then creates rather than guessing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from sync.engine.coupling_index import CouplingIndex
from sync.engine.fields import (
    LookupTable,
    read_bc,
    read_dataverse,
    translate_to_dataverse,
)
from sync.models import FieldMapping, JsonScalar, Record, Side, TableMapping
from sync.ports import SideGateway

Key = tuple[object, ...]


class Matcher:
    """The uncoupled records of the target side, indexed by each criteria group."""

    def __init__(
        self, mapping: TableMapping, target: Side, lookups: Mapping[str, LookupTable]
    ) -> None:
        self._groups = _criteria_groups(mapping)
        self._target = target
        self._lookups = lookups
        self._index: list[dict[Key, list[Record]]] = [defaultdict(list) for _ in self._groups]
        self._taken: set[str] = set()

    @classmethod
    async def load(
        cls,
        mapping: TableMapping,
        *,
        target: Side,
        gateway: SideGateway,
        couplings: CouplingIndex,
        lookups: Mapping[str, LookupTable],
    ) -> Matcher | None:
        """Index the target side's uncoupled records; None when the mapping has no match fields."""
        matcher = cls(mapping, target, lookups)
        if not matcher._groups:
            return None
        async for page in gateway.read_changes(mapping, since=None, delta_token=None):
            for record in page.records:
                if not record.deleted and couplings.find(target, record.id) is None:
                    matcher._add(record)
        return matcher

    def take(self, source: Record) -> Record | None:
        """The unique uncoupled target matching ``source``, removed from the index; else None."""
        for group, index in zip(self._groups, self._index, strict=True):
            key = self._key(group, source, self._target.other)
            if key is None:
                continue
            candidates = [r for r in index.get(key, []) if r.id not in self._taken]
            if len(candidates) == 1:
                self._taken.add(candidates[0].id)
                return candidates[0]
            if len(candidates) > 1:
                return None
        return None

    def _add(self, record: Record) -> None:
        for group, index in zip(self._groups, self._index, strict=True):
            key = self._key(group, record, self._target)
            if key is not None:
                index[key].append(record)

    def _key(self, group: tuple[FieldMapping, ...], record: Record, side: Side) -> Key | None:
        values = []
        for field in group:
            if side is Side.BC:
                value = translate_to_dataverse(field, read_bc(field, record.values), self._lookups)
            else:
                value = read_dataverse(field, record.values, self._lookups)
            if value in (None, ""):
                return None
            values.append(_normalized(value, field))  # type: ignore[arg-type]
        return tuple(values)


def _criteria_groups(mapping: TableMapping) -> list[tuple[FieldMapping, ...]]:
    groups: dict[int, list[FieldMapping]] = defaultdict(list)
    for field in mapping.fields:
        if field.enabled and field.match is not None:
            groups[field.match.priority].append(field)
    return [tuple(groups[priority]) for priority in sorted(groups)]


def _normalized(value: JsonScalar, field: FieldMapping) -> object:
    if isinstance(value, str):
        text = value.strip()
        case_sensitive = field.match is not None and field.match.case_sensitive
        return text if case_sensitive else text.casefold()
    return value
