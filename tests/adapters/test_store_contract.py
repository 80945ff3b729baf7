"""The state store contract (``sync.ports``), run against every implementation: configuration.

Each test gets a fresh, empty store from the ``store`` fixture: the in-memory fake, SQLite in a
temporary file, and Azure Table Storage on Azurite (tables with a unique prefix). The contract of
watermarks, leases and runs continues in ``test_store_contract_state.py``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

from sync.models import SyncResult
from sync.store import StateStore
from tests.adapters.store_samples import (
    AWKWARD_TEXTS,
    LONG_TEXT,
    OTHER_SCOPE,
    SCOPE,
    T0,
    all_couplings,
    coupling,
    mapping_set,
)

# Mappings


async def test_mappings_none_when_never_saved(store: StateStore) -> None:
    assert await store.mappings.load_mappings(SCOPE) is None


async def test_mappings_round_trip_when_saved(store: StateStore) -> None:
    await store.mappings.save_mappings(SCOPE, mapping_set())

    assert await store.mappings.load_mappings(SCOPE) == mapping_set()


async def test_mappings_replaced_when_saved_again(store: StateStore) -> None:
    await store.mappings.save_mappings(SCOPE, mapping_set(value_count=5))
    await store.mappings.save_mappings(SCOPE, mapping_set(value_count=1))

    assert await store.mappings.load_mappings(SCOPE) == mapping_set(value_count=1)


async def test_mappings_round_trip_when_json_exceeds_one_property(store: StateStore) -> None:
    large = mapping_set(value_count=3_000)  # about 200 KB of JSON
    await store.mappings.save_mappings(SCOPE, large)

    assert await store.mappings.load_mappings(SCOPE) == large


async def test_mappings_kept_apart_when_scopes_differ(store: StateStore) -> None:
    await store.mappings.save_mappings(SCOPE, mapping_set())

    assert await store.mappings.load_mappings(OTHER_SCOPE) is None


async def test_mappings_none_when_deleted(store: StateStore) -> None:
    await store.mappings.save_mappings(SCOPE, mapping_set())
    await store.mappings.save_mappings(OTHER_SCOPE, mapping_set())

    await store.mappings.delete_mappings(SCOPE)
    await store.mappings.delete_mappings(SCOPE)  # deleting twice is not an error

    assert await store.mappings.load_mappings(SCOPE) is None
    assert await store.mappings.load_mappings(OTHER_SCOPE) == mapping_set()


# Couplings


async def test_coupling_found_by_either_id_when_put(store: StateStore) -> None:
    await store.couplings.put_couplings([coupling(1), coupling(2)])

    assert await store.couplings.get_by_bc_id(SCOPE, "CUSTOMER", "bc-00001") == coupling(1)
    assert await store.couplings.get_by_dataverse_id(SCOPE, "CUSTOMER", "dv-00002") == coupling(2)


async def test_coupling_none_when_ids_unknown(store: StateStore) -> None:
    await store.couplings.put_couplings([coupling(1)])

    assert await store.couplings.get_by_bc_id(SCOPE, "CUSTOMER", "dv-00001") is None
    assert await store.couplings.get_by_dataverse_id(SCOPE, "CUSTOMER", "bc-00001") is None
    assert await store.couplings.get_by_bc_id(SCOPE, "VENDOR", "bc-00001") is None


async def test_coupling_round_trips_every_field_when_all_are_set(store: StateStore) -> None:
    full = coupling(
        7,
        base_bc={"name": "Ærø 😀", "big": 2**40, "price": 12.25, "none": None, "ok": True},
        base_dataverse={"name": "Ærø 😀", "emptytext": ""},
        bc_version='W/"JzE5OzE2MzQ1Nzg5MDEyOzAwOyc="',
        dataverse_version="8734501",
        bc_modified_at=datetime(2024, 5, 1, 8, 0, 1, 123456, tzinfo=UTC),
        dataverse_modified_at=datetime(2024, 5, 1, 10, 0, tzinfo=timezone(timedelta(hours=2))),
        last_result=SyncResult.FAILURE,
        last_synced_at=T0,
        failure_count=3,
        skipped=True,
        last_error=LONG_TEXT,
    )
    await store.couplings.put_couplings([full])

    assert await store.couplings.get_by_bc_id(SCOPE, "CUSTOMER", full.bc_id) == full
    assert await store.couplings.get_by_dataverse_id(SCOPE, "CUSTOMER", full.dataverse_id) == full


async def test_coupling_base_round_trips_when_larger_than_one_property(store: StateStore) -> None:
    big = coupling(1, base_bc={f"field{i}": "value " * 50 for i in range(300)})  # ~95 KB
    await store.couplings.put_couplings([big])

    assert await store.couplings.get_by_bc_id(SCOPE, "CUSTOMER", "bc-00001") == big


async def test_coupling_replaced_when_put_again_with_same_bc_id(store: StateStore) -> None:
    await store.couplings.put_couplings([coupling(1, last_error="old", failure_count=2)])
    updated = coupling(1, dataverse_id="dv-new", base_bc={"displayName": "Renamed"})

    await store.couplings.put_couplings([updated])

    assert await store.couplings.get_by_bc_id(SCOPE, "CUSTOMER", "bc-00001") == updated
    assert await store.couplings.get_by_dataverse_id(SCOPE, "CUSTOMER", "dv-new") == updated
    assert await store.couplings.get_by_dataverse_id(SCOPE, "CUSTOMER", "dv-00001") is None
    assert list(await all_couplings(store)) == ["bc-00001"]


async def test_later_coupling_wins_when_one_call_repeats_a_bc_id(store: StateStore) -> None:
    later = coupling(1, base_bc={"displayName": "later"})

    await store.couplings.put_couplings([coupling(1), coupling(2), later])

    assert await all_couplings(store) == {"bc-00001": later, "bc-00002": coupling(2)}


async def test_couplings_streamed_when_loaded(store: StateStore) -> None:
    await store.couplings.put_couplings([coupling(n) for n in range(5)])
    await store.couplings.put_couplings([coupling(9, mapping="VENDOR")])

    assert await all_couplings(store) == {c.bc_id: c for c in map(coupling, range(5))}


async def test_only_skipped_couplings_loaded_when_asked(store: StateStore) -> None:
    skipped = [coupling(n, skipped=True, failure_count=5) for n in (1, 3)]
    await store.couplings.put_couplings([coupling(0), *skipped, coupling(2)])

    found = await all_couplings(store, skipped_only=True)

    assert found == {c.bc_id: c for c in skipped}


async def test_couplings_gone_when_deleted(store: StateStore) -> None:
    await store.couplings.put_couplings([coupling(n) for n in range(4)])

    await store.couplings.delete_couplings([coupling(1), coupling(2)])

    assert sorted(await all_couplings(store)) == ["bc-00000", "bc-00003"]
    assert await store.couplings.get_by_bc_id(SCOPE, "CUSTOMER", "bc-00001") is None
    assert await store.couplings.get_by_dataverse_id(SCOPE, "CUSTOMER", "dv-00002") is None


async def test_delete_succeeds_when_some_couplings_are_already_gone(store: StateStore) -> None:
    await store.couplings.put_couplings([coupling(1), coupling(2)])
    await store.couplings.delete_couplings([coupling(1)])

    await store.couplings.delete_couplings([coupling(1), coupling(2), coupling(3)])

    assert await all_couplings(store) == {}


async def test_thousand_couplings_read_back_when_put_in_one_call(store: StateStore) -> None:
    couplings = [coupling(n, mapping=f"M{n % 2}") for n in range(1_000)]

    await store.couplings.put_couplings(couplings)
    loaded = await all_couplings(store, mapping="M0") | await all_couplings(store, mapping="M1")
    by_bc, by_dataverse = await asyncio.gather(
        asyncio.gather(
            *(store.couplings.get_by_bc_id(SCOPE, c.mapping, c.bc_id) for c in couplings)
        ),
        asyncio.gather(
            *(
                store.couplings.get_by_dataverse_id(SCOPE, c.mapping, c.dataverse_id)
                for c in couplings
            )
        ),
    )

    assert loaded == {c.bc_id: c for c in couplings}
    assert by_bc == couplings
    assert by_dataverse == couplings


async def test_couplings_kept_apart_when_scopes_differ(store: StateStore) -> None:
    ours, theirs = coupling(1), coupling(1, scope=OTHER_SCOPE, base_bc={"displayName": "Theirs"})
    await store.couplings.put_couplings([ours, theirs])

    assert await store.couplings.get_by_bc_id(SCOPE, "CUSTOMER", "bc-00001") == ours
    assert await store.couplings.get_by_dataverse_id(OTHER_SCOPE, "CUSTOMER", "dv-00001") == theirs
    assert await all_couplings(store, OTHER_SCOPE) == {"bc-00001": theirs}

    await store.couplings.delete_couplings([ours])

    assert await store.couplings.get_by_bc_id(OTHER_SCOPE, "CUSTOMER", "bc-00001") == theirs


async def test_couplings_kept_apart_when_separator_moves_between_scope_and_mapping(
    store: StateStore,
) -> None:
    first = coupling(1, scope="a|b", mapping="c")
    second = coupling(1, scope="a", mapping="b|c", base_bc={"displayName": "second"})
    await store.couplings.put_couplings([first, second])

    assert await all_couplings(store, "a|b", "c") == {"bc-00001": first}
    assert await all_couplings(store, "a", "b|c") == {"bc-00001": second}


async def test_couplings_round_trip_when_keys_hold_awkward_characters(store: StateStore) -> None:
    couplings = [
        coupling(0, scope=text, mapping=text, bc_id=text, dataverse_id=text + "-dv")
        for text in AWKWARD_TEXTS
    ]
    await store.couplings.put_couplings(couplings)

    for c in couplings:
        assert await store.couplings.get_by_bc_id(c.scope, c.mapping, c.bc_id) == c
        assert await store.couplings.get_by_dataverse_id(c.scope, c.mapping, c.dataverse_id) == c
        assert await all_couplings(store, c.scope, c.mapping) == {c.bc_id: c}
    await store.couplings.delete_couplings(couplings)
    for c in couplings:
        assert await store.couplings.get_by_bc_id(c.scope, c.mapping, c.bc_id) is None
