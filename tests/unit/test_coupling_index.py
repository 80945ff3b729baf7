from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime

import pytest

from sync.engine.coupling_index import CouplingIndex
from sync.models import Coupling, Side, SyncResult
from tests.fakes.store import InMemoryCouplingStore

SCOPE = 'contoso:prod "EU":company\\a'


def coupling(bc_id: str, dataverse_id: str, **changes: object) -> Coupling:
    return Coupling(
        scope=SCOPE, mapping="CUSTOMER", bc_id=bc_id, dataverse_id=dataverse_id
    ).model_copy(update=changes)


def test_found_by_either_id_in_any_case_and_equal_to_what_was_put():
    full = coupling(
        "BC-1",
        "DV-1",
        base_bc={
            "displayName": "Ærø Café",
            "creditLimit": 1500.5,
            "blocked": None,
            "taxLiable": True,
        },
        base_dataverse={"name": "Ærø Café", "_ownerid_value": "a1b2"},
        bc_version='W/"JzQ0O1"',
        dataverse_version="98765",
        bc_modified_at=datetime(2026, 11, 25, 7, 1, 2, 345000, tzinfo=UTC),
        last_result=SyncResult.FAILURE,
        last_synced_at=datetime(2026, 11, 25, 7, 2, tzinfo=UTC),
        failure_count=1,
        last_error='name "too long"',
    )
    index = CouplingIndex([full])

    assert index.find(Side.BC, "bc-1") == full
    assert index.find(Side.DATAVERSE, "dv-1") == full
    assert index.find(Side.BC, "DV-1") is None
    assert len(index) == 1


def test_recoupling_an_id_drops_the_old_pairing_on_both_sides():
    index = CouplingIndex([coupling("b1", "d1"), coupling("b2", "d2")])

    index.put([coupling("b1", "d2")])

    assert index.find(Side.BC, "b1").dataverse_id == "d2"
    assert index.find(Side.DATAVERSE, "d2").bc_id == "b1"
    assert index.find(Side.DATAVERSE, "d1") is None
    assert index.find(Side.BC, "b2") is None
    assert len(index) == 1


def test_removed_by_either_id():
    index = CouplingIndex([coupling("b1", "d1"), coupling("b2", "d2")])

    index.remove([coupling("b1", "elsewhere"), coupling("elsewhere", "d2")])

    assert len(index) == 0
    assert index.find(Side.DATAVERSE, "d1") is None
    assert index.find(Side.BC, "b2") is None


def test_coupling_of_another_mapping_is_refused():
    index = CouplingIndex([coupling("b1", "d1")])

    with pytest.raises(ValueError, match="does not belong"):
        index.put([coupling("b2", "d2").model_copy(update={"mapping": "VENDOR"})])


async def test_loaded_from_the_store_with_every_coupling_of_the_mapping():
    store = InMemoryCouplingStore()
    await store.put_couplings([coupling(f"b{n}", f"d{n}") for n in range(3)])
    await store.put_couplings([coupling("other", "x").model_copy(update={"mapping": "VENDOR"})])

    index = await CouplingIndex.load(store, SCOPE, "CUSTOMER")

    assert len(index) == 3
    assert index.find(Side.DATAVERSE, "d2") == coupling("b2", "d2")


def typical(number: int) -> Coupling:
    name = f"Customer {number:06d} of {number % 97} Trading"
    street, city = f"{number} Main Street", f"City {number % 500}"
    return coupling(
        f"{number:08x}-3b7d-4c1e-9a6f-2d8b4e7c1a90",
        f"{number:08x}-5e6f-4a1b-8c2d-9e0f1a2b3c4d",
        base_bc={"displayName": name, "addressLine1": street, "city": city},
        base_dataverse={"name": name, "address1_line1": street, "address1_city": city},
        bc_version=f'W/"JzE4O{number:012d}Jw=="',
        dataverse_version=str(9_000_000 + number),
        bc_modified_at=datetime(2026, 11, 25, 7, number % 60, tzinfo=UTC),
        last_result=SyncResult.SUCCESS,
        last_synced_at=datetime(2026, 11, 25, 8, 0, number % 60, tzinfo=UTC),
    )


def test_every_coupling_reads_back_equal_however_unlike_the_first_it_is():
    long_error = "x" * 5000 + " — ünïcode"  # longer than the compression window
    couplings = [typical(n) for n in range(200)] + [
        coupling("odd", "one", last_error=long_error, failure_count=1),
        coupling("bare", "pair"),
    ]
    index = CouplingIndex(couplings)

    assert all(index.find(Side.BC, c.bc_id) == c for c in couplings)
    assert all(index.find(Side.DATAVERSE, c.dataverse_id) == c for c in couplings)


def test_10000_couplings_take_under_4_mb():
    couplings = [typical(n) for n in range(10_000)]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index = CouplingIndex(couplings)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()

    assert len(index) == 10_000
    assert held < 4_000_000, f"{held / 10_000:.0f} bytes per coupling"
