from __future__ import annotations

from datetime import timedelta

import pytest

from sync.engine.planner import dataverse_id_for
from sync.engine.run_parts import RunOptions
from sync.errors import StoreError
from sync.models import (
    DeletionPolicy,
    ErrorClass,
    MappingSet,
    RunMode,
    RunStatus,
    Side,
)
from tests.fakes.sides import InMemorySide
from tests.fakes.world import CURRENCY, CUSTOMER, MAPPINGS, SCOPE, World


@pytest.fixture
async def world():
    world = World()
    await world.state.mappings.save_mappings(SCOPE.key, MAPPINGS)
    return world


async def test_full_sync_creates_every_record_with_lookups_when_other_side_is_empty(world):
    eur = world.seed()
    result = await world.run(RunMode.FULL)
    assert result.run.status is RunStatus.SUCCEEDED
    assert result.run.counters.inserted == 22
    accounts = world.dataverse.tables["accounts"]
    assert len(accounts) == 20
    eur_row = dataverse_id_for(SCOPE.key, "CURRENCY", eur.id)
    assert {r.values["_transactioncurrencyid_value"] for r in accounts.values()} == {eur_row}


async def test_second_run_writes_nothing_when_nothing_changed(world):
    world.seed()
    await world.run(RunMode.FULL)
    writes = world.dataverse.write_calls + world.bc.write_calls
    result = await world.run()
    assert world.dataverse.write_calls + world.bc.write_calls == writes
    assert result.run.counters.inserted == result.run.counters.modified == 0


async def test_change_flows_with_only_changed_field_when_edited_on_bc(world):
    world.seed(3)
    await world.run(RunMode.FULL)
    customer = next(iter(world.bc.tables["customers"].values()))
    world.bc.put(CUSTOMER, {"city": "Odense"}, customer.id)
    result = await world.run()
    assert result.run.counters.modified == 1
    assert world.dataverse.writes[-1].values == {"address1_city": "Odense"}
    row = world.dataverse.tables["accounts"][dataverse_id_for(SCOPE.key, "CUSTOMER", customer.id)]
    assert row.values["address1_city"] == "Odense"
    again = await world.run()
    assert again.run.counters.modified == 0


async def test_change_flows_back_to_bc_without_echo_when_edited_in_dataverse(world):
    world.seed(3)
    await world.run(RunMode.FULL)
    row_id = next(iter(world.dataverse.tables["accounts"]))
    world.dataverse.put(CUSTOMER, {"name": "Renamed in CRM"}, row_id)
    result = await world.run()
    assert result.run.counters.modified == 1
    coupling = await world.state.couplings.get_by_dataverse_id(SCOPE.key, "CUSTOMER", row_id)
    assert world.bc.tables["customers"][coupling.bc_id].values["displayName"] == "Renamed in CRM"
    writes = world.dataverse.write_calls
    await world.run()
    assert world.dataverse.write_calls == writes


async def test_rerun_after_crash_creates_no_duplicate_when_couplings_were_not_saved(world):
    world.seed(5)

    real = world.state.couplings
    world.state.couplings = CrashingOnce(real, mapping="CUSTOMER")
    with pytest.raises(StoreError):
        await world.run(RunMode.FULL)
    world.state.couplings = real
    await world.run(RunMode.FULL)
    assert len(world.dataverse.tables["accounts"]) == 5


async def test_transient_failure_is_retried_on_next_run_when_write_failed(world):
    world.seed(4)
    world.dataverse.fail_names["Customer 2"] = ErrorClass.TRANSIENT
    first = await world.run(RunMode.FULL)
    assert first.run.counters.failed == 1
    assert first.run.status is RunStatus.PARTIAL
    assert [e.error_class for e in first.errors] == [ErrorClass.TRANSIENT]
    assert len(world.dataverse.tables["accounts"]) == 3
    world.dataverse.fail_names.clear()
    customer = world.state.mappings
    await customer.save_mappings(
        SCOPE.key,
        MAPPINGS.model_copy(
            update={
                "mappings": (CURRENCY, CUSTOMER.model_copy(update={"sync_only_coupled": False}))
            }
        ),
    )
    second = await world.run()
    assert second.run.counters.inserted == 1
    assert len(world.dataverse.tables["accounts"]) == 4


async def test_record_is_skipped_when_it_failed_permanently_twice(world):
    world.seed(2)
    await world.run(RunMode.FULL)
    customer_id = next(iter(world.bc.tables["customers"]))
    row_id = dataverse_id_for(SCOPE.key, "CUSTOMER", customer_id)
    world.dataverse.fail[row_id] = ErrorClass.PERMANENT
    for attempt in range(2):
        world.bc.put(CUSTOMER, {"city": f"City {attempt}"}, customer_id)
        result = await world.run()
        assert result.errors[0].attempt == attempt + 1
    coupling = await world.state.couplings.get_by_bc_id(SCOPE.key, "CUSTOMER", customer_id)
    assert coupling.skipped
    skipped = [
        c
        async for c in world.state.couplings.load_couplings(
            SCOPE.key, "CUSTOMER", skipped_only=True
        )
    ]
    assert [c.bc_id for c in skipped] == [customer_id]


async def test_record_fails_with_reason_when_lookup_is_not_coupled(world):
    world.seed(1)
    world.bc.put(CUSTOMER, {"displayName": "Yen buyer", "city": "Tokyo", "currencyCode": "JPY"})
    result = await world.run(RunMode.FULL)
    assert result.run.counters.failed == 1
    assert "'JPY' is not coupled in mapping CURRENCY" in result.errors[0].message
    stored = await world.state.runs.list_errors(SCOPE.key, result.run.id)
    assert [e.record_id for e in stored] == [e.record_id for e in result.errors]


async def test_dry_run_returns_plan_and_writes_nothing_when_requested(world):
    world.seed(3)
    result = await world.run(RunMode.FULL, dry_run=True)
    assert len(result.plan) == 5
    assert {op.kind for op in result.plan} == {"create"}
    assert not any(world.dataverse.tables.values())
    assert await world.state.runs.list_runs(SCOPE.key) == []
    assert await world.state.watermarks.load_watermark(SCOPE.key, "CUSTOMER", Side.BC) is None


async def test_mapping_is_reported_already_running_when_lease_is_held(world):
    world.seed(1)
    held = await world.state.leases.acquire_lease(
        f"{SCOPE.key}|CUSTOMER", "other-run", timedelta(minutes=5)
    )
    assert held is not None
    result = await world.run(RunMode.FULL)
    assert "CUSTOMER is already running" in result.run.message
    assert "accounts" not in world.dataverse.tables


async def test_watermark_never_passes_run_start_when_changes_arrive_during_run(world):
    world.seed(3)
    result = await world.run(RunMode.FULL)
    watermark = await world.state.watermarks.load_watermark(SCOPE.key, "CUSTOMER", Side.BC)
    assert watermark.modified_at <= result.run.finished_at
    late = world.bc.put(CUSTOMER, {"displayName": "Late", "city": "Vejle", "currencyCode": "EUR"})
    assert late.modified_at > watermark.modified_at


async def test_deletions_stop_when_they_exceed_the_allowed_share(world):
    world.options = RunOptions(max_deletion_share=0.0)
    mapping = CUSTOMER.model_copy(update={"deletion_policy": DeletionPolicy.PROPAGATE})
    await world.state.mappings.save_mappings(SCOPE.key, MappingSet(mappings=(CURRENCY, mapping)))
    world.seed(12)
    await world.run(RunMode.FULL)
    for row_id in list(world.dataverse.tables["accounts"])[:11]:
        world.dataverse.remove(mapping, row_id)
    result = await world.run()
    assert "allowed share" in result.run.message
    # Deletions stop within the budget (10 records for small tables), never all of them.
    assert 12 - 10 <= len(world.bc.tables["customers"]) < 12


async def test_rerun_after_crash_creates_no_duplicate_in_bc_when_bc_create_was_not_recorded(world):
    world.seed(0)
    for n in range(3):
        world.dataverse.put(CUSTOMER, {"name": f"Account {n}", "address1_city": "Vejle"})

    real = world.state.couplings
    world.state.couplings = CrashingOnce(real, mapping="CUSTOMER")
    with pytest.raises(StoreError):
        await world.run(RunMode.FULL)
    assert len(world.bc.tables["customers"]) == 3
    world.state.couplings = real
    result = await world.run(RunMode.FULL)
    assert len(world.bc.tables["customers"]) == 3
    assert len(world.dataverse.tables["accounts"]) == 3
    assert result.run.counters.coupled == 3
    intents = [c async for c in real.load_couplings(SCOPE.key, "CUSTOMER/create-intents")]
    assert intents == []


async def test_run_stops_at_time_budget_and_next_run_continues_when_table_is_large(world):
    world.options = RunOptions(time_budget=timedelta(milliseconds=1), overlap=timedelta(0))
    await world.state.mappings.save_mappings(
        SCOPE.key,
        MappingSet(mappings=(CURRENCY.model_copy(update={"sync_only_coupled": False}),)),
    )
    for n in range(20):
        world.bc.put(CURRENCY, {"code": f"C{n:02d}", "displayName": f"Currency {n}"})
    first = await world.run()
    created = len(world.dataverse.tables["transactioncurrencies"])
    assert created == world.bc.page_size
    for _ in range(5):
        await world.run()
    assert len(world.dataverse.tables["transactioncurrencies"]) == 20
    assert first.run.counters.inserted == created


class CrashingOnce:
    """A coupling store that fails the first save of one mapping's couplings, like a crash."""

    def __init__(self, inner, *, mapping):
        self.inner, self.mapping, self.crashed = inner, mapping, False

    def __getattr__(self, name):
        return getattr(self.inner, name)

    async def put_couplings(self, couplings):
        if not self.crashed and any(c.mapping == self.mapping for c in couplings):
            self.crashed = True
            raise StoreError("store unavailable")
        await self.inner.put_couplings(couplings)


async def test_progress_is_reported_per_page_when_a_callback_is_given(world):
    seen = []
    world.options = RunOptions(
        progress=lambda mapping, side, done: seen.append((mapping, side, done))
    )
    world.seed(10)
    await world.run(RunMode.FULL)
    customer_bc = [done for mapping, side, done in seen if (mapping, side) == ("CUSTOMER", "bc")]
    assert customer_bc == [7, 10]


async def test_echo_of_own_write_needs_no_partner_read_when_values_equal_base(world):
    """Bulk writes return no versions, so the Dataverse pass reads the new rows back.

    Equal to the base, they are unchanged without reading their BC partners.
    """
    world.seed(5)
    result = await world.run(RunMode.FULL)
    assert result.by_mapping["CUSTOMER"].unchanged == 5
    assert world.bc.id_reads == 0


async def test_full_sync_notices_bc_deletion_when_dataverse_row_is_unchanged(world):
    mapping = CUSTOMER.model_copy(update={"deletion_policy": DeletionPolicy.PROPAGATE})
    await world.state.mappings.save_mappings(SCOPE.key, MappingSet(mappings=(CURRENCY, mapping)))
    world.seed(3)
    await world.run(RunMode.FULL)
    gone = next(iter(world.bc.tables["customers"]))
    world.bc.remove(mapping, gone)
    result = await world.run(RunMode.FULL)
    assert result.by_mapping["CUSTOMER"].deleted == 1
    assert dataverse_id_for(SCOPE.key, "CUSTOMER", gone) not in world.dataverse.tables["accounts"]


class ReadingFirstRecordTwice(InMemorySide):
    """Returns the first record again on the second page, as when it changed while a run paged."""

    async def read_changes(self, mapping, *, since, delta_token):
        first = None
        async for page in super().read_changes(mapping, since=since, delta_token=delta_token):
            if first is None:
                first = page.records[0]
                yield page
            else:
                yield page.model_copy(update={"records": (first, *page.records)})


async def test_record_read_again_while_its_page_is_still_writing_is_created_once(world):
    world.dataverse = ReadingFirstRecordTwice(Side.DATAVERSE, world.clock, page_size=7)
    for n in range(10):
        world.dataverse.put(CUSTOMER, {"name": f"Account {n}", "address1_city": "Aarhus"})

    result = await world.run(RunMode.FULL)

    assert result.run.counters.inserted == 10
    assert len(world.bc.tables["customers"]) == 10


class CountingPuts:
    """A coupling store that counts the couplings written."""

    def __init__(self, inner):
        self.inner, self.written = inner, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    async def put_couplings(self, couplings):
        self.written += len(couplings)
        await self.inner.put_couplings(couplings)


async def test_full_sync_writes_each_new_coupling_once_when_its_echo_is_read_back(world):
    world.seed(10)
    world.state.couplings = CountingPuts(world.state.couplings)

    result = await world.run(RunMode.FULL)

    assert result.run.counters.inserted == 12
    assert result.run.counters.unchanged >= 10  # the ten accounts read back on the Dataverse side
    assert world.state.couplings.written == 12
