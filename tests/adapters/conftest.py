"""Fixtures that open each state store implementation, with a clock the test controls."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sync.store import SqliteStateStore, StateStore, TableStateStore
from tests.fakes.store import InMemoryStateStore

CONNECTION_VARIABLE = "AZURE_STORAGE_CONNECTION_STRING"


class ManualClock:  # implements Clock
    """A clock that moves only when the test says so."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2024, 5, 1, 8, 0, tzinfo=UTC))


def azurite_connection_string() -> str:
    """The Azurite connection string; skip without one, but fail in CI (never skip there)."""
    connection_string = os.environ.get(CONNECTION_VARIABLE, "")
    if connection_string:
        return connection_string
    reason = f"{CONNECTION_VARIABLE} is not set, so the Azure Table Storage tests need Azurite"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, where Azurite tests must run, not skip")
    pytest.skip(f"{reason} (start azurite-table and export {CONNECTION_VARIABLE})")


async def open_store(kind: str, clock: ManualClock, tmp_path: Path) -> StateStore:
    if kind == "in_memory":
        return InMemoryStateStore(clock=clock)
    if kind == "sqlite":
        return SqliteStateStore(tmp_path / "state.db", clock=clock)
    prefix = "t" + uuid.uuid4().hex[:8]
    return TableStateStore.from_connection_string(
        azurite_connection_string(), table_prefix=prefix, clock=clock
    )


@pytest.fixture(
    params=[
        "in_memory",
        "sqlite",
        pytest.param("azure_table", marks=pytest.mark.azurite),
    ]
)
async def store(
    request: pytest.FixtureRequest, clock: ManualClock, tmp_path: Path
) -> AsyncIterator[StateStore]:
    """Each implementation in turn, its tables created, and removed again afterwards."""
    opened = await open_store(request.param, clock, tmp_path)
    async with opened:
        await opened.ensure_tables()
        try:
            yield opened
        finally:
            if isinstance(opened, TableStateStore):
                await opened.delete_tables()
