"""Sample records for the store contract tests: couplings, mapping sets, runs and errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync.models import Coupling, ErrorClass, MappingSet, RecordError, Run, RunMode, Side
from sync.store import StateStore

SCOPE = "contoso.onmicrosoft.com:production:5d1c9b1e"
OTHER_SCOPE = "fabrikam.onmicrosoft.com:production:77aa0c31"
AWKWARD_TEXTS = [
    "slash/inside",
    "back\\slash",
    "hash#tag",
    "what?now",
    "pipe|separated",
    "tilde~7Cescape",
    "tab\there",
    "line\nbreak\x7f\x9f",
    "ünïcødé-客户-😀",
    'quote\'s "double" %2F',
]
LONG_TEXT = "Größe 😀 " * 20_000  # well beyond one Table Storage property (64 KiB)
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
TTL = timedelta(minutes=5)


def coupling(
    n: int, *, scope: str = SCOPE, mapping: str = "CUSTOMER", **changes: object
) -> Coupling:
    values: dict[str, object] = {
        "scope": scope,
        "mapping": mapping,
        "bc_id": f"bc-{n:05d}",
        "dataverse_id": f"dv-{n:05d}",
        "base_bc": {"displayName": f"Customer {n}", "balance": n * 1.5},
        "base_dataverse": {"name": f"Customer {n}"},
    }
    return Coupling.model_validate(values | changes)


async def all_couplings(
    store: StateStore, scope: str = SCOPE, mapping: str = "CUSTOMER", *, skipped_only: bool = False
) -> dict[str, Coupling]:
    found = store.couplings.load_couplings(scope, mapping, skipped_only=skipped_only)
    return {c.bc_id: c async for c in found}


def mapping_set(*, value_count: int = 2) -> MappingSet:
    values = {f"country {i}": f"C{i:05d} " + "x" * 40 for i in range(value_count)}
    return MappingSet.model_validate(
        {
            "mappings": [
                {
                    "name": "CUSTOMER",
                    "bc_entity": "customers",
                    "dataverse_table": "account",
                    "dataverse_entity_set": "accounts",
                    "direction": "bidirectional",
                    "bc_filter": {"all_of": [{"field": "blocked", "op": "eq", "value": " "}]},
                    "fields": [
                        {"bc_field": "displayName", "dataverse_field": "name"},
                        {
                            "bc_field": "country",
                            "dataverse_field": "address1_country",
                            "transforms_to_dataverse": [{"kind": "value_map", "values": values}],
                        },
                    ],
                }
            ]
        }
    )


def run(run_id: str, started_at: datetime, *, scope: str = SCOPE, **changes: object) -> Run:
    values = {"id": run_id, "scope": scope, "mode": RunMode.MAPPING, "started_at": started_at}
    return Run.model_validate(values | changes)


def record_error(run_id: str, n: int, **changes: object) -> RecordError:
    values = {
        "run_id": run_id,
        "mapping": "CUSTOMER",
        "side": Side.BC,
        "record_id": f"bc-{n:05d}",
        "error_class": ErrorClass.PERMANENT,
        "code": "Validation",
        "message": f"error number {n}",
        "occurred_at": T0 + timedelta(seconds=n),
    }
    return RecordError.model_validate(values | changes)
