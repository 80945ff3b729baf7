"""In-memory state stores: the same contract as the real adapters, for engine tests.

They pass the same contract suite as the Table Storage and SQLite stores
(``tests/adapters/test_store_contract.py``): ETag checks, lease expiry through an injected clock,
scope isolation, newest-first run listing. Nothing awaits between reading and writing a row, so
each call is atomic towards other coroutines, as a conditional write is in a real store.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from types import TracebackType

from sync.clock import SystemClock
from sync.errors import ConcurrencyError
from sync.models import Coupling, Lease, MappingSet, RecordError, Run, Side, Watermark
from sync.ports import Clock

# One ETag sequence for every fake: an ETag is never reused, not even after a delete.
_etags = itertools.count(1)


def _next_etag() -> str:
    return f"fake-{next(_etags)}"


class InMemoryMappingStore:  # implements MappingStore
    """Mapping sets in a dict."""

    def __init__(self) -> None:
        self.saved: dict[str, MappingSet] = {}

    async def load_mappings(self, scope: str) -> MappingSet | None:
        """The saved mapping set of ``scope``, or None."""
        return self.saved.get(scope)

    async def save_mappings(self, scope: str, mappings: MappingSet) -> None:
        """Replace the mapping set of ``scope``."""
        self.saved[scope] = mappings

    async def delete_mappings(self, scope: str) -> None:
        """Forget the saved mapping set."""
        self.saved.pop(scope, None)


class InMemoryCouplingStore:  # implements CouplingStore
    """Couplings by BC id, plus an index by Dataverse id (the last write of an id wins)."""

    def __init__(self) -> None:
        self.by_bc_id: dict[tuple[str, str, str], Coupling] = {}
        self._bc_id_of: dict[tuple[str, str, str], str] = {}

    async def get_by_bc_id(self, scope: str, mapping: str, bc_id: str) -> Coupling | None:
        """The coupling of one BC record, or None."""
        return self.by_bc_id.get((scope, mapping, bc_id))

    async def get_by_dataverse_id(
        self, scope: str, mapping: str, dataverse_id: str
    ) -> Coupling | None:
        """The coupling of one Dataverse row, or None."""
        bc_id = self._bc_id_of.get((scope, mapping, dataverse_id))
        coupling = None if bc_id is None else self.by_bc_id.get((scope, mapping, bc_id))
        if coupling is None or coupling.dataverse_id != dataverse_id:
            return None
        return coupling

    async def load_couplings(
        self, scope: str, mapping: str, *, skipped_only: bool = False
    ) -> AsyncIterator[Coupling]:
        """Stream a snapshot of one mapping's couplings."""
        snapshot = [
            c
            for (s, m, _), c in self.by_bc_id.items()
            if (s, m) == (scope, mapping) and (c.skipped or not skipped_only)
        ]
        for coupling in snapshot:
            yield coupling

    async def put_couplings(self, couplings: Sequence[Coupling]) -> None:
        """Insert or replace couplings."""
        for c in couplings:
            self.by_bc_id[(c.scope, c.mapping, c.bc_id)] = c
            self._bc_id_of[(c.scope, c.mapping, c.dataverse_id)] = c.bc_id

    async def delete_couplings(self, couplings: Sequence[Coupling]) -> None:
        """Remove couplings; missing ones are ignored."""
        for c in couplings:
            self.by_bc_id.pop((c.scope, c.mapping, c.bc_id), None)
            self._bc_id_of.pop((c.scope, c.mapping, c.dataverse_id), None)


class InMemoryWatermarkStore:  # implements WatermarkStore
    """Watermarks in a dict, with ETag checks."""

    def __init__(self) -> None:
        self.saved: dict[tuple[str, str, Side], Watermark] = {}

    async def load_watermark(self, scope: str, mapping: str, side: Side) -> Watermark | None:
        """The saved watermark with its ETag, or None."""
        return self.saved.get((scope, mapping, side))

    async def save_watermark(self, watermark: Watermark) -> Watermark:
        """Save if ``watermark.etag`` matches the stored one (None: nothing stored yet).

        Raises:
            ConcurrencyError: The ETag is stale, or None while a watermark exists.
        """
        key = (watermark.scope, watermark.mapping, watermark.side)
        current = self.saved.get(key)
        if (None if current is None else current.etag) != watermark.etag:
            raise ConcurrencyError(f"watermark {key} changed since it was read")
        saved = watermark.model_copy(update={"etag": _next_etag()})
        self.saved[key] = saved
        return saved


class InMemoryLeaseStore:  # implements LeaseStore
    """Leases in a dict; expiry is decided by the injected clock."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.held: dict[str, Lease] = {}
        self._clock: Clock = clock or SystemClock()

    async def acquire_lease(self, name: str, owner: str, ttl: timedelta) -> Lease | None:
        """Take the lease if free, expired or already ours; None when someone else holds it."""
        now = self._clock.now()
        current = self.held.get(name)
        if current is not None and current.owner != owner and not current.is_expired(now):
            return None
        lease = Lease(name=name, owner=owner, expires_at=now + ttl, etag=_next_etag())
        self.held[name] = lease
        return lease

    async def renew_lease(self, lease: Lease, ttl: timedelta) -> Lease:
        """Extend a held lease.

        Raises:
            ConcurrencyError: The lease was lost.
        """
        current = self.held.get(lease.name)
        if current is None or current.etag != lease.etag:
            raise ConcurrencyError(f"lease {lease.name!r} was lost")
        renewed = lease.model_copy(
            update={"expires_at": self._clock.now() + ttl, "etag": _next_etag()}
        )
        self.held[lease.name] = renewed
        return renewed

    async def release_lease(self, lease: Lease) -> None:
        """Give the lease up if still held with this ETag."""
        current = self.held.get(lease.name)
        if current is not None and current.etag == lease.etag:
            del self.held[lease.name]


class InMemoryRunStore:  # implements RunStore
    """Runs and per-record errors in dicts and lists."""

    def __init__(self) -> None:
        self.runs: dict[tuple[str, str], Run] = {}
        self.errors: dict[tuple[str, str], list[RecordError]] = {}

    async def save_run(self, run: Run) -> None:
        """Create or replace a run."""
        self.runs[(run.scope, run.id)] = run

    async def get_run(self, scope: str, run_id: str) -> Run | None:
        """One run, or None."""
        return self.runs.get((scope, run_id))

    async def list_runs(self, scope: str, *, limit: int = 50) -> list[Run]:
        """The latest runs of a scope, newest first (ties by id)."""
        runs = sorted((r for (s, _), r in self.runs.items() if s == scope), key=lambda r: r.id)
        runs.sort(key=lambda r: r.started_at, reverse=True)
        return runs[: max(limit, 0)]

    async def add_errors(self, scope: str, errors: Sequence[RecordError]) -> None:
        """Append per-record errors."""
        for error in errors:
            self.errors.setdefault((scope, error.run_id), []).append(error)

    async def list_errors(self, scope: str, run_id: str) -> list[RecordError]:
        """Every error of one run, in the order they were added."""
        return list(self.errors.get((scope, run_id), []))


class InMemoryStateStore:
    """Every in-memory store in the shape of ``sync.store.StateStore``."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.mappings = InMemoryMappingStore()
        self.couplings = InMemoryCouplingStore()
        self.watermarks = InMemoryWatermarkStore()
        self.leases = InMemoryLeaseStore(clock=clock)
        self.runs = InMemoryRunStore()

    async def ensure_tables(self) -> None:
        """Nothing to create."""

    async def close(self) -> None:
        """Nothing to release."""

    async def __aenter__(self) -> InMemoryStateStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
