from __future__ import annotations

from datetime import UTC, datetime

from sync.engine.operation import SETTLED, Operation, OperationKind
from sync.engine.recording import Recorded, RecordingContext, record_operation
from sync.models import Coupling, Side, SyncResult

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CONTEXT = RecordingContext(scope="contoso", run_id="run-1", now=NOW, failures_before_skip=2)
COUPLING = Coupling(
    scope="contoso",
    mapping="CUSTOMER",
    bc_id="bc-1",
    dataverse_id="dv-1",
    base_bc={"displayName": "Fabrikam"},
    base_dataverse={"name": "Fabrikam"},
    bc_version="b1",
    dataverse_version="d1",
    last_result=SyncResult.SUCCESS,
    last_synced_at=datetime(2026, 11, 1, tzinfo=UTC),
)


def unchanged(**changes: object) -> Operation:
    fields: dict[str, object] = {
        "kind": OperationKind.UNCHANGED,
        "mapping": "CUSTOMER",
        "source": Side.DATAVERSE,
        "bc_id": "bc-1",
        "dataverse_id": "dv-1",
        "base_bc": {"displayName": "Fabrikam"},
        "base_dataverse": {"name": "Fabrikam"},
        "bc_version": "b1",
        "dataverse_version": "d1",
    }
    return Operation.model_validate(fields | changes)


def test_unchanged_pair_that_synced_cleanly_is_counted_and_not_stored_again():
    recorded = Recorded()

    record_operation(CONTEXT, unchanged(), COUPLING, {}, recorded)

    assert recorded.put == []
    assert recorded.counters.unchanged == 1


def test_unchanged_pair_that_had_failed_is_stored_as_synced_again():
    failed = COUPLING.failed("timeout", skip_after=2, at=NOW)
    recorded = Recorded()

    record_operation(CONTEXT, unchanged(), failed, {}, recorded)

    [stored] = recorded.put
    assert (stored.failure_count, stored.last_result, stored.last_error) == (
        0,
        SyncResult.SUCCESS,
        None,
    )


def test_unchanged_pair_read_in_a_new_version_keeps_that_version():
    recorded = Recorded()

    record_operation(CONTEXT, unchanged(dataverse_version="d2"), COUPLING, {}, recorded)

    [stored] = recorded.put
    assert stored.dataverse_version == "d2"
    assert recorded.counters.unchanged == 1


def test_counters_of_a_page_add_up_per_kind():
    recorded = Recorded()
    for _ in range(3):
        record_operation(CONTEXT, unchanged(), COUPLING, {}, recorded)
    record_operation(
        CONTEXT, unchanged(kind=OperationKind.FAIL, reason="bad"), COUPLING, {}, recorded
    )

    assert recorded.counters.model_dump(exclude_defaults=True) == {"unchanged": 3, "failed": 1}


def test_a_conflict_counts_once_and_an_update_with_a_field_in_conflict_counts_in_both():
    recorded = Recorded()
    conflict = unchanged(kind=OperationKind.CONFLICT, conflicts=("name",))
    merged = unchanged(kind=OperationKind.UPDATE, conflicts=("name",))

    record_operation(CONTEXT, conflict, COUPLING, {}, recorded)
    record_operation(CONTEXT, merged, COUPLING, {}, recorded)

    assert recorded.counters.model_dump(exclude_defaults=True) == {"conflicts": 2, "modified": 1}
    assert len(recorded.errors) == 2


def test_settled_pair_is_counted_without_its_coupling():
    recorded = Recorded()

    record_operation(CONTEXT, unchanged(reason=SETTLED), None, {}, recorded)

    assert (recorded.put, recorded.removed, recorded.errors) == ([], [], [])
    assert recorded.counters.unchanged == 1
