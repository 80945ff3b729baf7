from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sync.engine.fields import LookupTable
from sync.engine.operation import OperationKind
from sync.engine.planner import PlanContext, dataverse_id_for, plan_change
from sync.mappings import standard_mappings
from sync.models import ConflictPolicy, Coupling, DeletionPolicy, Record, Side, WriteKind

SCOPE = "contoso:production:company-a"
BC_ID = "0f9a7c2e-1111-4000-8000-000000000001"
DV_ID = "6a1b2c3d-2222-4000-8000-000000000002"
EUR_ID = "7e7e7e7e-3333-4000-8000-000000000003"
BASE_CURRENCY = "1b1b1b1b-4444-4000-8000-000000000004"
EARLY = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
LATE = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)

LOOKUPS = {
    "CURRENCY": LookupTable(
        mapping="CURRENCY",
        entity_set="transactioncurrencies",
        dataverse_by_bc={"EUR": EUR_ID},
        bc_by_dataverse={EUR_ID: "EUR"},
        base_currency_id=BASE_CURRENCY,
    ),
    "SALESPEOPLE": LookupTable(mapping="SALESPEOPLE", entity_set="systemusers"),
    "SHIPMENT METHOD": LookupTable(
        mapping="SHIPMENT METHOD", entity_set="accounts", is_option=True
    ),
    "PAYMENT TERMS": LookupTable(
        mapping="PAYMENT TERMS",
        entity_set="accounts",
        dataverse_by_bc={"pt-net30": "1"},
        bc_by_dataverse={"1": "pt-net30"},
        is_option=True,
    ),
}

BC_VALUES = {
    "displayName": "Adatum",
    "city": "Aarhus",
    "currencyCode": "EUR",
    "paymentTermsId": "pt-net30",
    "blocked": " ",
    "creditLimit": 1000,
}
DV_VALUES = {
    "name": "Adatum",
    "address1_city": "Aarhus",
    "_transactioncurrencyid_value": EUR_ID,
    "paymenttermscode": 1,
    "creditlimit": 1000,
    "statecode": 0,
    "customertypecode": 3,
}
BASE_BC = {
    "displayName": "Adatum",
    "city": "Aarhus",
    "currencyCode": "EUR",
    "paymentTermsId": "pt-net30",
    "creditLimit": 1000,
}
BASE_DV = {
    "name": "Adatum",
    "address1_city": "Aarhus",
    "transactioncurrencyid": EUR_ID,
    "paymenttermscode": 1,
    "creditlimit": 1000,
}


def context(*, create_missing=False, conflict=ConflictPolicy.NONE, deletion=DeletionPolicy.NONE):
    mapping = standard_mappings().get("CUSTOMER")
    mapping = mapping.model_copy(update={"conflict_policy": conflict, "deletion_policy": deletion})
    return PlanContext(scope=SCOPE, mapping=mapping, lookups=LOOKUPS, create_missing=create_missing)


def bc(at=EARLY, **changes):
    return Record(id=BC_ID, version='W/"1"', modified_at=at, values={**BC_VALUES, **changes})


def dv(at=EARLY, **changes):
    return Record(id=DV_ID, version='W/"9"', modified_at=at, values={**DV_VALUES, **changes})


def coupling(**update):
    base = Coupling(
        scope=SCOPE,
        mapping="CUSTOMER",
        bc_id=BC_ID,
        dataverse_id=DV_ID,
        base_bc=BASE_BC,
        base_dataverse=BASE_DV,
    )
    return base.model_copy(update=update)


def test_create_uses_deterministic_id_and_translated_lookups_when_missing_record_is_created():
    operation = plan_change(
        context(create_missing=True), source=Side.BC, record=bc(), coupling=None, counterpart=None
    )
    assert operation.kind is OperationKind.CREATE
    write = operation.dataverse_write
    assert write.kind is WriteKind.CREATE
    assert write.record_id == dataverse_id_for(SCOPE, "CUSTOMER", BC_ID)
    assert write.values["name"] == "Adatum"
    assert write.values["transactioncurrencyid@odata.bind"] == f"/transactioncurrencies({EUR_ID})"
    assert write.values["paymenttermscode"] == 1
    assert operation.base_dataverse["transactioncurrencyid"] == EUR_ID


def test_deterministic_id_is_stable_when_planned_twice():
    first = dataverse_id_for(SCOPE, "CUSTOMER", BC_ID)
    assert first == dataverse_id_for(SCOPE, "CUSTOMER", BC_ID.upper())
    assert first != dataverse_id_for("other:scope:x", "CUSTOMER", BC_ID)


def test_uncoupled_record_is_skipped_when_only_coupled_records_sync():
    operation = plan_change(context(), source=Side.BC, record=bc(), coupling=None, counterpart=None)
    assert operation.kind is OperationKind.SKIP
    assert "only coupled records" in operation.reason


def test_uncoupled_record_is_skipped_when_outside_source_filter():
    record = bc(blocked="All")
    operation = plan_change(
        context(create_missing=True), source=Side.BC, record=record, coupling=None, counterpart=None
    )
    assert operation.kind is OperationKind.SKIP
    assert operation.reason == "outside the mapping's filter"


def test_blank_currency_becomes_base_currency_when_created():
    operation = plan_change(
        context(create_missing=True),
        source=Side.BC,
        record=bc(currencyCode=""),
        coupling=None,
        counterpart=None,
    )
    assert (
        operation.dataverse_write.values["transactioncurrencyid@odata.bind"]
        == f"/transactioncurrencies({BASE_CURRENCY})"
    )


def test_record_fails_with_reason_when_currency_is_not_coupled():
    operation = plan_change(
        context(create_missing=True),
        source=Side.BC,
        record=bc(currencyCode="JPY"),
        coupling=None,
        counterpart=None,
    )
    assert operation.kind is OperationKind.FAIL
    assert "'JPY' is not coupled in mapping CURRENCY" in operation.reason


def test_only_changed_field_is_written_when_one_side_changed():
    operation = plan_change(
        context(), source=Side.BC, record=bc(city="Odense"), coupling=coupling(), counterpart=dv()
    )
    assert operation.kind is OperationKind.UPDATE
    assert operation.bc_write is None
    assert operation.dataverse_write.values == {"address1_city": "Odense"}
    assert operation.base_bc["city"] == "Odense"
    assert operation.base_dataverse["address1_city"] == "Odense"


def test_echo_is_unchanged_when_values_equal_base():
    operation = plan_change(
        context(), source=Side.DATAVERSE, record=dv(at=LATE), coupling=coupling(), counterpart=bc()
    )
    assert operation.kind is OperationKind.UNCHANGED
    assert not operation.writes_anything


def test_both_sides_written_when_different_fields_changed():
    operation = plan_change(
        context(),
        source=Side.BC,
        record=bc(city="Odense"),
        coupling=coupling(),
        counterpart=dv(name="Adatum A/S"),
    )
    assert operation.dataverse_write.values == {"address1_city": "Odense"}
    assert operation.bc_write.values == {"displayName": "Adatum A/S"}
    assert operation.bc_write.version == 'W/"1"'
    assert operation.conflicts == ()


def test_same_new_value_on_both_sides_is_no_conflict_when_merged():
    operation = plan_change(
        context(),
        source=Side.BC,
        record=bc(city="Odense"),
        coupling=coupling(),
        counterpart=dv(address1_city="Odense"),
    )
    assert operation.kind is OperationKind.UNCHANGED
    assert operation.base_bc["city"] == "Odense"


def test_conflicting_field_is_reported_and_left_when_policy_is_none():
    operation = plan_change(
        context(),
        source=Side.BC,
        record=bc(city="Odense", displayName="New"),
        coupling=coupling(),
        counterpart=dv(address1_city="Vejle"),
    )
    assert operation.conflicts == ("city ⇄ address1_city",)
    assert operation.dataverse_write.values == {"name": "New"}
    assert operation.base_bc["city"] == "Aarhus"
    assert operation.base_dataverse["address1_city"] == "Aarhus"


@pytest.mark.parametrize(
    ("policy", "bc_at", "dv_at", "expected_bc", "expected_dv"),
    [
        (ConflictPolicy.BC_WINS, EARLY, LATE, None, {"address1_city": "Odense"}),
        (ConflictPolicy.DATAVERSE_WINS, LATE, EARLY, {"city": "Vejle"}, None),
        (ConflictPolicy.LATEST_WINS, LATE, EARLY, None, {"address1_city": "Odense"}),
        (ConflictPolicy.LATEST_WINS, EARLY, LATE, {"city": "Vejle"}, None),
    ],
    ids=["bc wins", "dataverse wins", "latest wins bc newer", "latest wins dataverse newer"],
)
def test_conflict_is_resolved_by_policy_when_configured(
    policy, bc_at, dv_at, expected_bc, expected_dv
):
    operation = plan_change(
        context(conflict=policy),
        source=Side.BC,
        record=bc(bc_at, city="Odense"),
        coupling=coupling(),
        counterpart=dv(dv_at, address1_city="Vejle"),
    )
    assert operation.conflicts == ()
    assert (operation.bc_write.values if operation.bc_write else None) == expected_bc
    assert (operation.dataverse_write.values if operation.dataverse_write else None) == expected_dv


def test_to_dataverse_only_field_is_not_pulled_when_dataverse_changed_it():
    operation = plan_change(
        context(),
        source=Side.DATAVERSE,
        record=dv(creditlimit=5),
        coupling=coupling(),
        counterpart=bc(),
    )
    assert operation.kind is OperationKind.UNCHANGED


def test_skipped_coupling_is_not_synced_when_marked_skipped():
    operation = plan_change(
        context(),
        source=Side.BC,
        record=bc(city="Odense"),
        coupling=coupling(skipped=True),
        counterpart=dv(),
    )
    assert operation.kind is OperationKind.SKIP
    assert "restore" in operation.reason


@pytest.mark.parametrize(
    ("policy", "kind"),
    [
        (DeletionPolicy.NONE, OperationKind.FAIL),
        (DeletionPolicy.REMOVE_COUPLING, OperationKind.UNCOUPLE),
        (DeletionPolicy.PROPAGATE, OperationKind.DELETE),
        (DeletionPolicy.RESTORE, OperationKind.RESTORE),
    ],
    ids=["none", "remove coupling", "propagate", "restore"],
)
def test_dataverse_tombstone_follows_deletion_policy_when_coupled(policy, kind):
    tombstone = Record(id=DV_ID, deleted=True)
    operation = plan_change(
        context(deletion=policy),
        source=Side.DATAVERSE,
        record=tombstone,
        coupling=coupling(),
        counterpart=bc(),
    )
    assert operation.kind is kind
    if kind is OperationKind.FAIL:
        assert operation.error_code == "CoupledRecordDeleted"
    if kind is OperationKind.DELETE:
        assert operation.bc_write.kind is WriteKind.DELETE
        assert operation.bc_write.record_id == BC_ID
    if kind is OperationKind.RESTORE:
        assert operation.dataverse_write.kind is WriteKind.CREATE
        assert operation.dataverse_write.values["name"] == "Adatum"


def test_missing_counterpart_deletes_survivor_when_policy_is_propagate():
    operation = plan_change(
        context(deletion=DeletionPolicy.PROPAGATE),
        source=Side.BC,
        record=bc(city="Odense"),
        coupling=coupling(),
        counterpart=None,
    )
    assert operation.kind is OperationKind.DELETE
    assert operation.bc_write.kind is WriteKind.DELETE
    assert operation.bc_write.record_id == BC_ID
    assert operation.dataverse_write is None


def test_create_from_dataverse_writes_only_fields_flowing_to_bc_when_pulled():
    salespeople = standard_mappings().get("SALESPEOPLE")
    ctx = PlanContext(scope=SCOPE, mapping=salespeople, lookups={}, create_missing=True)
    user = Record(
        id=DV_ID,
        values={
            "fullname": "Ann Lee",
            "internalemailaddress": "ann@contoso.com",
            "mobilephone": None,
            "isdisabled": False,
            "islicensed": True,
            "isintegrationuser": False,
        },
    )
    operation = plan_change(
        ctx, source=Side.DATAVERSE, record=user, coupling=None, counterpart=None
    )
    assert operation.kind is OperationKind.CREATE
    assert operation.bc_write.values == {
        "displayName": "Ann Lee",
        "email": "ann@contoso.com",
        "phoneNo": None,
    }
