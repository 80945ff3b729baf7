"""The state store contract, continued: watermarks, leases, runs and per-record errors.

Runs against every implementation through the ``store`` fixture, like ``test_store_contract.py``.
Lease expiry is driven by the ``clock`` fixture, which every store under test reads.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from sync.errors import ConcurrencyError
from sync.models import Lease, RunCounters, RunStatus, Side, Watermark
from sync.store import StateStore
from tests.adapters.conftest import ManualClock
from tests.adapters.store_samples import (
    AWKWARD_TEXTS,
    LONG_TEXT,
    OTHER_SCOPE,
    SCOPE,
    T0,
    TTL,
    record_error,
    run,
)


def watermark(**changes: object) -> Watermark:
    values = {"scope": SCOPE, "mapping": "CUSTOMER", "side": Side.BC, "modified_at": T0}
    return Watermark.model_validate(values | changes)


# Watermarks


async def test_watermark_none_when_never_saved(store: StateStore) -> None:
    assert await store.watermarks.load_watermark(SCOPE, "CUSTOMER", Side.BC) is None


async def test_watermark_loaded_with_its_etag_when_first_saved(store: StateStore) -> None:
    saved = await store.watermarks.save_watermark(watermark(delta_token="token-1"))

    assert saved.etag is not None
    assert saved == watermark(delta_token="token-1", etag=saved.etag)
    assert await store.watermarks.load_watermark(SCOPE, "CUSTOMER", Side.BC) == saved


async def test_watermark_updated_when_etag_is_fresh(store: StateStore) -> None:
    first = await store.watermarks.save_watermark(watermark())
    moved = first.model_copy(update={"modified_at": T0 + timedelta(hours=1), "delta_token": None})

    second = await store.watermarks.save_watermark(moved)

    assert second.etag not in (None, first.etag)
    assert await store.watermarks.load_watermark(SCOPE, "CUSTOMER", Side.BC) == second


async def test_watermark_refused_when_etag_is_stale(store: StateStore) -> None:
    first = await store.watermarks.save_watermark(watermark())
    winner = await store.watermarks.save_watermark(
        first.model_copy(update={"modified_at": T0 + timedelta(hours=1)})
    )

    with pytest.raises(ConcurrencyError):
        await store.watermarks.save_watermark(
            first.model_copy(update={"modified_at": T0 + timedelta(hours=2)})
        )

    assert await store.watermarks.load_watermark(SCOPE, "CUSTOMER", Side.BC) == winner


async def test_watermark_refused_when_created_twice(store: StateStore) -> None:
    first = await store.watermarks.save_watermark(watermark())

    with pytest.raises(ConcurrencyError):
        await store.watermarks.save_watermark(watermark(modified_at=T0 + timedelta(hours=1)))

    assert await store.watermarks.load_watermark(SCOPE, "CUSTOMER", Side.BC) == first


async def test_watermark_round_trips_when_empty_or_long(store: StateStore) -> None:
    empty = await store.watermarks.save_watermark(watermark(modified_at=None))
    long = await store.watermarks.save_watermark(
        watermark(side=Side.DATAVERSE, delta_token=LONG_TEXT)
    )

    assert await store.watermarks.load_watermark(SCOPE, "CUSTOMER", Side.BC) == empty
    assert await store.watermarks.load_watermark(SCOPE, "CUSTOMER", Side.DATAVERSE) == long


async def test_watermarks_kept_apart_when_scope_mapping_or_side_differ(store: StateStore) -> None:
    keys = [(SCOPE, "CUSTOMER", Side.BC), (SCOPE, "CUSTOMER", Side.DATAVERSE)]
    keys += [(SCOPE, "VENDOR", Side.BC), (OTHER_SCOPE, "CUSTOMER", Side.BC)]
    keys += [(text, text, Side.BC) for text in AWKWARD_TEXTS]
    saved = {}
    for n, (scope, mapping, side) in enumerate(keys):
        changes = {"scope": scope, "mapping": mapping, "side": side, "delta_token": str(n)}
        saved[(scope, mapping, side)] = await store.watermarks.save_watermark(watermark(**changes))

    for (scope, mapping, side), expected in saved.items():
        assert await store.watermarks.load_watermark(scope, mapping, side) == expected


# Leases


async def test_exactly_one_wins_when_twenty_acquire_at_once(store: StateStore) -> None:
    owners = [f"worker-{n}" for n in range(20)]

    leases = await asyncio.gather(*(store.leases.acquire_lease("CUSTOMER", o, TTL) for o in owners))

    winners = [lease for lease in leases if lease is not None]
    assert len(winners) == 1
    assert winners[0].expires_at == T0 + TTL


async def test_exactly_one_wins_when_twenty_take_over_an_expired_lease(
    store: StateStore, clock: ManualClock
) -> None:
    await store.leases.acquire_lease("CUSTOMER", "crashed", TTL)
    clock.advance(TTL)
    owners = [f"worker-{n}" for n in range(20)]

    leases = await asyncio.gather(*(store.leases.acquire_lease("CUSTOMER", o, TTL) for o in owners))

    assert len([lease for lease in leases if lease is not None]) == 1


async def test_lease_refused_when_held_by_someone_else(
    store: StateStore, clock: ManualClock
) -> None:
    held = await store.leases.acquire_lease("CUSTOMER", "timer", TTL)
    clock.advance(TTL - timedelta(seconds=1))

    assert held is not None
    assert await store.leases.acquire_lease("CUSTOMER", "http", TTL) is None
    assert await store.leases.acquire_lease("VENDOR", "http", TTL) is not None


async def test_lease_taken_over_when_expired(store: StateStore, clock: ManualClock) -> None:
    lost = await store.leases.acquire_lease("CUSTOMER", "timer", TTL)
    clock.advance(TTL)

    taken = await store.leases.acquire_lease("CUSTOMER", "http", TTL)

    assert lost is not None
    assert taken is not None
    assert (taken.owner, taken.expires_at) == ("http", T0 + 2 * TTL)
    with pytest.raises(ConcurrencyError):
        await store.leases.renew_lease(lost, TTL)
    await store.leases.release_lease(lost)  # releasing a lost lease is not an error...
    assert await store.leases.acquire_lease("CUSTOMER", "third", TTL) is None  # ...nor frees it


async def test_lease_extended_when_renewed(store: StateStore, clock: ManualClock) -> None:
    lease = await store.leases.acquire_lease("CUSTOMER", "timer", TTL)
    assert lease is not None
    clock.advance(TTL - timedelta(seconds=1))

    renewed = await store.leases.renew_lease(lease, TTL)
    clock.advance(timedelta(seconds=2))  # past the first expiry, within the renewed one

    assert renewed.expires_at == T0 + 2 * TTL - timedelta(seconds=1)
    assert renewed.etag != lease.etag
    assert await store.leases.acquire_lease("CUSTOMER", "http", TTL) is None
    assert await store.leases.renew_lease(renewed, TTL) is not None


async def test_lease_free_when_released(store: StateStore) -> None:
    lease = await store.leases.acquire_lease("CUSTOMER", "timer", TTL)
    assert lease is not None

    await store.leases.release_lease(lease)

    assert await store.leases.acquire_lease("CUSTOMER", "http", TTL) is not None
    with pytest.raises(ConcurrencyError):
        await store.leases.renew_lease(lease, TTL)


async def test_lease_reacquired_when_owner_asks_again(store: StateStore) -> None:
    first = await store.leases.acquire_lease("CUSTOMER", "timer", TTL)

    again = await store.leases.acquire_lease("CUSTOMER", "timer", TTL)

    assert first is not None
    assert again is not None
    with pytest.raises(ConcurrencyError):
        await store.leases.renew_lease(first, TTL)


async def test_leases_independent_when_names_hold_awkward_characters(store: StateStore) -> None:
    leases: list[Lease | None] = [
        await store.leases.acquire_lease(text, "timer", TTL) for text in AWKWARD_TEXTS
    ]

    assert [lease.name for lease in leases if lease is not None] == AWKWARD_TEXTS
    for text in AWKWARD_TEXTS:
        assert await store.leases.acquire_lease(text, "http", TTL) is None


# Runs


async def test_run_round_trips_when_saved_updated_and_finished(store: StateStore) -> None:
    started = run("run-1", T0, mappings=("CUSTOMER", "VENDOR"), dry_run=True)
    await store.runs.save_run(started)
    counted = started.model_copy(update={"counters": RunCounters(inserted=3, failed=2**33)})
    await store.runs.save_run(counted)
    finished = counted.model_copy(
        update={"status": RunStatus.PARTIAL, "finished_at": T0 + TTL, "message": LONG_TEXT}
    )

    await store.runs.save_run(finished)

    assert await store.runs.get_run(SCOPE, "run-1") == finished
    assert await store.runs.list_runs(SCOPE) == [finished]


async def test_run_none_when_unknown(store: StateStore) -> None:
    await store.runs.save_run(run("run-1", T0))

    assert await store.runs.get_run(SCOPE, "run-2") is None
    assert await store.runs.get_run(OTHER_SCOPE, "run-1") is None


async def test_runs_listed_newest_first_when_limited(store: StateStore) -> None:
    runs = [run(f"run-{n}", T0 + timedelta(minutes=n)) for n in (3, 1, 4, 0, 2)]
    for r in runs:
        await store.runs.save_run(r)
    await store.runs.save_run(run("elsewhere", T0 + TTL, scope=OTHER_SCOPE))

    listed = await store.runs.list_runs(SCOPE, limit=3)

    assert [r.id for r in listed] == ["run-4", "run-3", "run-2"]
    assert len(await store.runs.list_runs(SCOPE)) == 5


async def test_run_listed_once_when_its_start_time_changes(store: StateStore) -> None:
    await store.runs.save_run(run("run-1", T0))
    moved = run("run-1", T0 + TTL)

    await store.runs.save_run(moved)

    assert await store.runs.list_runs(SCOPE) == [moved]


async def test_runs_round_trip_when_ids_hold_awkward_characters(store: StateStore) -> None:
    runs = [
        run(text, T0 + timedelta(seconds=n), scope=text) for n, text in enumerate(AWKWARD_TEXTS)
    ]
    for r in runs:
        await store.runs.save_run(r)

    for r in runs:
        assert await store.runs.get_run(r.scope, r.id) == r
        assert await store.runs.list_runs(r.scope) == [r]


# Per-record errors


async def test_errors_listed_in_order_when_added_in_batches(store: StateStore) -> None:
    errors = [record_error("run-1", n) for n in range(250)]

    await store.runs.add_errors(SCOPE, errors[:130])
    await store.runs.add_errors(SCOPE, errors[130:])

    assert await store.runs.list_errors(SCOPE, "run-1") == errors


async def test_errors_kept_apart_when_runs_or_scopes_differ(store: StateStore) -> None:
    ours = [record_error("run-1", n) for n in range(3)]
    other_run = [record_error("run-2", n) for n in range(2)]
    other_scope = [record_error("run-1", 9)]
    await store.runs.add_errors(SCOPE, [*ours[:2], *other_run])
    await store.runs.add_errors(OTHER_SCOPE, other_scope)
    await store.runs.add_errors(SCOPE, ours[2:])

    assert await store.runs.list_errors(SCOPE, "run-1") == ours
    assert await store.runs.list_errors(SCOPE, "run-2") == other_run
    assert await store.runs.list_errors(OTHER_SCOPE, "run-1") == other_scope
    assert await store.runs.list_errors(SCOPE, "run-3") == []


async def test_errors_round_trip_when_texts_are_awkward_or_long(store: StateStore) -> None:
    errors = [
        record_error(text, n, record_id=text, message=text, side=Side.DATAVERSE)
        for n, text in enumerate(AWKWARD_TEXTS)
    ]
    errors.append(record_error("run-1", 99, message=LONG_TEXT, attempt=2**35, code=""))
    await store.runs.add_errors(SCOPE, errors)

    for error in errors:
        assert await store.runs.list_errors(SCOPE, error.run_id) == [error]
