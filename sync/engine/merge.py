"""Three-way merge of one coupled pair, field by field, against the coupling's base (pure).

For each enabled field mapping: a side *changed* when its value differs from the base (the
value last synced). A change on one side flows to the other if the field and the table allow
that direction; a field changed on both sides to values that translate to each other is not a
conflict; otherwise the mapping's conflict policy decides, and ``none`` leaves the field as it is
on both sides and reports it. Fields that did not change are never written: an echo of our own
write compares equal to the base and produces nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sync.engine.fields import (
    UNCHANGED,
    LookupTable,
    read_bc,
    read_dataverse,
    same_value,
    translate_to_bc,
    translate_to_dataverse,
)
from sync.models import (
    ConflictPolicy,
    Coupling,
    Direction,
    FieldMapping,
    JsonScalar,
    Record,
    Side,
    TableMapping,
)


@dataclass
class MergeResult:
    """What the merge decided: values to write per side, the next base, and the conflicts."""

    bc_writes: dict[str, JsonScalar] = field(default_factory=dict)
    dataverse_writes: dict[str, JsonScalar] = field(default_factory=dict)
    base_bc: dict[str, JsonScalar] = field(default_factory=dict)
    base_dataverse: dict[str, JsonScalar] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Pair:
    mapping: TableMapping
    coupling: Coupling
    bc: Record
    dataverse: Record
    source: Side
    lookups: Mapping[str, LookupTable]


def merge_pair(
    mapping: TableMapping,
    coupling: Coupling,
    bc: Record,
    dataverse: Record,
    *,
    source: Side,
    lookups: Mapping[str, LookupTable],
) -> MergeResult:
    """Merge the current BC and Dataverse records of a pair against the coupling's base.

    ``source`` is the side whose change brought the pair into this run; a field missing from the
    base (a freshly coupled pair) counts as changed on that side only.

    Raises:
        LookupFailedError: A lookup that must fail the record could not be translated.
    """
    pair = _Pair(mapping, coupling, bc, dataverse, source, lookups)
    result = MergeResult(
        base_bc=dict(coupling.base_bc), base_dataverse=dict(coupling.base_dataverse)
    )
    for field_mapping in mapping.fields:
        if field_mapping.enabled:
            _merge_field(pair, field_mapping, result)
    return result


def _merge_field(pair: _Pair, mapping: FieldMapping, result: MergeResult) -> None:
    bc_now = read_bc(mapping, pair.bc.values)
    dataverse_now = read_dataverse(mapping, pair.dataverse.values, pair.lookups)
    to_dataverse = _flows(pair.mapping, mapping, Direction.TO_DATAVERSE)
    to_bc = _flows(pair.mapping, mapping, Direction.FROM_DATAVERSE)
    bc_changed = _changed(mapping.bc_field, bc_now, pair.coupling.base_bc, pair.source is Side.BC)
    dataverse_changed = _changed(
        mapping.dataverse_field,
        dataverse_now,
        pair.coupling.base_dataverse,
        pair.source is Side.DATAVERSE,
    )
    push = to_dataverse and bc_changed
    pull = to_bc and dataverse_changed
    if push and pull:
        push, pull = _resolve(pair, mapping, bc_now, dataverse_now, result)
        if not (push or pull):
            return
    if push or pull:
        to = Side.DATAVERSE if push else Side.BC
        _flow(pair, mapping, bc_now, dataverse_now, to=to, result=result)
    else:
        _remember(mapping, bc_now, dataverse_now, result)


def _resolve(
    pair: _Pair,
    mapping: FieldMapping,
    bc_now: JsonScalar,
    dataverse_now: JsonScalar,
    result: MergeResult,
) -> tuple[bool, bool]:
    """Both sides changed: decide (push, pull); (False, False) when settled here."""
    wanted = translate_to_dataverse(mapping, bc_now, pair.lookups)
    if wanted is UNCHANGED or same_value(wanted, dataverse_now):
        _remember(mapping, bc_now, dataverse_now, result)
        return False, False
    policy = pair.mapping.conflict_policy
    if policy is ConflictPolicy.LATEST_WINS:
        policy = _latest(pair.bc.modified_at, pair.dataverse.modified_at)
    if policy is ConflictPolicy.BC_WINS:
        return True, False
    if policy is ConflictPolicy.DATAVERSE_WINS:
        return False, True
    result.conflicts.append(mapping.label)
    return False, False


def _latest(bc_at: datetime | None, dataverse_at: datetime | None) -> ConflictPolicy:
    if bc_at is not None and (dataverse_at is None or bc_at >= dataverse_at):
        return ConflictPolicy.BC_WINS
    return ConflictPolicy.DATAVERSE_WINS


def _flow(
    pair: _Pair,
    mapping: FieldMapping,
    bc_now: JsonScalar,
    dataverse_now: JsonScalar,
    *,
    to: Side,
    result: MergeResult,
) -> None:
    """Carry one field to side ``to``: translated, written only if it differs, then remembered."""
    if to is Side.DATAVERSE:
        wanted = translate_to_dataverse(mapping, bc_now, pair.lookups)
        current, destination, writes = (
            dataverse_now,
            mapping.dataverse_field,
            result.dataverse_writes,
        )
    else:
        wanted = translate_to_bc(mapping, dataverse_now, pair.lookups)
        current, destination, writes = bc_now, mapping.bc_field, result.bc_writes
    if wanted is UNCHANGED:
        return
    value: JsonScalar = wanted  # type: ignore[assignment]
    if not same_value(value, current) and destination is not None:
        writes[destination] = value
        result.changed.append(mapping.label)
    if to is Side.DATAVERSE:
        _remember(mapping, bc_now, value, result)
    else:
        _remember(mapping, value, dataverse_now, result)


def _remember(
    mapping: FieldMapping, bc_value: JsonScalar, dataverse_value: JsonScalar, result: MergeResult
) -> None:
    if mapping.bc_field is not None:
        result.base_bc[mapping.bc_field] = bc_value
    if mapping.dataverse_field is not None:
        result.base_dataverse[mapping.dataverse_field] = dataverse_value


def _flows(table: TableMapping, mapping: FieldMapping, flow: Direction) -> bool:
    destination = mapping.dataverse_field if flow is Direction.TO_DATAVERSE else mapping.bc_field
    return (
        destination is not None
        and table.direction.includes(flow)
        and mapping.direction.includes(flow)
    )


def _changed(
    key: str | None, value: JsonScalar, base: Mapping[str, JsonScalar], is_source: bool
) -> bool:
    if key is None:
        # A constant: "changed" whenever the destination does not hold it yet.
        return True
    if key not in base:
        return is_source
    return not same_value(base[key], value)
