from __future__ import annotations

from datetime import timedelta

import pytest

from sync.engine.planner import dataverse_id_for
from sync.engine.record_operations import AlreadyCoupledError, RecordNotFoundError
from sync.engine.session import AlreadyRunningError
from sync.models import ErrorClass, RunMode, Side
from tests.fakes.world import CUSTOMER, MAPPINGS, SCOPE, World


@pytest.fixture
async def world():
    world = World()
    await world.state.mappings.save_mappings(SCOPE.key, MAPPINGS)
    world.seed(3)
    await world.run(RunMode.FULL, mappings=["CURRENCY"])
    return world


async def test_sync_record_creates_counterpart_when_record_is_uncoupled(world):
    customer_id = next(iter(world.bc.tables["customers"]))
    result = await world.record_operations().sync_record("CUSTOMER", Side.BC, customer_id)
    assert result.run.mode is RunMode.RECORD
    assert result.run.counters.inserted == 1
    assert (
        dataverse_id_for(SCOPE.key, "CUSTOMER", customer_id) in world.dataverse.tables["accounts"]
    )
    assert await world.state.couplings.get_by_bc_id(SCOPE.key, "CUSTOMER", customer_id)


async def test_sync_record_refuses_unknown_id_when_record_does_not_exist(world):
    with pytest.raises(RecordNotFoundError, match="not found"):
        await world.record_operations().sync_record("CUSTOMER", Side.BC, "nope")


async def test_sync_record_plans_without_writing_when_dry_run(world):
    customer_id = next(iter(world.bc.tables["customers"]))
    result = await world.record_operations().sync_record(
        "CUSTOMER", Side.BC, customer_id, dry_run=True
    )
    assert [op.kind for op in result.plan] == ["create"]
    assert not world.dataverse.tables.get("accounts")


async def test_couple_links_existing_records_and_merges_when_both_exist(world):
    customer_id = next(iter(world.bc.tables["customers"]))
    account = world.dataverse.put(CUSTOMER, {"name": "Old name", "address1_city": "Aarhus"})
    result = await world.record_operations().couple("CUSTOMER", customer_id, account.id)
    assert result.run.counters.coupled == 1
    assert world.dataverse.tables["accounts"][account.id].values["name"] == "Customer 0"
    assert len(world.dataverse.tables["accounts"]) == 1


async def test_couple_refuses_when_record_is_coupled_elsewhere(world):
    customer_id = next(iter(world.bc.tables["customers"]))
    await world.record_operations().sync_record("CUSTOMER", Side.BC, customer_id)
    other = world.dataverse.put(CUSTOMER, {"name": "Other"})
    with pytest.raises(AlreadyCoupledError, match="uncouple it first"):
        await world.record_operations().couple("CUSTOMER", customer_id, other.id)


async def test_uncouple_removes_coupling_and_keeps_records_when_asked(world):
    customer_id = next(iter(world.bc.tables["customers"]))
    await world.record_operations().sync_record("CUSTOMER", Side.BC, customer_id)
    result = await world.record_operations().uncouple("CUSTOMER", bc_ids=[customer_id])
    assert result.run.counters.uncoupled == 1
    assert await world.state.couplings.get_by_bc_id(SCOPE.key, "CUSTOMER", customer_id) is None
    assert customer_id in world.bc.tables["customers"]


async def test_retry_syncs_skipped_record_again_when_restored(world):
    customer_id = next(iter(world.bc.tables["customers"]))
    operations = world.record_operations()
    await operations.sync_record("CUSTOMER", Side.BC, customer_id)
    row_id = dataverse_id_for(SCOPE.key, "CUSTOMER", customer_id)
    world.dataverse.fail[row_id] = ErrorClass.PERMANENT
    for city in ("A", "B"):
        world.bc.put(CUSTOMER, {"city": city}, customer_id)
        await operations.sync_record("CUSTOMER", Side.BC, customer_id)
    assert (await world.state.couplings.get_by_bc_id(SCOPE.key, "CUSTOMER", customer_id)).skipped
    world.dataverse.fail.clear()
    result = await operations.restore("CUSTOMER", [customer_id], retry=True)
    assert result.run.counters.modified == 1
    assert world.dataverse.tables["accounts"][row_id].values["address1_city"] == "B"
    assert not (
        await world.state.couplings.get_by_bc_id(SCOPE.key, "CUSTOMER", customer_id)
    ).skipped


async def test_record_sync_is_refused_when_mapping_is_running(world):
    held = await world.state.leases.acquire_lease(
        f"{SCOPE.key}|CUSTOMER", "timer", timedelta(minutes=5)
    )
    assert held is not None
    customer_id = next(iter(world.bc.tables["customers"]))
    with pytest.raises(AlreadyRunningError):
        await world.record_operations().sync_record("CUSTOMER", Side.BC, customer_id)


async def test_uncouple_dry_run_lists_pairs_and_keeps_them_when_asked(world):
    customer_id = next(iter(world.bc.tables["customers"]))
    await world.record_operations().sync_record("CUSTOMER", Side.BC, customer_id)
    result = await world.record_operations().uncouple(
        "CUSTOMER", bc_ids=[customer_id], dry_run=True
    )
    assert [(op.kind, op.bc_id) for op in result.plan] == [("uncouple", customer_id)]
    assert await world.state.couplings.get_by_bc_id(SCOPE.key, "CUSTOMER", customer_id)
