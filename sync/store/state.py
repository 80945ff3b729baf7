"""The shape every state store container shares, so the composition root can pick one."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from sync.ports import CouplingStore, LeaseStore, MappingStore, RunStore, WatermarkStore


class StateStore(Protocol):
    """One store per port over one backend, opened and closed together.

    ``TableStateStore`` (Azure Table Storage) and ``SqliteStateStore`` (a local file) implement
    it; so does the in-memory fake in the tests.
    """

    @property
    def mappings(self) -> MappingStore:
        """Mapping configuration per scope."""
        ...

    @property
    def couplings(self) -> CouplingStore:
        """Couplings and their bases."""
        ...

    @property
    def watermarks(self) -> WatermarkStore:
        """Read cursors."""
        ...

    @property
    def leases(self) -> LeaseStore:
        """Run leases."""
        ...

    @property
    def runs(self) -> RunStore:
        """Run history and per-record errors."""
        ...

    async def ensure_tables(self) -> None:
        """Create what the store needs (tables, schema); safe to call on every start."""
        ...

    async def close(self) -> None:
        """Release connections and files."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
