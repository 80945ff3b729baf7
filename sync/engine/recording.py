"""Turn an applied operation and its write outcomes into couplings, counters and errors (pure)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sync.engine.fields import BC_BUSINESS_KEYS
from sync.engine.operation import SETTLED, Operation, OperationKind
from sync.models import (
    Coupling,
    ErrorClass,
    RecordError,
    RunCounters,
    Side,
    SyncResult,
    TableMapping,
    WriteOutcome,
)

_COUNTER_OF_KIND = {
    OperationKind.CREATE: "inserted",
    OperationKind.RESTORE: "inserted",
    OperationKind.UPDATE: "modified",
    OperationKind.UNCHANGED: "unchanged",
    OperationKind.SKIP: "skipped",
    OperationKind.CONFLICT: "conflicts",
    OperationKind.DELETE: "deleted",
    OperationKind.UNCOUPLE: "uncoupled",
    OperationKind.FAIL: "failed",
}


@dataclass
class Recorded:
    """What applying a page of operations leaves to save."""

    put: list[Coupling] = field(default_factory=list)
    removed: list[Coupling] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    transient_failures: list[Operation] = field(default_factory=list)
    # Plain counts while a page is recorded: a model per record would cost more than the rest.
    tally: Counter[str] = field(default_factory=Counter)

    @property
    def counters(self) -> RunCounters:
        """The page's counters."""
        return RunCounters(**self.tally)


@dataclass(frozen=True)
class RecordingContext:
    """Run-wide facts the recording needs."""

    scope: str
    run_id: str
    now: datetime
    failures_before_skip: int
    bc_fields: frozenset[str] = frozenset()


def bc_base_fields(mapping: TableMapping) -> frozenset[str]:
    """The BC fields a coupling's base keeps: the mapped ones and the business keys."""
    mapped = {f.bc_field for f in mapping.fields if f.bc_field is not None}
    return frozenset(mapped | set(BC_BUSINESS_KEYS))


def record_operation(
    context: RecordingContext,
    operation: Operation,
    existing: Coupling | None,
    outcomes: dict[Side, WriteOutcome],
    into: Recorded,
) -> None:
    """Add the effect of one operation (whose writes got ``outcomes``) to ``into``."""
    failed_side = next((side for side, outcome in outcomes.items() if not outcome.ok), None)
    if failed_side is not None or operation.kind is OperationKind.FAIL:
        failure = outcomes[failed_side] if failed_side is not None else None
        side = failed_side or operation.source
        _record_failure(context, operation, existing, side=side, failure=failure, into=into)
        return
    counter = _COUNTER_OF_KIND[operation.kind]
    into.tally[counter] += 1
    if operation.kind is OperationKind.UNCHANGED and operation.reason == SETTLED:
        return  # the common case of a full sync's second pass: nothing to remember
    if operation.kind is OperationKind.CONFLICT or operation.conflicts:
        if counter != "conflicts":  # a merged update with a field left in conflict
            into.tally["conflicts"] += 1
        into.errors.append(_conflict_error(context, operation))
    if operation.couples or operation.kind in (OperationKind.CREATE, OperationKind.RESTORE):
        into.tally["coupled"] += 1
    if operation.kind is OperationKind.UNCOUPLE or (
        operation.kind is OperationKind.DELETE and existing is not None
    ):
        if existing is not None:
            into.removed.append(existing)
        return
    if operation.kind is OperationKind.SKIP:
        return
    after = _coupling_after(context, operation, existing, outcomes)
    if existing is not None and (existing.bc_id, existing.dataverse_id) != (
        after.bc_id,
        after.dataverse_id,
    ):
        # A restored record has a new id: the old pairing must go, or two couplings would
        # claim the surviving record.
        into.removed.append(existing)
    elif existing is not None and _same_state(existing, after):
        return  # nothing new to remember: no store write for an unchanged pair
    into.put.append(after)


def _same_state(before: Coupling, after: Coupling) -> bool:
    return after.model_copy(update={"last_synced_at": before.last_synced_at}) == before


def _coupling_after(
    context: RecordingContext,
    operation: Operation,
    existing: Coupling | None,
    outcomes: dict[Side, WriteOutcome],
) -> Coupling:
    bc_outcome, dataverse_outcome = outcomes.get(Side.BC), outcomes.get(Side.DATAVERSE)
    bc_id = (bc_outcome.record_id if bc_outcome else None) or operation.bc_id
    dataverse_id = (
        dataverse_outcome.record_id if dataverse_outcome else None
    ) or operation.dataverse_id
    if bc_id is None or dataverse_id is None:
        raise ValueError(
            f"{operation.mapping}: a coupling needs both ids; got {bc_id}, {dataverse_id}"
        )
    base_bc = dict(operation.base_bc)
    if bc_outcome is not None and bc_outcome.values:
        # What BC stored (codes upper-cased, defaults filled) is the base, not what was sent.
        stored = bc_outcome.values
        base_bc |= {key: stored[key] for key in context.bc_fields if key in stored}
    update = {
        "base_bc": base_bc,
        "base_dataverse": operation.base_dataverse,
        "last_result": SyncResult.SUCCESS,
        "last_synced_at": context.now,
        "failure_count": 0,
        "skipped": False,
        "last_error": None,
    }
    # The version each side has now: what the write returned, else what was read.
    update["bc_version"] = bc_outcome.version if bc_outcome else operation.bc_version
    update["dataverse_version"] = (
        dataverse_outcome.version if dataverse_outcome else operation.dataverse_version
    )
    if bc_outcome is not None:
        update["bc_modified_at"] = bc_outcome.modified_at
    if dataverse_outcome is not None:
        update["dataverse_modified_at"] = dataverse_outcome.modified_at
    base = existing or Coupling(
        scope=context.scope, mapping=operation.mapping, bc_id=bc_id, dataverse_id=dataverse_id
    )
    return base.model_copy(update={"bc_id": bc_id, "dataverse_id": dataverse_id, **update})


def _record_failure(
    context: RecordingContext,
    operation: Operation,
    existing: Coupling | None,
    *,
    side: Side,
    failure: WriteOutcome | None,
    into: Recorded,
) -> None:
    error_class = failure.error_class if failure is not None else ErrorClass.PERMANENT
    assert error_class is not None  # noqa: S101 - a failed outcome carries its class
    message = (failure.error_message if failure is not None else operation.reason) or "failed"
    into.tally["failed"] += 1
    attempt = (existing.failure_count + 1) if existing is not None else 1
    into.errors.append(
        RecordError(
            run_id=context.run_id,
            mapping=operation.mapping,
            side=side,
            record_id=_record_id(operation, side),
            error_class=error_class,
            code=failure.error_code if failure is not None else operation.error_code or "Failed",
            message=message,
            attempt=attempt,
            occurred_at=context.now,
        )
    )
    if error_class is ErrorClass.TRANSIENT:
        into.transient_failures.append(operation)
    elif existing is not None:
        into.put.append(
            existing.failed(message, skip_after=context.failures_before_skip, at=context.now)
        )


def _record_id(operation: Operation, side: Side) -> str:
    # A failed create has no id on the side it was written to: name the source record instead.
    preferred = operation.bc_id if side is Side.BC else operation.dataverse_id
    return preferred or operation.bc_id or operation.dataverse_id or "(unknown)"


def _conflict_error(context: RecordingContext, operation: Operation) -> RecordError:
    # A conflict left by policy "none" is not a failure of the pair, but it must be visible.
    return RecordError(
        run_id=context.run_id,
        mapping=operation.mapping,
        side=operation.source,
        record_id=_record_id(operation, operation.source),
        error_class=ErrorClass.PERMANENT,
        code="Conflict",
        message=(
            f"changed differently on both sides, left as they are: {', '.join(operation.conflicts)}"
            "; edit one side to match, or set the mapping's conflict policy"
        ),
        occurred_at=context.now,
    )
