"""What the SQLite store adds to the contract: a file on disk shared by several processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from sync.errors import StoreError
from sync.models import Side, Watermark
from sync.store import SqliteStateStore
from tests.adapters.store_samples import SCOPE, T0


def acquire_in_own_process(path: str, owner: str, start_at: float) -> str | None:
    """Run in a child process: wait for the common start instant, then try to take the lease."""

    async def acquire() -> str | None:
        async with SqliteStateStore(path) as store:
            time.sleep(max(0.0, start_at - time.time()))
            lease = await store.leases.acquire_lease("CUSTOMER", owner, timedelta(minutes=5))
            return None if lease is None else lease.owner

    return asyncio.run(acquire())


async def test_exactly_one_process_wins_when_processes_race_for_a_lease(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    async with SqliteStateStore(path) as store:
        await store.ensure_tables()
    owners = [f"process-{n}" for n in range(6)]
    start_at = time.time() + 2.0  # every child is up and importing is done by then
    context = multiprocessing.get_context("spawn")

    with ProcessPoolExecutor(max_workers=len(owners), mp_context=context) as pool:
        futures = [pool.submit(acquire_in_own_process, path, o, start_at) for o in owners]
        winners = [w for w in await asyncio.gather(*map(asyncio.wrap_future, futures)) if w]

    assert len(winners) == 1


async def test_state_kept_when_store_is_reopened(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "state.db"  # missing folders are created
    async with SqliteStateStore(path) as store:
        await store.ensure_tables()
        saved = await store.watermarks.save_watermark(
            Watermark(scope=SCOPE, mapping="CUSTOMER", side=Side.BC, modified_at=T0)
        )

    async with SqliteStateStore(path) as reopened:
        await reopened.ensure_tables()  # applying the schema again changes nothing
        assert await reopened.watermarks.load_watermark(SCOPE, "CUSTOMER", Side.BC) == saved
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_store_error_when_used_after_close(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "state.db")
    await store.ensure_tables()
    await store.close()
    await store.close()  # closing twice is harmless

    with pytest.raises(StoreError, match="closed"):
        await store.mappings.load_mappings(SCOPE)


async def test_store_error_when_tables_were_never_created(tmp_path: Path) -> None:
    async with SqliteStateStore(tmp_path / "state.db") as store:
        with pytest.raises(StoreError, match="no such table"):
            await store.runs.list_runs(SCOPE)
