"""The planner: one changed record, its coupling and its counterpart in, one operation out (pure).

Cases, in order:

- no coupling: create the record on the other side (if the direction allows it, the source
  filter matches and the run creates missing records), else skip with the reason;
- coupling skipped after repeated failures: skip until restored;
- the changed record was deleted, or its counterpart is gone: the deletion policy decides;
- otherwise: three-way merge against the base (``merge.py``); nothing changed means unchanged,
  which is also how our own echoes end.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sync.engine.fields import (
    BC_BUSINESS_KEYS,
    UNCHANGED,
    LookupFailedError,
    LookupTable,
    dataverse_payload,
    foreign_reference,
    read_bc,
    read_dataverse,
    translate_to_bc,
    translate_to_dataverse,
)
from sync.engine.merge import merge_pair
from sync.engine.operation import Operation, OperationKind
from sync.models import (
    Coupling,
    DeletionPolicy,
    Direction,
    JsonScalar,
    Record,
    Side,
    TableMapping,
    WriteKind,
    WriteRequest,
)

_ID_NAMESPACE = uuid.UUID("9b0c1f5e-3d7a-4f0e-8a51-6c2e4b7d9a13")


def dataverse_id_for(scope: str, mapping: str, bc_id: str) -> str:
    """The Dataverse id of a BC record's row: the same on every retry, so no create duplicates."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{scope}|{mapping}|{bc_id.lower()}"))


@dataclass(frozen=True)
class PlanContext:
    """What planning one mapping needs besides the records: lookups, and whether to create."""

    scope: str
    mapping: TableMapping
    lookups: Mapping[str, LookupTable]
    create_missing: bool = False


def plan_change(
    context: PlanContext,
    *,
    source: Side,
    record: Record,
    coupling: Coupling | None,
    counterpart: Record | None,
    match: Record | None = None,
) -> Operation:
    """Plan what to do about one record seen changed on ``source``.

    Args:
        context: The mapping and its lookups.
        source: The side the change was read from.
        record: The changed record (or a deletion tombstone).
        coupling: Its coupling, if any.
        counterpart: The coupled record's current state on the other side; None when it is gone.
        match: For an uncoupled record, the other side's record that match-based coupling
            paired it with: they are coupled and merged (the changed side wins) instead of
            creating a duplicate.
    """
    if coupling is None and match is not None and not record.deleted:
        return _plan_match(context, source, record, match)
    if coupling is None:
        return _plan_uncoupled(context, source, record)
    if coupling.skipped:
        return _operation(
            context,
            OperationKind.SKIP,
            source,
            coupling,
            reason="skipped after repeated failures; restore it to sync again",
        )
    if record.deleted:
        return _plan_deleted(
            context, source, coupling, survivor=counterpart, survivor_side=source.other
        )
    if counterpart is None or counterpart.deleted:
        return _plan_deleted(context, source.other, coupling, survivor=record, survivor_side=source)
    bc, dataverse = (record, counterpart) if source is Side.BC else (counterpart, record)
    return _plan_coupled(context, source, coupling, bc, dataverse)


def _plan_coupled(
    context: PlanContext, source: Side, coupling: Coupling, bc: Record, dataverse: Record
) -> Operation:
    try:
        merged = merge_pair(
            context.mapping, coupling, bc, dataverse, source=source, lookups=context.lookups
        )
    except LookupFailedError as exc:
        failed = _operation(context, OperationKind.FAIL, source, coupling, reason=str(exc))
        return failed.model_copy(update={"error_code": exc.code})
    bc_write = None
    if merged.bc_writes:
        bc_write = WriteRequest(
            kind=WriteKind.UPDATE, record_id=bc.id, values=merged.bc_writes, version=bc.version
        )
    dataverse_write = None
    if merged.dataverse_writes:
        payload = _dataverse_values(context, merged.dataverse_writes)
        dataverse_write = WriteRequest(
            kind=WriteKind.UPDATE, record_id=dataverse.id, values=payload
        )
    kind = OperationKind.UPDATE if bc_write or dataverse_write else OperationKind.UNCHANGED
    if merged.conflicts and kind is OperationKind.UNCHANGED:
        kind = OperationKind.CONFLICT
    return Operation(
        kind=kind,
        mapping=context.mapping.name,
        source=source,
        bc_id=coupling.bc_id,
        dataverse_id=coupling.dataverse_id,
        bc_write=bc_write,
        dataverse_write=dataverse_write,
        changed_fields=tuple(merged.changed),
        conflicts=tuple(merged.conflicts),
        base_bc=merged.base_bc | _business_keys(bc),
        base_dataverse=merged.base_dataverse,
        bc_version=bc.version,
        dataverse_version=dataverse.version,
    )


def _plan_match(context: PlanContext, source: Side, record: Record, match: Record) -> Operation:
    bc, dataverse = (record, match) if source is Side.BC else (match, record)
    fresh = Coupling(
        scope=context.scope, mapping=context.mapping.name, bc_id=bc.id, dataverse_id=dataverse.id
    )
    operation = _plan_coupled(context, source, fresh, bc, dataverse)
    return operation.model_copy(update={"couples": True})


def _plan_uncoupled(context: PlanContext, source: Side, record: Record) -> Operation:
    mapping = context.mapping
    bc_id = record.id if source is Side.BC else None
    dataverse_id = None if source is Side.BC else record.id
    flow = Direction.TO_DATAVERSE if source is Side.BC else Direction.FROM_DATAVERSE
    reason = ""
    if record.deleted:
        reason = "deleted and never coupled"
    elif not mapping.direction.includes(flow):
        reason = f"mapping {mapping.name} does not sync {flow}"
    elif not context.create_missing:
        reason = "not coupled; only coupled records sync (run a full sync or couple it)"
    elif not (mapping.bc_filter if source is Side.BC else mapping.dataverse_filter).matches(
        record.values
    ):
        reason = "outside the mapping's filter"
    elif source is Side.DATAVERSE:
        reason = _foreign_target(context, record)
    if reason:
        return Operation(
            kind=OperationKind.SKIP,
            mapping=mapping.name,
            source=source,
            reason=reason,
            bc_id=bc_id,
            dataverse_id=dataverse_id,
        )
    try:
        return _create_from(context, source, record, OperationKind.CREATE)
    except LookupFailedError as exc:
        return Operation(
            kind=OperationKind.FAIL,
            error_code=exc.code,
            mapping=mapping.name,
            source=source,
            reason=str(exc),
            bc_id=bc_id,
            dataverse_id=dataverse_id,
        )


def _foreign_target(context: PlanContext, record: Record) -> str:
    """Why a Dataverse row is out of scope because a polymorphic lookup points elsewhere.

    BC's CONTACT filter takes only contacts whose parent is an account
    (``parentcustomeridtype = account``), which no Web API filter can say; rows whose parent is
    a contact are left out here, like rows outside the mapping's filter.
    """
    for field in context.mapping.fields:
        target = field.lookup.dataverse_target if field.lookup is not None else None
        if not field.enabled or target is None:
            continue
        foreign = foreign_reference(read_dataverse(field, record.values, context.lookups))
        if foreign is not None:
            return (
                f"outside the mapping's filter: its {field.dataverse_field} points at "
                f"{foreign[0]} {foreign[1]}, and mapping {context.mapping.name} takes only rows "
                f"whose {field.dataverse_field} points at the {target} table"
            )
    return ""


def _create_from(
    context: PlanContext, source: Side, record: Record, kind: OperationKind
) -> Operation:
    """Create the counterpart of ``record`` on the other side with every field that flows there."""
    mapping = context.mapping
    flow = Direction.TO_DATAVERSE if source is Side.BC else Direction.FROM_DATAVERSE
    base_bc: dict[str, JsonScalar] = {}
    base_dataverse: dict[str, JsonScalar] = {}
    for field in mapping.enabled_fields(flow):
        if source is Side.BC:
            value = read_bc(field, record.values)
            wanted = translate_to_dataverse(field, value, context.lookups)
        else:
            value = read_dataverse(field, record.values, context.lookups)
            wanted = translate_to_bc(field, value, context.lookups)
        if wanted is UNCHANGED:
            continue
        bc_value, dataverse_value = (value, wanted) if source is Side.BC else (wanted, value)
        if field.bc_field is not None:
            base_bc[field.bc_field] = bc_value  # type: ignore[assignment]
        if field.dataverse_field is not None:
            base_dataverse[field.dataverse_field] = dataverse_value  # type: ignore[assignment]
    if source is Side.BC:
        base_bc |= _business_keys(record)
        new_id = dataverse_id_for(context.scope, mapping.name, record.id)
        values = mapping.dataverse_defaults | _dataverse_values(context, base_dataverse)
        write = WriteRequest(kind=WriteKind.CREATE, record_id=new_id, values=values)
        return Operation(
            kind=kind,
            mapping=mapping.name,
            source=source,
            bc_id=record.id,
            dataverse_id=new_id,
            dataverse_write=write,
            base_bc=base_bc,
            base_dataverse=_left_empty(mapping) | base_dataverse,
            bc_version=record.version,
        )
    values = mapping.bc_defaults | {k: v for k, v in base_bc.items() if _bc_writable(mapping, k)}
    return Operation(
        kind=kind,
        mapping=mapping.name,
        source=source,
        dataverse_id=record.id,
        bc_write=WriteRequest(kind=WriteKind.CREATE, values=values),
        base_bc=base_bc,
        base_dataverse=base_dataverse,
        dataverse_version=record.version,
    )


def _left_empty(mapping: TableMapping) -> dict[str, JsonScalar]:
    """The base of the columns a new Dataverse row gets nothing for: empty.

    A column that only flows into BC (a contact's ``fullname``, which Dataverse composes from
    name parts the mapping does not write) is empty on the new row; taking that as its base
    keeps the first read of the row from carrying the emptiness back over the BC value.
    """
    return {
        field.dataverse_field: None
        for field in mapping.fields
        if field.enabled
        and field.dataverse_field is not None
        and field.bc_field is not None
        and not (
            field.direction.includes(Direction.TO_DATAVERSE)
            and mapping.direction.includes(Direction.TO_DATAVERSE)
        )
    }


def _plan_deleted(
    context: PlanContext,
    deleted_side: Side,
    coupling: Coupling,
    *,
    survivor: Record | None,
    survivor_side: Side,
) -> Operation:
    policy = context.mapping.deletion_policy
    gone = f"the coupled {deleted_side} record was deleted"
    if survivor is None or survivor.deleted:
        # Nothing is left on either side: the coupling has nothing to link any more.
        both = "both records of the pair were deleted"
        return _operation(context, OperationKind.UNCOUPLE, deleted_side, coupling, reason=both)
    if policy is DeletionPolicy.REMOVE_COUPLING:
        return _operation(context, OperationKind.UNCOUPLE, deleted_side, coupling, reason=gone)
    if policy is DeletionPolicy.PROPAGATE:
        delete = WriteRequest(
            kind=WriteKind.DELETE, record_id=survivor.id, version=survivor.version
        )
        on_bc = survivor_side is Side.BC
        return _operation(
            context,
            OperationKind.DELETE,
            deleted_side,
            coupling,
            reason=gone,
            bc_write=delete if on_bc else None,
            dataverse_write=None if on_bc else delete,
        )
    if policy is DeletionPolicy.RESTORE:
        try:
            restored = _create_from(context, survivor_side, survivor, OperationKind.RESTORE)
        except LookupFailedError as exc:
            failed = _operation(
                context, OperationKind.FAIL, deleted_side, coupling, reason=str(exc)
            )
            return failed.model_copy(update={"error_code": exc.code})
        # Keep the old BC id on the step so the old coupling is found and replaced; the new
        # id comes from the write's outcome.
        return restored.model_copy(
            update={"bc_id": restored.bc_id or coupling.bc_id, "reason": gone}
        )
    # BC reports this as an error ("coupled to a deleted record"); so do we: it fails the pair,
    # which is skipped after repeated failures until an admin decides.
    failed = _operation(
        context,
        OperationKind.FAIL,
        deleted_side,
        coupling,
        reason=(
            f"{gone}; the deletion policy ({policy}) leaves the pair as it is: delete the other "
            "record, uncouple, or set the mapping's deletion policy"
        ),
    )
    return failed.model_copy(update={"error_code": "CoupledRecordDeleted"})


def _operation(
    context: PlanContext,
    kind: OperationKind,
    source: Side,
    coupling: Coupling,
    *,
    reason: str,
    bc_write: WriteRequest | None = None,
    dataverse_write: WriteRequest | None = None,
) -> Operation:
    return Operation(
        kind=kind,
        mapping=context.mapping.name,
        source=source,
        bc_id=coupling.bc_id,
        dataverse_id=coupling.dataverse_id,
        bc_write=bc_write,
        dataverse_write=dataverse_write,
        reason=reason,
        base_bc=dict(coupling.base_bc),
        base_dataverse=dict(coupling.base_dataverse),
    )


def _dataverse_values(
    context: PlanContext, canonical: Mapping[str, JsonScalar]
) -> dict[str, JsonScalar]:
    by_column = {f.dataverse_field: f for f in context.mapping.fields if f.dataverse_field}
    payload: dict[str, JsonScalar] = {}
    for column, value in canonical.items():
        key, wire_value = dataverse_payload(by_column[column], value, context.lookups)
        payload[key] = wire_value
    return payload


def _business_keys(bc: Record) -> dict[str, JsonScalar]:
    return {key: bc.values[key] for key in BC_BUSINESS_KEYS if bc.values.get(key)}


def _bc_writable(mapping: TableMapping, field_name: str) -> bool:
    return any(
        f.bc_field == field_name and f.direction.includes(Direction.FROM_DATAVERSE)
        for f in mapping.fields
    )
