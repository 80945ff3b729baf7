from __future__ import annotations

from sync.engine.coupling_index import CouplingIndex
from sync.engine.operation import SETTLED, OperationKind
from sync.engine.page_plan import plan_page
from sync.models import Side, SyncResult
from tests.unit.test_planner import EARLY, bc, context, coupling


async def plan_known(**coupling_state: object):
    # The record comes back in the version last synced: known, planned without its partner.
    synced = coupling(bc_version='W/"1"', last_result=SyncResult.SUCCESS, **coupling_state)
    [operation] = await plan_page(
        context(), Side.BC, [bc(at=EARLY)], sides={}, index=CouplingIndex([synced])
    )
    return operation


async def test_record_in_its_synced_version_is_settled_when_its_last_sync_went_through():
    operation = await plan_known()

    assert (operation.kind, operation.reason) == (OperationKind.UNCHANGED, SETTLED)


async def test_record_in_its_synced_version_is_not_settled_when_its_pair_had_failed():
    operation = await plan_known(failure_count=1, last_error="timeout")

    assert (operation.kind, operation.reason) == (OperationKind.UNCHANGED, "")
