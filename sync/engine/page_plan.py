"""Plan one page of changes: find couplings, read the partners of coupled records, plan each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sync.cooperative import in_slices
from sync.engine.coupling_index import CouplingIndex
from sync.engine.fields import read_bc, read_dataverse, same_value
from sync.engine.matching import Matcher
from sync.engine.operation import SETTLED, Operation, OperationKind
from sync.engine.planner import PlanContext, plan_change
from sync.models import Coupling, Record, Side, SyncResult
from sync.ports import SideGateway

Seen = dict[tuple[Side, str], str | None]
"""Versions of records a run already read, by side and lower-case id."""


async def plan_page(
    context: PlanContext,
    side: Side,
    records: Sequence[Record],
    *,
    sides: Mapping[Side, SideGateway],
    index: CouplingIndex,
    matcher: Matcher | None = None,
    seen: Seen | None = None,
    synced_since: datetime | None = None,
    full: bool = False,
) -> list[Operation]:
    """One operation per record worth planning, reading each coupled partner once.

    A record whose version equals its coupling's (re-read through the overlap window, or a
    redelivered work item) is unchanged without reading its partner; so is one still equal to
    the base of a pair this run synced (at or after ``synced_since``), our own echo. A pair
    synced before is merged with its partner, so a partner deleted since is noticed; a full
    sync (``full``) checks every pair synced before it that way, also when its version is known,
    because BC reports no deletions otherwise. A record
    this run already
    read, unchanged, as the partner of the other side's change was merged then and is left out.
    """
    seen = {} if seen is None else seen
    records = [r for r in records if r.version is None or seen.get(_key(side, r.id)) != r.version]
    couplings: dict[str, Coupling | None] = {}
    known: list[Record] = []
    pending: list[Record] = []
    async for chunk in in_slices(records):  # one pass: comparing models with "in" is quadratic
        for record in chunk:
            coupling = couplings[record.id] = index.find(side, record.id)
            in_run = _synced_in_run(coupling, synced_since)
            same_version = _already_synced(record, coupling, side) and (in_run or not full)
            settled = same_version or (in_run and _matches_base(context, record, coupling, side))
            (known if settled else pending).append(record)
    partner_ids = [_partner_id(c, side) for r in pending if (c := couplings[r.id]) is not None]
    partners: dict[str, Record] = {}
    if partner_ids:
        async for partner in sides[side.other].read_by_ids(context.mapping, partner_ids):
            partners[partner.id.lower()] = partner
            seen[_key(side.other, partner.id)] = partner.version
    operations = [_unchanged(context, side, couplings[r.id]) for r in known]
    async for chunk in in_slices(pending):
        for record in chunk:
            coupling = couplings[record.id]
            found = partners.get(_partner_id(coupling, side).lower()) if coupling else None
            match = None
            if coupling is None and matcher is not None and not record.deleted:
                match = matcher.take(record)
            operations.append(
                plan_change(
                    context,
                    source=side,
                    record=record,
                    coupling=coupling,
                    counterpart=found,
                    match=match,
                )
            )
    return operations


def _key(side: Side, record_id: str) -> tuple[Side, str]:
    return side, record_id.lower()


def _partner_id(coupling: Coupling, side: Side) -> str:
    return coupling.dataverse_id if side is Side.BC else coupling.bc_id


def _already_synced(record: Record, coupling: Coupling | None, side: Side) -> bool:
    # The same version as last synced: read again, but nothing changed since.
    if coupling is None or record.version is None or record.deleted:
        return False
    stored = coupling.bc_version if side is Side.BC else coupling.dataverse_version
    return stored == record.version


def _synced_in_run(coupling: Coupling | None, since: datetime | None) -> bool:
    synced = coupling.last_synced_at if coupling is not None else None
    return since is not None and synced is not None and synced >= since


def _matches_base(
    context: PlanContext, record: Record, coupling: Coupling | None, side: Side
) -> bool:
    # Nothing on this side differs from what was last synced (our own echo, or an edit of
    # unmapped fields): there is nothing to carry across, so the partner need not be read.
    # A change on the partner's side is planned when that side's change is read.
    if coupling is None or record.deleted:
        return False
    base = coupling.base_bc if side is Side.BC else coupling.base_dataverse
    for field in context.mapping.fields:
        name = field.bc_field if side is Side.BC else field.dataverse_field
        if not field.enabled or name is None:
            continue
        if side is Side.BC:
            value = read_bc(field, record.values)
        else:
            value = read_dataverse(field, record.values, context.lookups)
        if name not in base or not same_value(base[name], value):
            return False
    return True


def _unchanged(context: PlanContext, side: Side, coupling: Coupling | None) -> Operation:
    assert coupling is not None  # noqa: S101 - only coupled records are already synced
    # The coupling keeps the versions it has: an echo of this run's own write would otherwise
    # rewrite every coupling a full sync created (100,000 store writes for 100,000 records),
    # only to spare a comparison with the base when the row is read again.
    clean = coupling.last_result is SyncResult.SUCCESS and not (
        coupling.failure_count or coupling.skipped or coupling.last_error
    )
    return Operation(
        kind=OperationKind.UNCHANGED,
        mapping=context.mapping.name,
        source=side,
        reason=SETTLED if clean else "",
        bc_id=coupling.bc_id,
        dataverse_id=coupling.dataverse_id,
        base_bc=coupling.base_bc,
        base_dataverse=coupling.base_dataverse,
        bc_version=coupling.bc_version,
        dataverse_version=coupling.dataverse_version,
    )
